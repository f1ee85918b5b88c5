/* loss — mean cross-entropy of [rows, classes] logits against int targets:
 *   loss[0] = mean over rows r with targets[r] != ignore of (logsumexp(logits[r]) - logits[r, targets[r]])
 * and 0 when no row counts. A target outside 0..<classes that is not the ignore index records
 * atomic_max(error_flag[0], r + 1) and the row does not count. Two launches through a scratch buffer
 * of 2*rows floats owned by the host family: [0, rows) per-row losses, [rows, 2*rows) 1/0 weights.
 *
 * Variants:
 *   1. CPU (default there), work-groups of 1.
 *      ce_rows_cpu     one work-item per chunk of `rows_per_item` rows: max pass and exp-sum pass
 *                      with float16 loads, the inlined polynomial exp_nonpos16 and the class tail
 *                      padded to one more float16 (ce_tail16).
 *      ce_finish_cpu   one work-item sums both halves of the scratch with float16 accumulators.
 *   2. GPU (default there).
 *      ce_rows_wg      one work-group per row, strided coalesced loads, local-memory trees
 *                      for max and sum.
 *      ce_finish_wg    one work-group, strided sums, local-memory trees (two arrays).
 *
 * Backward, fused with the softmax: grad[r, j] = (softmax(logits[r])[j] − [j == t_r]) · g / n for
 * counted rows (n = number of counted rows, g = upstream gradient, one float on the device),
 * 0 for ignored or bad rows (bad targets recorded in error_flag as above).
 *   1. ce_grad_cpu     CPU, work-groups of 1: a work-item per chunk of rows; each item counts the
 *                      rows itself (a scan of the int targets, cheap next to the logits).
 *   2. ce_grad_wg      GPU: a work-group per row; strided count, max and exp-sum with local trees.
 *
 * Loss and backward in one launch, when a plan computes both from the same logits and targets (the
 * gradient of the mean needs the counted-row total, never the mean itself):
 *   1. ce_loss_grad_cpu  CPU, work-groups of 1: a work-item per chunk of rows writes each row's loss
 *                        and weight to the scratch and its gradient row from the same max and exp-sum;
 *                        the last item to finish (an atomic counter it re-arms to 0) sums the scratch in
 *                        row order into the mean and, when `want_column_sums`, sums the gradient over
 *                        rows (a bias gradient). Saves the mean's and the grad's launches (~10 µs each
 *                        on pocl). Relies on global-memory fences between work-groups: CPU only.
 *
 * No -D parameters. `use_ignore` (0/1) and `ignore_index` are arguments.
 * Non-finite logits (as the reference): a counted row holding NaN or +Inf has a NaN loss term and a
 * NaN gradient row (the max subtraction gives Inf − Inf; exp_nonpos keeps NaN), so the mean is NaN;
 * a −Inf target logit gives +Inf; other −Inf logits weigh 0; an ignored row is 0 in the gradient
 * whatever its logits. Built without -cl-fast-relaxed-math (RowOps.buildOptions): finite-math-only
 * would let the compiler assume no NaN or Inf.
 */

/* exp_nonpos16 / exp_nonpos (eˣ for x ≤ 0, vectorised; NaN stays NaN) and hsum16 / hmax16 (a
 * float16's lane sum / max) come from fastmath.cl, prepended to this file. On CPUs the polynomial
 * exp is faster than pocl's built-in exp for softmax, log-softmax and cross-entropy
 * (Benchmarks/results/pocl-3.1-amd-epyc-2cu/layernorm/README.md). The GPU kernels keep the built-in exp. */

/* Elements [j, classes) of a row (fewer than 16) as one float16, the missing lanes `pad`: the class
 * tail goes through the same vector code (27 classes = one full vector and a tail of 11 scalar exps
 * per pass otherwise, the larger part of a small row's cost). */
inline float16 ce_tail16(const __global float *xr, const int j, const int classes, const float pad) {
    float lanes[16];
    for (int l = 0; l < 16; ++l) lanes[l] = j + l < classes ? xr[j + l] : pad;
    return vload16(0, lanes);
}

