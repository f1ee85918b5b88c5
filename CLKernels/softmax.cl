/* softmax — softmax / log-softmax along each row of a [rows, cols] matrix, with an optional
 * pre-scale (value = x * scale) and an optional causal mask for the unfused attention path:
 * column j of row r is masked when j > (r % period) + offset. Masked entries come out as 0
 * (softmax) or -inf (log-softmax); a row with every column masked comes out all 0 / all -inf
 * (no NaN). Rows are contiguous, `cols` floats apart; any rows/cols (1, primes, …) work.
 *
 * Variants:
 *   1. softmax_rows_cpu   CPU (default there). One work-item per chunk of `rows_per_item` whole rows, launched in
 *                         work-groups of 1 so pocl spreads them over every core. Each row is walked
 *                         three times with explicit float16 loads and a scalar tail (max; exp + sum
 *                         with fastmath.cl's polynomial exp_nonpos16,
 *                         storing exp into the output; rescale in place) — the row stays in L1/L2
 *                         after the first read, so DRAM traffic is one read and one write.
 *                         log-softmax skips the stored exp: pass 3 writes x*scale - max - log(sum).
 *   2. softmax_rows_wg    GPU (default there). One work-group per row; items stride over the row (coalesced),
 *                         max and sum by a tree reduction in local memory (`red`, local size
 *                         floats, power-of-two local size). Slow on pocl (barriers), correct anywhere.
 *
 * -D parameters:  LOG_SOFTMAX (0/1), CAUSAL (0/1: period/offset arguments are read).
 * Non-finite values (as the reference): a row holding NaN or +Inf is NaN throughout (x − max is
 * NaN for that element, or Inf − Inf, and fastmath.cl's exp_nonpos keeps it, so the row sum is NaN;
 * hmax16 may drop a NaN from the max, the sum does not), a −Inf entry gives 0 (softmax) / −Inf
 * (log-softmax) when the row has a finite value, a row of −Inf only is NaN (0/0, and −Inf + Inf
 * for log-softmax). Built without -cl-fast-relaxed-math (RowOps.buildOptions): its
 * finite-math-only would let the compiler assume none of this happens. The CPU variant vectorises
 * by hand and is no slower without it; variant 2's built-in exp is IEEE.
 */

#ifndef LOG_SOFTMAX
#define LOG_SOFTMAX 0
#endif
#ifndef CAUSAL
#define CAUSAL 0
#endif

#define NEG_INF_BITS as_float(0xff800000u)
#define MASKED_VALUE (LOG_SOFTMAX ? NEG_INF_BITS : 0.0f)

/* exp_nonpos16 / exp_nonpos (eˣ for x ≤ 0, vectorised; NaN stays NaN) and hsum16 / hmax16 (a
 * float16's lane sum / max) come from fastmath.cl, prepended to this file. On CPUs the polynomial
 * exp is faster than pocl's built-in exp for softmax, log-softmax and cross-entropy
 * (Benchmarks/results/pocl-3.1-amd-epyc-2cu/layernorm/README.md). The GPU kernels keep the built-in exp. */

/* Number of unmasked leading columns of row r. */
inline int valid_columns(const int r, const int cols, const int period, const int offset) {
#if CAUSAL
    const long v = (long)(r % period) + (long)offset + 1L;
    return (int)clamp(v, 0L, (long)cols);
#else
    return cols;
#endif
}

