/* embedding — gather rows of a [vocab, dim] table: out[i, :] = table[indices[i], :] for i < count.
 * An index outside 0..<vocab writes a zero row and records atomic_max(error_flag[0], i + 1), so the
 * flag ends as (largest bad position) + 1; the host zeroes the flag before a run and reads it after.
 *
 * Variants:
 *   1. embedding_cpu   CPU. 2-D launch [chunks of `chunk` floats along dim, groups of `rows_per_item`
 *                      indices], work-groups of 1x1: each work-item copies one contiguous piece of
 *                      each of its rows with vload16/vstore16 (unaligned is fine) and a scalar tail,
 *                      so long rows with few indices and short rows with many indices both spread
 *                      over every core. Chunk 0 of a row records the error.
 *   2. embedding_gpu   GPU. 2-D launch [dim, count], one float per work-item: neighbouring items copy
 *                      neighbouring floats (coalesced). Column 0 records the error.
 *
 * No -D parameters; no floating-point arithmetic (a copy), so no relaxed-math flag.
 */

__kernel void embedding_cpu(__global const float *table, __global const int *indices, __global float *out,
                            const int count, const int vocab, const int dim, __global int *error_flag,
                            const int chunk, const int rows_per_item) {
    const int c = (int)get_global_id(0);
    const int begin = c * chunk;
    if (begin >= dim) return;
    const int end = min(dim, begin + chunk);
    const int first = (int)get_global_id(1) * rows_per_item;
    const int last = min(count, first + rows_per_item);
    for (int i = first; i < last; ++i) {
        const int index = indices[i];
        __global float *dst = out + (size_t)i * (size_t)dim;
        int j = begin;
        if (index < 0 || index >= vocab) {
            for (; j + 16 <= end; j += 16) vstore16((float16)(0.0f), 0, dst + j);
            for (; j < end; ++j) dst[j] = 0.0f;
            if (c == 0) atomic_max(error_flag, i + 1);
        } else {
            const __global float *src = table + (size_t)index * (size_t)dim;
            for (; j + 16 <= end; j += 16) vstore16(vload16(0, src + j), 0, dst + j);
            for (; j < end; ++j) dst[j] = src[j];
        }
    }
}

__kernel void embedding_gpu(__global const float *table, __global const int *indices, __global float *out,
                            const int count, const int vocab, const int dim, __global int *error_flag) {
    const int j = (int)get_global_id(0);
    const int i = (int)get_global_id(1);
    if (i >= count || j >= dim) return;
    const int index = indices[i];
    const bool bad = index < 0 || index >= vocab;
    out[(size_t)i * (size_t)dim + j] = bad ? 0.0f : table[(size_t)index * (size_t)dim + j];
    if (bad && j == 0) atomic_max(error_flag, i + 1);
}
