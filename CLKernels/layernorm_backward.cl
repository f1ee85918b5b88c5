/* layernorm_backward — the backward of layer norm (Op.layerNormGrad): dx, dgain and dbias of rows
 * of `cols` floats, the row statistics recomputed from x (the forward keeps none).
 *
 * Variants:
 *   1. layernorm_backward_rows + layernorm_backward_finish   every device. The rows kernel runs a
 *      work-item per block of `rows_per_item` rows, in float16 chunks along the row (the last
 *      chunk's lanes past the row read 0, and are masked where x − mean makes them non-zero):
 *      per row one pass for the mean, one for the variance, one for the two means of
 *      d x̂ = dy ⊙ gain (plain and times x̂), and one writing dx = r·(d x̂ − mean(d x̂) − x̂·mean(d x̂ ⊙ x̂));
 *      the same item adds dy ⊙ x̂ and dy of its rows into its row of `partials` [items, 2·cols].
 *      The finish kernel (work-item per column of the 2·cols) adds the items' partials in item
 *      order into dgain and dbias: deterministic, no atomics. Two launches for the three
 *      gradients, where the decomposition into reductions and elementwise kernels takes about
 *      fourteen. With `add`, the rows kernel stores addend + dx (the residual stream's gradient
 *      joining the norm's; `dx` may alias `addend`). Few fat items suit CPUs (pocl pays per
 *      work-group); on GPUs the host gives an item per row or two, and the finish reads `items`
 *      partials per column.
 *
 * Uses fastmath.cl's chunk helpers (hsum16, LOAD_CHUNK, store_tail); no -D parameters; no
 * relaxed-math flag.
 */

/* Chunk c of a row whose lanes past the row's end read 0; TAIL_ZERO clears them after arithmetic
 * that made them non-zero (x − mean). */
#define TAIL_ZERO(v, c) ((rem != 0 && (c) == nc - 1) ? select((float16)(0.0f), (v), tail_lanes) : (v))

__kernel void layernorm_backward_rows(__global const float *x, __global const float *gain, __global const float *dy,
                                      __global const float *addend, __global float *dx, __global float *partials,
                                      const int rows, const int cols, const float eps, const int rows_per_item,
                                      const int write_dx, const int add) {
    const int item = get_global_id(0);
    const int first = item * rows_per_item;
    if (first >= rows) return;
    const int last = min(rows, first + rows_per_item);
    const int nc = (cols + 15) / 16, rem = cols % 16;
    const float16 lanes = (float16)(0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f,
                                    8.0f, 9.0f, 10.0f, 11.0f, 12.0f, 13.0f, 14.0f, 15.0f);
    const int16 tail_lanes = isless(lanes, (float16)((float)rem));
    __global float *partial_gain = partials + (size_t)item * 2 * cols;
    __global float *partial_bias = partial_gain + cols;
    for (int j = 0; j < 2 * cols; ++j) partial_gain[j] = 0.0f;
    const float inverse_cols = 1.0f / (float)cols;
    for (int r = first; r < last; ++r) {
        __global const float *xr = x + (size_t)r * cols;
        __global const float *gr = dy + (size_t)r * cols;
        float16 sum = (float16)(0.0f);
        for (int c = 0; c < nc; ++c) sum += LOAD_CHUNK(xr, c, nc, rem);
        const float mean = hsum16(sum) * inverse_cols;
        sum = (float16)(0.0f);
        for (int c = 0; c < nc; ++c) {
            const float16 d = TAIL_ZERO(LOAD_CHUNK(xr, c, nc, rem) - mean, c);
            sum += d * d;
        }
        const float rstd = rsqrt(hsum16(sum) * inverse_cols + eps);
        float16 sum_d = (float16)(0.0f), sum_dx = (float16)(0.0f);
        for (int c = 0; c < nc; ++c) {
            const float16 xhat = TAIL_ZERO((LOAD_CHUNK(xr, c, nc, rem) - mean) * rstd, c);
            const float16 g = LOAD_CHUNK(gr, c, nc, rem);
            const float16 d = g * LOAD_CHUNK(gain, c, nc, rem);
            sum_d += d;
            sum_dx += d * xhat;
            const float16 pg = LOAD_CHUNK(partial_gain, c, nc, rem) + g * xhat;
            const float16 pb = LOAD_CHUNK(partial_bias, c, nc, rem) + g;
            if (rem != 0 && c == nc - 1) {
                store_tail(pg, partial_gain + c * 16, rem);
                store_tail(pb, partial_bias + c * 16, rem);
            } else {
                vstore16(pg, c, partial_gain);
                vstore16(pb, c, partial_bias);
            }
        }
        if (write_dx) {
            const float mean_d = hsum16(sum_d) * inverse_cols, mean_dx = hsum16(sum_dx) * inverse_cols;
            __global float *out = dx + (size_t)r * cols;
            __global const float *ar = addend + (size_t)r * cols;
            for (int c = 0; c < nc; ++c) {
                const float16 xhat = (LOAD_CHUNK(xr, c, nc, rem) - mean) * rstd;
                float16 grad = rstd * (LOAD_CHUNK(gr, c, nc, rem) * LOAD_CHUNK(gain, c, nc, rem) - mean_d - xhat * mean_dx);
                if (add) grad += LOAD_CHUNK(ar, c, nc, rem);
                if (rem != 0 && c == nc - 1) store_tail(grad, out + c * 16, rem); else vstore16(grad, c, out);
            }
        }
    }
}

__kernel void layernorm_backward_finish(__global const float *partials, __global float *dgain, __global float *dbias,
                                        const int items, const int cols) {
    const int j = get_global_id(0);
    if (j >= 2 * cols) return;
    float sum = 0.0f;
    for (int i = 0; i < items; ++i) sum += partials[(size_t)i * 2 * cols + j];
    if (j < cols) dgain[j] = sum; else dbias[j - cols] = sum;
}
