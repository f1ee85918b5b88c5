/*
 * KV-cache kernels: decoding-time attention over the filled prefix of a cache.
 *
 * Variant 1 (every device): one work-item per (head, sequence, query); it writes the new key and
 *   value rows into the cache when asked (one query per sequence), then attends over cache rows
 *   0...p in two passes (row maximum, then exp-weights and the weighted sum of values), with the
 *   head sizes D and DV compiled in so that q and the accumulator live in registers; q·k in float8
 *   lanes when D is a multiple of 8. Decoding
 *   attends over at most a block of keys for a handful of queries: the launch, not the arithmetic,
 *   is its cost, so the kernel's job is to replace the cache write, the score product, the mask,
 *   the softmax and the value product with one launch.
 * cache_write_rows: the standalone cacheWrite (one work-item per sequence and head).
 *
 * q, the new rows and the output are addressed through strides (sequence, head, query), so a
 * query or key that is a column slice of a [B, 3C] projection is read where it lies. A position
 * outside its range skips the sequence and records (sequence + 1) in error_flag by atomic max.
 * Arithmetic is IEEE (no fast-math): a NaN or +Inf score makes the query's row NaN, -Inf weighs 0.
 */

__kernel void cache_write_rows(__global float *cache, __global const float *rows, const int rows_offset,
                               const int rows_seq_stride, const int rows_head_stride,
                               __global const int *positions, const int heads, const int length, const int dim,
                               __global int *error_flag) {
    const int h = get_global_id(0), b = get_global_id(1);
    const int position = positions[b];
    if (position < 0 || position >= length) {
        if (h == 0) atomic_max(error_flag, b + 1);
        return;
    }
    __global const float *row = rows + rows_offset + b * rows_seq_stride + h * rows_head_stride;
    __global float *to = cache + (((size_t)b * heads + h) * length + position) * dim;
    for (int e = 0; e < dim; ++e) to[e] = row[e];
}

#ifdef D  /* built with the head sizes D and DV */
/* q·k over the head: in float8 lanes when D is a multiple of 8 (without fast-math a compiler
   keeps a scalar chain in order, so the lanes are written out), else a scalar chain. */
#if D % 8 == 0
inline float score(const float8 *qv, __global const float *k) {
    float8 s8 = (float8)(0.0f);
    for (int c = 0; c < D / 8; ++c) s8 = fma(qv[c], vload8(c, k), s8);
    const float4 s4 = s8.lo + s8.hi;
    const float2 s2 = s4.lo + s4.hi;
    return s2.x + s2.y;
}
#else
inline float score(const float *qv, __global const float *k) {
    float s = 0.0f;
    for (int e = 0; e < D; ++e) s = fma(qv[e], k[e], s);
    return s;
}
#endif

__kernel void cached_attention(__global const float *q, const int q_offset, const int q_seq_stride,
                               const int q_head_stride, const int q_query_stride,
                               __global float *keys, __global float *values,
                               const int write_rows,
                               __global const float *new_keys, const int k_offset, const int k_seq_stride, const int k_head_stride,
                               __global const float *new_values, const int v_offset, const int v_seq_stride, const int v_head_stride,
                               __global const int *positions, __global float *out,
                               const int heads, const int queries, const int length, const float scale,
                               __global int *error_flag) {
    const int h = get_global_id(0), b = get_global_id(1), i = get_global_id(2);
    const int position = positions[b];
    __global float *o = out + ((((size_t)b * heads + h) * queries) + i) * DV;
    if (position < queries - 1 || position >= length) {
        if (h == 0 && i == 0) atomic_max(error_flag, b + 1);
        for (int e = 0; e < DV; ++e) o[e] = 0.0f;
        return;
    }
    __global float *kc = keys + ((size_t)b * heads + h) * length * D;
    __global float *vc = values + ((size_t)b * heads + h) * length * DV;
    if (write_rows) {
        __global const float *kn = new_keys + k_offset + b * k_seq_stride + h * k_head_stride;
        __global const float *vn = new_values + v_offset + b * v_seq_stride + h * v_head_stride;
        for (int e = 0; e < D; ++e) kc[position * D + e] = kn[e];
        for (int e = 0; e < DV; ++e) vc[position * DV + e] = vn[e];
    }
    __global const float *qi = q + q_offset + b * q_seq_stride + h * q_head_stride + i * q_query_stride;
    const int last = position - (queries - 1) + i;
#if D % 8 == 0
    float8 qv[D / 8];
    for (int c = 0; c < D / 8; ++c) qv[c] = vload8(c, qi) * scale;
#else
    float qv[D];
    for (int e = 0; e < D; ++e) qv[e] = qi[e] * scale;
#endif
    float m = -INFINITY;
    for (int j = 0; j <= last; ++j) {
        const float s = score(qv, kc + j * D);
        if (isnan(s) || s > m) m = isnan(m) ? m : s;
    }
    float acc[DV];
    for (int e = 0; e < DV; ++e) acc[e] = 0.0f;
    float sum = 0.0f;
    for (int j = 0; j <= last; ++j) {
        const float p = exp(score(qv, kc + j * D) - m);
        sum += p;
        for (int e = 0; e < DV; ++e) acc[e] = fma(p, vc[j * DV + e], acc[e]);
    }
    const float inverse = 1.0f / sum;
    for (int e = 0; e < DV; ++e) o[e] = acc[e] * inverse;
}
#endif
