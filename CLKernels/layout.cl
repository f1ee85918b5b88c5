/* layout — data movement for permute, slice and concat (and any strided view copy).
 *
 * Variants:
 *   1. strided_copy / strided_copy_int   one work-item per element of the copy shape; the element's
 *      input and output offsets come from per-dimension strides in a small `meta` buffer:
 *      meta = [rank, dims[0..rank), in_strides[0..rank), out_strides[0..rank)], rank ≤ 8.
 *      Sizes arrive as arguments, not -D macros, so one program serves every shape (pocl compiles
 *      each new program in ~1 s cold). Suits GPUs (neighbouring work-items touch neighbouring
 *      elements: coalesced). On pocl it is slow: a GPT head split/merge of 32×4×16×16 floats takes
 *      ~0.46 ms (0.55 GB/s), about 40 times variant 2's time.
 *   2. strided_rows / strided_rows_int   for copies whose last axis is contiguous on both sides
 *      (slice, concat, and permutes that keep the last axis: every head split/merge). The host
 *      merges axes contiguous on both sides, so `run` is the longest contiguous stretch; each
 *      work-item copies `rows_per_item` runs with vload16/vstore16 and a scalar tail. meta is as
 *      in 1 for the outer axes (the run's axis left out). CPU-flavoured: contiguous per-item
 *      chunks, explicit vectors; the same head split/merge takes ~0.01 ms on pocl. Default on CPUs
 *      when the runs are contiguous and at least 4 long; variant 1 otherwise and on GPUs.
 */

/* Source (x) and destination (y) offsets of element `i` of the copy shape in meta. */
inline int2 layout_offsets(int i, __global const int *meta, const int in_offset, const int out_offset) {
    const int rank = meta[0];
    int2 at = (int2)(in_offset, out_offset);
    for (int d = rank - 1; d >= 0; --d) {
        const int dim = meta[1 + d];
        const int index = i % dim;
        i /= dim;
        at += index * (int2)(meta[1 + rank + d], meta[1 + 2 * rank + d]);
    }
    return at;
}

#define LAYOUT_COPY(NAME, T)                                                                  \
__kernel void NAME(__global T *out, __global const T *in, __global const int *meta,           \
                   const int count, const int in_offset, const int out_offset) {             \
    const int i = get_global_id(0);                                                           \
    if (i >= count) return;                                                                   \
    int2 at = layout_offsets(i, meta, in_offset, out_offset);                                 \
    out[at.y] = in[at.x];                                                                     \
}

LAYOUT_COPY(strided_copy, float)
LAYOUT_COPY(strided_copy_int, int)

#define LAYOUT_ROWS(NAME, T, T16)                                                             \
__kernel void NAME(__global T *out, __global const T *in, __global const int *meta,           \
                   const int rows, const int run, const int rows_per_item,                   \
                   const int in_offset, const int out_offset) {                              \
    const int first = get_global_id(0) * rows_per_item;                                       \
    const int last = min(first + rows_per_item, rows);                                        \
    for (int r = first; r < last; ++r) {                                                      \
        const int2 at = layout_offsets(r, meta, in_offset, out_offset);                       \
        __global const T *s = in + at.x;                                                      \
        __global T *o = out + at.y;                                                           \
        int j = 0;                                                                            \
        for (; j + 16 <= run; j += 16) vstore16(vload16(0, s + j), 0, o + j);                 \
        for (; j < run; ++j) o[j] = s[j];                                                     \
    }                                                                                         \
}

LAYOUT_ROWS(strided_rows, float, float16)
LAYOUT_ROWS(strided_rows_int, int, int16)
