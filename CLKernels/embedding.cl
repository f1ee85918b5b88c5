/* embedding — gather rows of a [vocab, dim] table: out[i, :] = table[indices[i], :] for i < count.
 * An index outside 0..<vocab writes a zero row and records atomic_max(error_flag[0], i + 1), so the
 * flag ends as (largest bad position) + 1; the host zeroes the flag before a run and reads it after.
 *
 * Variants:
 *   1. embedding_cpu   CPU (default there). 2-D launch [chunks of `chunk` floats along dim, groups of `rows_per_item`
 *                      indices], work-groups of 1x1: each work-item copies one contiguous piece of
 *                      each of its rows with vload16/vstore16 (unaligned is fine) and a scalar tail,
 *                      so long rows with few indices and short rows with many indices both spread
 *                      over every core. Chunk 0 of a row records the error.
 *   2. embedding_gpu   GPU (default there). 2-D launch [dim, count], one float per work-item: neighbouring items copy
 *                      neighbouring floats (coalesced). Column 0 records the error.
 *
 * Sum of two gathers (a transformer's token and position embeddings), one launch instead of three:
 *   out[i, :] = a[ia[i], :] + b[ib[i % count_b], :]   (count_b divides count: b broadcasts over
 *   the leading rows). A bad index in either gather contributes a zero row and records its own flag
 *   (the position in its own indices, + 1), as two separate gathers and an add would.
 *   1. embedding_sum_cpu  CPU (default there). As embedding_cpu, adding the second row as it copies.
 *   2. embedding_sum_gpu  GPU (default there). As embedding_gpu: one float per work-item.
 *
 * Backward (scatter-add), deterministic: no atomics on floats, every gradient row is summed by
 * one work-item in index order, so runs are bit-reproducible. Each item scans all `count`
 * indices: O(vocab·count) index reads, cheap for character vocabularies (27–65 rows); a large
 * vocabulary would want a sort-by-index pass first.
 *   1. embedding_grad_cpu  CPU (default there). 1-D launch [items], work-groups of 1: item w owns the table rows
 *                          [w·rows_per_item, (w+1)·rows_per_item), zeroes them, then walks the indices
 *                          once in order and adds each row of grad_out that lands in its block
 *                          (float16 adds, scalar tail). Few fat items: pocl pays per work-group, and
 *                          a [vocab, dim/16] launch of tiny items (each rescanning the indices) costs
 *                          ~35 µs for a 27x48 table from 384 rows; one item per core a few µs.
 *   2. embedding_grad_gpu  GPU (default there). 2-D launch [dim, vocab], one float per item (coalesced along dim).
 * Indices outside 0..<vocab are skipped and recorded in error_flag like the forward.
 *
 * No -D parameters; no relaxed-math flag.
 */

/* The CPU gathers' work-item: floats [begin, end) of rows [first, last); chunk c == 0 records errors. */
#define CPU_ITEM_RANGE                                                                             \
    const int c = (int)get_global_id(0);                                                           \
    const int begin = c * chunk;                                                                   \
    if (begin >= dim) return;                                                                      \
    const int end = min(dim, begin + chunk);                                                       \
    const int first = (int)get_global_id(1) * rows_per_item;                                       \
    const int last = min(count, first + rows_per_item);

__kernel void embedding_cpu(__global const float *table, __global const int *indices, __global float *out,
                            const int count, const int vocab, const int dim, __global int *error_flag,
                            const int chunk, const int rows_per_item) {
    CPU_ITEM_RANGE
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

__kernel void embedding_sum_cpu(__global const float *a, __global const int *ia, __global const float *b,
                                __global const int *ib, __global float *out, const int count, const int count_b,
                                const int vocab_a, const int vocab_b, const int dim, __global int *flag_a,
                                __global int *flag_b, const int chunk, const int rows_per_item) {
    CPU_ITEM_RANGE
    for (int i = first; i < last; ++i) {
        const int row_b = i % count_b;
        const int index_a = ia[i], index_b = ib[row_b];
        const bool bad_a = index_a < 0 || index_a >= vocab_a, bad_b = index_b < 0 || index_b >= vocab_b;
        if (c == 0 && bad_a) atomic_max(flag_a, i + 1);
        if (c == 0 && bad_b) atomic_max(flag_b, row_b + 1);
        /* A bad row reads row 0 scaled by zero (no branch around the vector loop). */
        const float keep_a = bad_a ? 0.0f : 1.0f, keep_b = bad_b ? 0.0f : 1.0f;
        const __global float *src_a = a + (size_t)(bad_a ? 0 : index_a) * (size_t)dim;
        const __global float *src_b = b + (size_t)(bad_b ? 0 : index_b) * (size_t)dim;
        __global float *dst = out + (size_t)i * (size_t)dim;
        int j = begin;
        for (; j + 16 <= end; j += 16)
            vstore16(vload16(0, src_a + j) * keep_a + vload16(0, src_b + j) * keep_b, 0, dst + j);
        for (; j < end; ++j) dst[j] = src_a[j] * keep_a + src_b[j] * keep_b;
    }
}

__kernel void embedding_sum_gpu(__global const float *a, __global const int *ia, __global const float *b,
                                __global const int *ib, __global float *out, const int count, const int count_b,
                                const int vocab_a, const int vocab_b, const int dim, __global int *flag_a,
                                __global int *flag_b) {
    const int j = (int)get_global_id(0);
    const int i = (int)get_global_id(1);
    if (i >= count || j >= dim) return;
    const int row_b = i % count_b;
    const int index_a = ia[i], index_b = ib[row_b];
    const bool bad_a = index_a < 0 || index_a >= vocab_a, bad_b = index_b < 0 || index_b >= vocab_b;
    if (j == 0 && bad_a) atomic_max(flag_a, i + 1);
    if (j == 0 && bad_b) atomic_max(flag_b, row_b + 1);
    out[(size_t)i * (size_t)dim + j] = (bad_a ? 0.0f : a[(size_t)index_a * (size_t)dim + j])
                                       + (bad_b ? 0.0f : b[(size_t)index_b * (size_t)dim + j]);
}

__kernel void embedding_grad_cpu(__global const int *indices, __global const float *grad_out, __global float *grad_table,
                                 const int count, const int vocab, const int dim, __global int *error_flag,
                                 const int rows_per_item) {
    const int v0 = (int)get_global_id(0) * rows_per_item;
    const int v1 = min(vocab, v0 + rows_per_item);
    if (v0 >= v1) return;
    const int n16 = dim & ~15;
    for (size_t j = (size_t)v0 * (size_t)dim; j < (size_t)v1 * (size_t)dim; ++j) grad_table[j] = 0.0f;
    for (int i = 0; i < count; ++i) {
        const int index = indices[i];
        if (index < v0 || index >= v1) {
            if (v0 == 0 && (index < 0 || index >= vocab)) atomic_max(error_flag, i + 1);
            continue;
        }
        const __global float *src = grad_out + (size_t)i * (size_t)dim;
        __global float *dst = grad_table + (size_t)index * (size_t)dim;
        int j = 0;
        for (; j < n16; j += 16) vstore16(vload16(0, dst + j) + vload16(0, src + j), 0, dst + j);
        for (; j < dim; ++j) dst[j] += src[j];
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
