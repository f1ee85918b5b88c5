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
 * Backward (scatter-add), deterministic: no atomics on floats, every gradient row is summed by
 * one work-item in index order, so runs are bit-reproducible. Each item scans all `count`
 * indices: O(vocab·count) index reads, cheap for character vocabularies (27–65 rows); a large
 * vocabulary would want a sort-by-index pass first.
 *   1. embedding_grad_cpu  CPU. 2-D launch [chunks of 16 floats along dim, vocab], work-groups of
 *                          1x1: a float16 accumulator per item (scalar tail for dim % 16).
 *   2. embedding_grad_gpu  GPU. 2-D launch [dim, vocab], one float per item (coalesced along dim).
 * Indices outside 0..<vocab are skipped and recorded in error_flag like the forward.
 *
 * No -D parameters; no relaxed-math flag.
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

__kernel void embedding_grad_cpu(__global const int *indices, __global const float *grad_out, __global float *grad_table,
                                 const int count, const int vocab, const int dim, __global int *error_flag) {
    const int begin = (int)get_global_id(0) * 16;
    const int v = (int)get_global_id(1);
    if (begin >= dim || v >= vocab) return;
    __global float *dst = grad_table + (size_t)v * (size_t)dim + begin;
    if (begin + 16 <= dim) {
        float16 acc = (float16)(0.0f);
        for (int i = 0; i < count; ++i) {
            const int index = indices[i];
            if (index == v) acc += vload16(0, grad_out + (size_t)i * (size_t)dim + begin);
            else if (v == 0 && begin == 0 && (index < 0 || index >= vocab)) atomic_max(error_flag, i + 1);
        }
        vstore16(acc, 0, dst);
    } else {
        const int width = dim - begin;
        float acc[16];
        for (int j = 0; j < 16; ++j) acc[j] = 0.0f;
        for (int i = 0; i < count; ++i) {
            const int index = indices[i];
            if (index == v) {
                const __global float *src = grad_out + (size_t)i * (size_t)dim + begin;
                for (int j = 0; j < width; ++j) acc[j] += src[j];
            } else if (v == 0 && begin == 0 && (index < 0 || index >= vocab)) atomic_max(error_flag, i + 1);
        }
        for (int j = 0; j < width; ++j) dst[j] = acc[j];
    }
}

__kernel void embedding_grad_gpu(__global const int *indices, __global const float *grad_out, __global float *grad_table,
                                 const int count, const int vocab, const int dim, __global int *error_flag) {
    const int j = (int)get_global_id(0);
    const int v = (int)get_global_id(1);
    if (j >= dim || v >= vocab) return;
    float acc = 0.0f;
    for (int i = 0; i < count; ++i) {
        const int index = indices[i];
        if (index == v) acc += grad_out[(size_t)i * (size_t)dim + j];
        else if (v == 0 && j == 0 && (index < 0 || index >= vocab)) atomic_max(error_flag, i + 1);
    }
    grad_table[(size_t)v * (size_t)dim + j] = acc;
}