__kernel void softmax_rows_cpu(__global const float *x, __global float *y, const int rows, const int cols,
                               const float scale, const int period, const int offset, const int rows_per_item) {
    const int first = (int)get_global_id(0) * rows_per_item;
    const int last = min(rows, first + rows_per_item);
    for (int r = first; r < last; ++r) {
        const __global float *xr = x + (size_t)r * (size_t)cols;
        __global float *yr = y + (size_t)r * (size_t)cols;
        const int n = valid_columns(r, cols, period, offset);
        const int n16 = n & ~15;
        if (n > 0) {
            /* pass 1: max of x*scale (scale may be negative, so scale before comparing) */
            float16 m16 = (float16)(-FLT_MAX);
            for (int j = 0; j < n16; j += 16) m16 = fmax(m16, vload16(0, xr + j) * scale);
            float m = hmax16(m16);
            for (int j = n16; j < n; ++j) m = fmax(m, xr[j] * scale);
            const float negm = -m;
            /* pass 2: sum of exp(x*scale - m) */
            float16 s16 = (float16)(0.0f);
            float s = 0.0f;
#if LOG_SOFTMAX
            for (int j = 0; j < n16; j += 16) s16 += exp_nonpos16(fma(vload16(0, xr + j), (float16)(scale), (float16)(negm)));
            for (int j = n16; j < n; ++j) s += exp_nonpos(fma(xr[j], scale, negm));
            s += hsum16(s16);
            /* pass 3: x*scale - (m + log(sum)) */
            const float shift = -(m + log(s));
            for (int j = 0; j < n16; j += 16)
                vstore16(fma(vload16(0, xr + j), (float16)(scale), (float16)(shift)), 0, yr + j);
            for (int j = n16; j < n; ++j) yr[j] = fma(xr[j], scale, shift);
#else
            for (int j = 0; j < n16; j += 16) {
                const float16 e = exp_nonpos16(fma(vload16(0, xr + j), (float16)(scale), (float16)(negm)));
                s16 += e;
                vstore16(e, 0, yr + j);
            }
            for (int j = n16; j < n; ++j) {
                const float e = exp_nonpos(fma(xr[j], scale, negm));
                s += e;
                yr[j] = e;
            }
            s += hsum16(s16);
            /* pass 3: rescale in place (the row is still in cache) */
            const float inv = 1.0f / s;
            for (int j = 0; j < n16; j += 16) vstore16(vload16(0, yr + j) * inv, 0, yr + j);
            for (int j = n16; j < n; ++j) yr[j] *= inv;
#endif
        }
#if CAUSAL
        for (int j = n; j < cols; ++j) yr[j] = MASKED_VALUE;
#endif
    }
}

/* Tree reduction over the work-group; `red` holds get_local_size(0) floats (a power of two). */
inline float group_max(__local float *red, float v) {
    const int lid = (int)get_local_id(0);
    red[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = (int)get_local_size(0) / 2; s > 0; s >>= 1) {
        if (lid < s) red[lid] = fmax(red[lid], red[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float result = red[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return result;
}

inline float group_sum(__local float *red, float v) {
    const int lid = (int)get_local_id(0);
    red[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = (int)get_local_size(0) / 2; s > 0; s >>= 1) {
        if (lid < s) red[lid] += red[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float result = red[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return result;
}

__kernel void softmax_rows_wg(__global const float *x, __global float *y, const int rows, const int cols,
                              const float scale, const int period, const int offset, __local float *red) {
    const int r = (int)get_group_id(0);
    const int lid = (int)get_local_id(0);
    const int wg = (int)get_local_size(0);
    /* The launch has exactly `rows` groups; no early return and no barrier under a branch
     * (pocl needs barriers in straight-line code of the kernel body). */
    const __global float *xr = x + (size_t)r * (size_t)cols;
    __global float *yr = y + (size_t)r * (size_t)cols;
    const int n = valid_columns(r, cols, period, offset);
    float m = -FLT_MAX;
    for (int j = lid; j < n; j += wg) m = fmax(m, xr[j] * scale);
    m = group_max(red, m);
    float s = 0.0f;
    for (int j = lid; j < n; j += wg) s += exp(fma(xr[j], scale, -m));
    s = group_sum(red, s);
#if LOG_SOFTMAX
    const float shift = -(m + log(s));
    for (int j = lid; j < n; j += wg) yr[j] = fma(xr[j], scale, shift);
#else
    const float inv = 1.0f / s;
    for (int j = lid; j < n; j += wg) yr[j] = exp(fma(xr[j], scale, -m)) * inv;
#endif
#if CAUSAL
    for (int j = n + lid; j < cols; j += wg) yr[j] = MASKED_VALUE;
#endif
}