/* exp(x − m) of the tail [j, classes), 0 in the missing lanes. Those lanes compute exp(0) and are
 * masked afterwards by select, so even a non-finite max never reaches the sum through them. */
inline float16 ce_tail_exp16(const __global float *xr, const int j, const int classes, const float m) {
    const int16 lane = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const int16 missing = lane >= (int16)(classes - j);
    return select(exp_nonpos16(ce_tail16(xr, j, classes, m) - m), (float16)(0.0f), missing);
}

/* Stores the first classes − j lanes of v at gr + j. */
inline void ce_store_tail16(__global float *gr, const int j, const int classes, const float16 v) {
    float lanes[16];
    vstore16(v, 0, lanes);
    for (int l = 0; j + l < classes; ++l) gr[j + l] = lanes[l];
}

/* (max, Σ exp(x − max)) of one row, float16 chunks and a padded float16 tail (CPU kernels). */
inline float2 row_max_expsum(const __global float *xr, const int classes) {
    const int n16 = classes & ~15;
    float16 m16 = (float16)(-FLT_MAX);
    for (int j = 0; j < n16; j += 16) m16 = fmax(m16, vload16(0, xr + j));
    if (n16 < classes) m16 = fmax(m16, ce_tail16(xr, n16, classes, -FLT_MAX));
    const float m = hmax16(m16);
    float16 s16 = (float16)(0.0f);
    for (int j = 0; j < n16; j += 16) s16 += exp_nonpos16(vload16(0, xr + j) - m);
    if (n16 < classes) s16 += ce_tail_exp16(xr, n16, classes, m);
    return (float2)(m, hsum16(s16));
}

/* 1 when row r counts; records bad targets. */
inline int ce_row_counts(const int r, const int t, const int classes, const int ignore_index, const int use_ignore,
                         __global int *error_flag) {
    if (use_ignore && t == ignore_index) return 0;
    if (t < 0 || t >= classes) {
        atomic_max(error_flag, r + 1);
        return 0;
    }
    return 1;
}

__kernel void ce_rows_cpu(__global const float *logits, __global const int *targets, __global float *scratch,
                          __global int *error_flag, const int rows, const int classes, const int ignore_index,
                          const int use_ignore, const int rows_per_item) {
    const int first = (int)get_global_id(0) * rows_per_item;
    const int last = min(rows, first + rows_per_item);
    for (int r = first; r < last; ++r) {
        const int t = targets[r];
        const int counts = ce_row_counts(r, t, classes, ignore_index, use_ignore, error_flag);
        float row_loss = 0.0f;
        if (counts) {
            const __global float *xr = logits + (size_t)r * (size_t)classes;
            const float2 ms = row_max_expsum(xr, classes);
            row_loss = (ms.x + log(ms.y)) - xr[t];
        }
        scratch[r] = row_loss;
        scratch[rows + r] = (float)counts;
    }
}

/* Σ row losses / Σ row weights of the scratch, float16 accumulators (0 when no row counts). Each
 * loss enters the sum divided by `rows`, so losses near FLT_MAX (finite for the reference, which
 * averages in double) do not overflow the sum; (Σ l/rows)·(rows/w) is then at most the largest loss. */
inline float ce_scratch_mean(__global const float *scratch, const int rows) {
    const int n16 = rows & ~15;
    const float inv_rows = 1.0f / (float)rows;
    float16 l16 = (float16)(0.0f), w16 = (float16)(0.0f);
    for (int j = 0; j < n16; j += 16) {
        l16 += vload16(0, scratch + j) * inv_rows;
        w16 += vload16(0, scratch + rows + j);
    }
    float l = hsum16(l16), w = hsum16(w16);
    for (int j = n16; j < rows; ++j) {
        l += scratch[j] * inv_rows;
        w += scratch[rows + j];
    }
    return w > 0.0f ? l * ((float)rows / w) : 0.0f;
}

__kernel void ce_finish_cpu(__global const float *scratch, __global float *loss, const int rows) {
    if (get_global_id(0) != 0) return;
    loss[0] = ce_scratch_mean(scratch, rows);
}

