/* layout — data movement for permute, slice and concat (and any strided view copy).
 *
 * Variants:
 *   1. strided_copy / strided_copy_int   one work-item per element of the copy shape; the element's
 *      input and output offsets come from per-dimension strides in a small `meta` buffer:
 *      meta = [rank, dims[0..rank), in_strides[0..rank), out_strides[0..rank)], rank ≤ 8.
 *      Sizes arrive as arguments, not -D macros, so one program serves every shape (pocl compiles
 *      each new program in ~1 s cold). Suits GPUs and is adequate on CPUs for the small layout
 *      moves the models need (head split/merge); a tiled vload16/vstore16 transpose is the next
 *      step where traces show layout time matters.
 */

#define LAYOUT_COPY(NAME, T)                                                                  \
__kernel void NAME(__global T *out, __global const T *in, __global const int *meta,           \
                   const int count, const int in_offset, const int out_offset) {             \
    const int i = get_global_id(0);                                                           \
    if (i >= count) return;                                                                   \
    const int rank = meta[0];                                                                 \
    int rest = i, src = in_offset, dst = out_offset;                                          \
    for (int d = rank - 1; d >= 0; --d) {                                                     \
        const int dim = meta[1 + d];                                                          \
        const int index = rest % dim;                                                         \
        rest /= dim;                                                                          \
        src += index * meta[1 + rank + d];                                                    \
        dst += index * meta[1 + 2 * rank + d];                                                \
    }                                                                                         \
    out[dst] = in[src];                                                                       \
}

LAYOUT_COPY(strided_copy, float)
LAYOUT_COPY(strided_copy_int, int)
