/* reduce — sum / mean / max over the middle axis of an input viewed as [outer, length, inner]
 * (row-major) into an output [outer, inner]. inner == 1 is a row reduction (contiguous); inner > 1
 * reduces a strided axis, which is contiguous across neighbouring outputs. length >= 1.
 *
 * Variants (each has a kernel for inner == 1 and one for inner > 1; the host picks by shape):
 *   1. CPU (default there), work-groups of 1.
 *      reduce_rows_cpu    one work-item per chunk of `rows_per_item` rows; float16 loads, scalar tail.
 *      reduce_cols_cpu    one work-item per (16 adjacent inner columns, outer index): each step of
 *                         `length` is one vload16 (a 64-byte line), the accumulator a float16;
 *                         the last partial chunk of columns goes scalar.
 *   2. GPU (default there).
 *      reduce_rows_wg     one work-group per row, strided coalesced loads, local-memory tree.
 *      reduce_cols_wi     one work-item per output element; neighbouring items read neighbouring
 *                         addresses at every step of `length` (coalesced).
 *
 * Arg-max (every device, both variants; the KIND of the program does not matter):
 *      argmax_rows        one work-item per row: the i32 index of the row's largest element, the
 *                         first of equal maxima, the first NaN when there is one (NaN counts as the
 *                         largest value). Rows are a vocabulary's logits, a few per launch: a plain
 *                         scalar walk, a single pass.
 *
 * -D parameters:  KIND  0 = sum, 1 = mean (sum * 1/length), 2 = max.
 * Non-finite values: sum and mean are IEEE sums; max propagates NaN (a run holding a NaN gives
 * NaN: COMBINE is fmax with the NaN put back, since fmax returns the other operand) and treats ±Inf
 * as ordinary values (the identity is -INFINITY).
 * Built without -cl-fast-relaxed-math: max must propagate -inf/+inf and NaN inputs, and the kernels
 * are memory-bound (explicit vectors already), so relaxed math would buy nothing.
 */

#ifndef KIND
#define KIND 0
#endif

#if KIND == 2
#define IDENTITY (-INFINITY)
#define COMBINE(a, b) select(fmax((a), (b)), (a) + (b), isunordered((a), (b)))
#else
#define IDENTITY 0.0f
#define COMBINE(a, b) ((a) + (b))
#endif

#if KIND == 1
#define FINISH(v, length) ((v) * (1.0f / (float)(length)))
#else
#define FINISH(v, length) (v)
#endif

inline float horizontal16(const float16 v) {
    const float8 a = COMBINE(v.lo, v.hi);
    const float4 b = COMBINE(a.lo, a.hi);
    const float2 c = COMBINE(b.lo, b.hi);
    return COMBINE(c.x, c.y);
}

__kernel void reduce_rows_cpu(__global const float *x, __global float *y, const int outer, const int length,
                              const int rows_per_item) {
    const int first = (int)get_global_id(0) * rows_per_item;
    const int last = min(outer, first + rows_per_item);
    const int n16 = length & ~15;
    for (int r = first; r < last; ++r) {
        const __global float *xr = x + (size_t)r * (size_t)length;
        float16 a0 = (float16)(IDENTITY), a1 = (float16)(IDENTITY);
        int j = 0;
        for (; j + 32 <= n16; j += 32) {
            a0 = COMBINE(a0, vload16(0, xr + j));
            a1 = COMBINE(a1, vload16(0, xr + j + 16));
        }
        if (j < n16) a0 = COMBINE(a0, vload16(0, xr + j));
        float acc = horizontal16(COMBINE(a0, a1));
        for (j = n16; j < length; ++j) acc = COMBINE(acc, xr[j]);
        y[r] = FINISH(acc, length);
    }
}

__kernel void reduce_cols_cpu(__global const float *x, __global float *y, const int outer, const int length,
                              const int inner) {
    const int i0 = (int)get_global_id(0) * 16;
    const int o = (int)get_global_id(1);
    if (i0 >= inner || o >= outer) return;
    const __global float *base = x + (size_t)o * (size_t)length * (size_t)inner + i0;
    __global float *out = y + (size_t)o * (size_t)inner + i0;
    if (i0 + 16 <= inner) {
        float16 acc = (float16)(IDENTITY);
        for (int l = 0; l < length; ++l) acc = COMBINE(acc, vload16(0, base + (size_t)l * (size_t)inner));
        vstore16(FINISH(acc, length), 0, out);
    } else {
        const int width = inner - i0;   /* 1..15 */
        float acc[16];
        for (int c = 0; c < 16; ++c) acc[c] = IDENTITY;
        for (int l = 0; l < length; ++l) {
            const __global float *row = base + (size_t)l * (size_t)inner;
            for (int c = 0; c < width; ++c) acc[c] = COMBINE(acc[c], row[c]);
        }
        for (int c = 0; c < width; ++c) out[c] = FINISH(acc[c], length);
    }
}

__kernel void reduce_rows_wg(__global const float *x, __global float *y, const int outer, const int length,
                             __local float *red) {
    const int lid = (int)get_local_id(0), wg = (int)get_local_size(0);
    const int r = (int)get_group_id(0);   /* exactly `outer` groups: no early return before barriers */
    const __global float *xr = x + (size_t)r * (size_t)length;
    float acc = IDENTITY;
    for (int j = lid; j < length; j += wg) acc = COMBINE(acc, xr[j]);
    red[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = wg / 2; s > 0; s >>= 1) {
        if (lid < s) red[lid] = COMBINE(red[lid], red[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) y[r] = FINISH(red[0], length);
}

__kernel void reduce_cols_wi(__global const float *x, __global float *y, const int outer, const int length,
                             const int inner) {
    const int i = (int)get_global_id(0);
    const int o = (int)get_global_id(1);
    if (i >= inner || o >= outer) return;
    const __global float *base = x + (size_t)o * (size_t)length * (size_t)inner + i;
    float acc = IDENTITY;
    for (int l = 0; l < length; ++l) acc = COMBINE(acc, base[(size_t)l * (size_t)inner]);
    y[(size_t)o * (size_t)inner + i] = FINISH(acc, length);
}

__kernel void argmax_rows(__global const float *x, __global int *y, const int rows, const int length) {
    const int r = get_global_id(0);
    if (r >= rows) return;
    const __global float *xr = x + (size_t)r * (size_t)length;
    int best = 0;
    float largest = xr[0];
    for (int j = 1; j < length && !isnan(largest); ++j) {
        const float v = xr[j];
        if (isnan(v) || v > largest) {
            largest = v;
            best = j;
        }
    }
    y[r] = best;
}