inline float group_reduce(__local float *red, float v, const int is_max) {
    const int lid = (int)get_local_id(0);
    red[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = (int)get_local_size(0) / 2; s > 0; s >>= 1) {
        if (lid < s) red[lid] = is_max ? fmax(red[lid], red[lid + s]) : red[lid] + red[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float result = red[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return result;
}

__kernel void ce_rows_wg(__global const float *logits, __global const int *targets, __global float *scratch,
                         __global int *error_flag, const int rows, const int classes, const int ignore_index,
                         const int use_ignore, __local float *red) {
    /* exactly `rows` groups; every barrier is reached by every item (the row is reduced even when it
     * does not count; the result is then dropped). */
    const int r = (int)get_group_id(0);
    const int lid = (int)get_local_id(0), wg = (int)get_local_size(0);
    const __global float *xr = logits + (size_t)r * (size_t)classes;
    float m = -FLT_MAX;
    for (int j = lid; j < classes; j += wg) m = fmax(m, xr[j]);
    m = group_reduce(red, m, 1);
    float s = 0.0f;
    for (int j = lid; j < classes; j += wg) s += exp(xr[j] - m);
    s = group_reduce(red, s, 0);
    if (lid == 0) {
        const int t = targets[r];
        const int counts = ce_row_counts(r, t, classes, ignore_index, use_ignore, error_flag);
        scratch[r] = counts ? (m + log(s)) - xr[t] : 0.0f;
        scratch[rows + r] = (float)counts;
    }
}

__kernel void ce_finish_wg(__global const float *scratch, __global float *loss, const int rows,
                           __local float *red_loss, __local float *red_weight) {
    const int lid = (int)get_local_id(0), wg = (int)get_local_size(0);
    /* Losses divided by `rows` in the sum, as in ce_scratch_mean. */
    const float inv_rows = 1.0f / (float)rows;
    float l = 0.0f, w = 0.0f;
    for (int j = lid; j < rows; j += wg) {
        l += scratch[j] * inv_rows;
        w += scratch[rows + j];
    }
    red_loss[lid] = l;
    red_weight[lid] = w;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = wg / 2; s > 0; s >>= 1) {
        if (lid < s) {
            red_loss[lid] += red_loss[lid + s];
            red_weight[lid] += red_weight[lid + s];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) loss[0] = red_weight[0] > 0.0f ? red_loss[0] * ((float)rows / red_weight[0]) : 0.0f;
}

inline float ce_counted_rows(__global const int *targets, const int begin, const int rows, const int step,
                             const int classes, const int ignore_index, const int use_ignore) {
    float n = 0.0f;
    for (int r = begin; r < rows; r += step) {
        const int t = targets[r];
        n += ((use_ignore && t == ignore_index) || t < 0 || t >= classes) ? 0.0f : 1.0f;
    }
    return n;
}

/* One row's gradient (softmax − one-hot)·scale into gr, zeros for a row that does not count;
 * returns the row's (max, Σ exp(x − max)) for its loss (zeros when it does not count). */
inline float2 ce_row_grad(const __global float *xr, __global float *gr, const int t, const int counts,
                          const int classes, const float scale) {
    if (!counts) {
        for (int j = 0; j < classes; ++j) gr[j] = 0.0f;
        return (float2)(0.0f);
    }
    const int n16 = classes & ~15;
    const float2 ms = row_max_expsum(xr, classes);
    const float m = ms.x, k = scale / ms.y;
    for (int j = 0; j < n16; j += 16) vstore16(exp_nonpos16(vload16(0, xr + j) - m) * k, 0, gr + j);
    if (n16 < classes) ce_store_tail16(gr, n16, classes, ce_tail_exp16(xr, n16, classes, m) * k);
    gr[t] -= scale;
    return ms;
}

__kernel void ce_grad_cpu(__global const float *logits, __global const int *targets, __global const float *upstream,
                          __global float *grad, __global int *error_flag, const int rows, const int classes,
                          const int ignore_index, const int use_ignore, const int rows_per_item) {
    const int first = (int)get_global_id(0) * rows_per_item;
    const int last = min(rows, first + rows_per_item);
    if (first >= rows) return;
    const float n = ce_counted_rows(targets, 0, rows, 1, classes, ignore_index, use_ignore);
    const float scale = n > 0.0f ? upstream[0] / n : 0.0f;
    for (int r = first; r < last; ++r) {
        const int t = targets[r];
        const int counts = ce_row_counts(r, t, classes, ignore_index, use_ignore, error_flag);
        ce_row_grad(logits + (size_t)r * (size_t)classes, grad + (size_t)r * (size_t)classes, t, counts, classes, scale);
    }
}

__kernel void ce_grad_wg(__global const float *logits, __global const int *targets, __global const float *upstream,
                         __global float *grad, __global int *error_flag, const int rows, const int classes,
                         const int ignore_index, const int use_ignore, __local float *red) {
    const int r = (int)get_group_id(0);
    const int lid = (int)get_local_id(0), wg = (int)get_local_size(0);
    const float n = group_reduce(red, ce_counted_rows(targets, lid, rows, wg, classes, ignore_index, use_ignore), 0);
    const __global float *xr = logits + (size_t)r * (size_t)classes;
    __global float *gr = grad + (size_t)r * (size_t)classes;
    float m = -FLT_MAX;
    for (int j = lid; j < classes; j += wg) m = fmax(m, xr[j]);
    m = group_reduce(red, m, 1);
    float s = 0.0f;
    for (int j = lid; j < classes; j += wg) s += exp(xr[j] - m);
    s = group_reduce(red, s, 0);
    const int t = targets[r];
    const int counts = (use_ignore && t == ignore_index) || t < 0 || t >= classes ? 0 : 1;
    if (lid == 0 && !counts && !(use_ignore && t == ignore_index)) atomic_max(error_flag, r + 1);
    const float scale = counts && n > 0.0f ? upstream[0] / n : 0.0f;
    /* An ignored row is 0, not (p − onehot)·0, which a NaN or Inf logit would make NaN. */
    for (int j = lid; j < classes; j += wg) gr[j] = counts ? (exp(xr[j] - m) / s - (j == t ? 1.0f : 0.0f)) * scale : 0.0f;
}

__kernel void ce_loss_grad_cpu(__global const float *logits, __global const int *targets, __global const float *upstream,
                               __global float *grad, __global float *scratch, __global float *loss,
                               __global float *column_sums, const int want_column_sums, volatile __global int *done,
                               __global int *error_flag, const int rows, const int classes, const int ignore_index,
                               const int use_ignore, const int rows_per_item) {
    const int first = (int)get_global_id(0) * rows_per_item;
    const int last = min(rows, first + rows_per_item);
    const float n = ce_counted_rows(targets, 0, rows, 1, classes, ignore_index, use_ignore);
    const float scale = n > 0.0f ? upstream[0] / n : 0.0f;
    const int n16 = classes & ~15;
    for (int r = first; r < last; ++r) {
        const int t = targets[r];
        const int counts = ce_row_counts(r, t, classes, ignore_index, use_ignore, error_flag);
        const __global float *xr = logits + (size_t)r * (size_t)classes;
        const float2 ms = ce_row_grad(xr, grad + (size_t)r * (size_t)classes, t, counts, classes, scale);
        scratch[r] = counts ? (ms.x + log(ms.y)) - xr[t] : 0.0f;
        scratch[rows + r] = (float)counts;
    }
    /* Publish this item's rows, then only the last item to arrive reads everyone's. */
    mem_fence(CLK_GLOBAL_MEM_FENCE);
    if (atomic_inc(done) != (int)get_global_size(0) - 1) return;
    mem_fence(CLK_GLOBAL_MEM_FENCE);
    loss[0] = ce_scratch_mean(scratch, rows);
    if (want_column_sums) {
        int j = 0;
        for (; j < n16; j += 16) {
            float16 acc = (float16)(0.0f);
            for (int r = 0; r < rows; ++r) acc += vload16(0, grad + (size_t)r * (size_t)classes + j);
            vstore16(acc, 0, column_sums + j);
        }
        for (; j < classes; ++j) {
            float acc = 0.0f;
            for (int r = 0; r < rows; ++r) acc += grad[(size_t)r * (size_t)classes + j];
            column_sums[j] = acc;
        }
    }
    done[0] = 0;   /* re-armed for the next run */
}
