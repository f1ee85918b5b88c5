/* layernorm_backward — the backward of layer norm (Op.layerNormGrad): dx, dgain and dbias of rows
 * of `cols` floats, the row statistics recomputed from x (the forward keeps none).
 *
 * Variants:
 *   1. layernorm_backward_rows + layernorm_backward_finish   every device. The rows kernel runs a
 *      work-item per block of `rows_per_item` rows: per row one pass for the mean, one for the
 *      variance, one for the two means of d x̂ = dy ⊙ gain (plain and times x̂), and one writing
 *      dx = r·(d x̂ − mean(d x̂) − x̂·mean(d x̂ ⊙ x̂)); the same item adds dy ⊙ x̂ and dy of its rows
 *      into its row of `partials` [items, 2·cols]. The finish kernel (work-item per column of the
 *      2·cols) adds the items' partials in item order into dgain and dbias: deterministic, no
 *      atomics. Two launches for the three gradients, where the decomposition into reductions and
 *      elementwise kernels takes about fourteen. With `add`, the rows kernel stores addend + dx
 *      (the residual stream's gradient joining the norm's; `dx` may alias `addend`). Few fat
 *      items suit CPUs (pocl pays per work-group); on GPUs the host gives an item per row or
 *      two, and the finish reads `items` partials per column.
 *
 * No -D parameters; no relaxed-math flag.
 */

__kernel void layernorm_backward_rows(__global const float *x, __global const float *gain, __global const float *dy,
                                      __global const float *addend, __global float *dx, __global float *partials,
                                      const int rows, const int cols, const float eps, const int rows_per_item,
                                      const int write_dx, const int add) {
    const int item = get_global_id(0);
    const int first = item * rows_per_item;
    if (first >= rows) return;
    const int last = min(rows, first + rows_per_item);
    __global float *partial_gain = partials + (size_t)item * 2 * cols;
    __global float *partial_bias = partial_gain + cols;
    for (int j = 0; j < cols; ++j) { partial_gain[j] = 0.0f; partial_bias[j] = 0.0f; }
    const float inverse_cols = 1.0f / (float)cols;
    for (int r = first; r < last; ++r) {
        __global const float *xr = x + (size_t)r * cols;
        __global const float *gr = dy + (size_t)r * cols;
        float mean = 0.0f;
        for (int j = 0; j < cols; ++j) mean += xr[j];
        mean *= inverse_cols;
        float variance = 0.0f;
        for (int j = 0; j < cols; ++j) { const float d = xr[j] - mean; variance += d * d; }
        const float rstd = rsqrt(variance * inverse_cols + eps);
        float mean_d = 0.0f, mean_dx = 0.0f;
        for (int j = 0; j < cols; ++j) {
            const float xhat = (xr[j] - mean) * rstd;
            const float d = gr[j] * gain[j];
            mean_d += d;
            mean_dx += d * xhat;
            partial_gain[j] += gr[j] * xhat;
            partial_bias[j] += gr[j];
        }
        if (write_dx) {
            mean_d *= inverse_cols;
            mean_dx *= inverse_cols;
            __global float *out = dx + (size_t)r * cols;
            __global const float *ar = addend + (size_t)r * cols;
            for (int j = 0; j < cols; ++j) {
                const float xhat = (xr[j] - mean) * rstd;
                const float grad = rstd * (gr[j] * gain[j] - mean_d - xhat * mean_dx);
                out[j] = add ? ar[j] + grad : grad;
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
