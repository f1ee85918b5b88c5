/* layernorm — layer normalisation, RMS normalisation and the "proportions" norm over each row of a
 * [rows, cols] matrix. gain/bias have `cols` elements. Any rows/cols work (1, primes, non-multiples of 16).
 *   layernorm:   y = (x - mean) / sqrt(var + eps) * gain + bias   (biased variance, divide by cols)
 *   rmsnorm:     y = x * rsqrt(mean(x^2) + eps) * gain
 *   residual LN: s = x + r;  y = layernorm(s)   (s optionally written for the next residual add)
 *   proportions: u = x / (mean_j |x_j| + eps);  y = gain * c * tanh(u / c) (+ shift)
 *                Rescales each row by its mean magnitude without centring (no mean subtracted; the
 *                shift is optional, PROP_SHIFT); c*tanh(u/c) is ~u for |u| << c and compresses
 *                magnitudes beyond ~c softly towards the bound c (odd, monotone, slope 1 at 0).
 *                The compression c (> 0, the op's parameter; 4 by default) is a kernel argument.
 *
 * Variants (the number selects the kernel; rmsnorm has no mean, so variants 1 and 2 both run
 * rmsnorm_cpu and variants 3 and 4 both run rmsnorm_wg; 5-12 are separate entry points in NormFamily):
 *   1. layernorm_twopass_cpu  CPU. One work-item per chunk of `rows_per_item` rows, work-groups of 1.
 *                             float16 loads + scalar tail: pass 1 sum -> mean, pass 2 sum of
 *                             (x-mean)^2 -> var, pass 3 write. Row stays in cache between passes.
 *                             Pass 1 of the next row runs inside pass 3 of this one (read and write
 *                             streams interleave as in a copy: two loops per row, not three); two
 *                             float16 accumulators per reduction; streaming stores (STREAM_STORES).
 *   2. layernorm_welford_cpu  CPU. Like 1 but mean and M2 in one pass: 2 x 16 per-lane Welford
 *                             accumulators (even and odd float16 chunks, equal counts per lane),
 *                             merged with Chan's formula, then the scalar tail by Welford updates;
 *                             pass 2 writes, and gathers the next row's Welford state as it goes
 *                             (one loop per row in steady state); streaming stores as 1.
 *   3. layernorm_twopass_wg   GPU. One work-group per row, strided coalesced loads, two tree
 *                             reductions in local memory (sum, then centred sum of squares).
 *   4. layernorm_welford_wg   GPU. One work-group per row, per-item scalar Welford, then a tree of
 *                             Chan merges of (count, mean, M2) in local memory: one read pass.
 *   5. layernorm_onepass_cpu  CPU. Sum and sum of squares in one float16 pass, var = E[x^2] - E[x]^2
 *                             (clamped at 0), then write. Cheapest, but cancels catastrophically when
 *                             |mean| >> std (rows like 1e4 + N(0,1)): kept to show that, not for use.
 *   6. layernorm_onepass_wg   GPU. Variant 5's math, one work-group per row, two tree sums.
 *   7. layernorm_residual_cpu CPU. s = x + r, then variant 1's two-pass on s; with WRITE_SUM=1 pass 1
 *                             stores s and passes 2-3 re-read it from cache, else they recompute x + r.
 *   8. layernorm_residual_wg  GPU. Variant 7's math in variant 3's work-group-per-row form.
 *   9. propnorm_cpu           CPU. Proportions norm: pass 1 float16 sum of |x|, pass 2 write (which
 *                             also sums the next row's |x|, as in 1), with fastmath.cl's vectorisable
 *                             rational tanh (abs error <= 3.5e-7); streaming stores as 1.
 *  10. propnorm_wg            GPU. Proportions norm, work-group per row, one tree sum.
 *  11. propnorm_residual_cpu CPU. s = x + r, then the proportions norm of s (variant 7's form: pass 1
 *                             sums |s| and with WRITE_SUM=1 stores s, pass 2 writes from cache).
 *  12. propnorm_residual_wg  GPU. Variant 11's math, work-group per row, one tree sum.
 *   rmsnorm_cpu / rmsnorm_wg  sum of squares (float16 lanes / tree), then write.
 *
 * -D parameters: WRITE_SUM (0/1, default 0) for variants 7-8 and 11-12; PROP_SHIFT (0/1, default 0)
 * for variants 9-12: add the shift argument b after the gain (else b is never read); STREAM_STORES (0/1, default 0):
 * the CPU kernels write 64-byte-aligned output chunks with non-temporal stores (the host sets it for
 * CPU devices when the output is >= 8 MiB; see STORE16 below). Local-memory arguments hold
 * get_local_size(0) floats each (power of two). Tests hold NMSE <= 1e-7 except variants 5-6 on
 * offset rows, which is their point.
 * Non-finite values (as the reference): a NaN or ±Inf in a layernorm row makes the row NaN (mean or
 * variance NaN or Inf − Inf; the one-pass clamp of a negative variance keeps NaN); rmsnorm: NaN
 * gives a NaN row, ±Inf gives rsqrt(Inf) = 0, so ±0 for finite entries and NaN at the Inf; a NaN
 * or ±Inf gain / bias column gives NaN / ±Inf in that column; the proportions norm's tanh keeps NaN.
 * Rows whose squares overflow float32 (|x| ≳ 1.8e19) normalise with an Inf variance (the row's
 * bias), where the reference's Double arithmetic does not overflow. Built without
 * -cl-fast-relaxed-math (RowOps.buildOptions): under its finite-math-only rmsnorm_wg gave NaN for
 * x · rsqrt(Inf); pocl's vectorisation of these hand-vectorised kernels does not depend on it.
 * Outputs may alias inputs: each element is read before it is written, by the same work-item.
 * GPU kernels keep every barrier in straight-line kernel code (pocl miscompiles barriers
 * under data-dependent branches), and launch exactly `rows` groups.
 */

#ifndef WRITE_SUM
#define WRITE_SUM 0
#endif
#ifndef PROP_SHIFT
#define PROP_SHIFT 0
#endif
#ifndef STREAM_STORES
#define STREAM_STORES 0
#endif

/* STORE16: the normalised output of the CPU kernels. With STREAM_STORES=1 (set by the host for
   CPU devices when the output is far larger than the caches) 64-byte-aligned chunks go out as
   non-temporal stores: no read-for-ownership of the destination line, so a row costs one read
   and one write of DRAM, like a copy (faster than plain stores at 4096x4096 on pocl:
   Benchmarks/results/pocl-3.1-amd-epyc-2cu/layernorm/README.md). */
#if STREAM_STORES && defined(__clang__) && defined(__has_builtin)
#if __has_builtin(__builtin_nontemporal_store)
#define STREAMING 1
#endif
#endif
#ifdef STREAMING
#define STORE16(v, p) do { __global float *p_ = (p); \
    if (((size_t)p_ & 63) == 0) __builtin_nontemporal_store((v), (__global float16 *)p_); \
    else vstore16((v), 0, p_); } while (0)
/* Orders the weakly-ordered streaming stores before the work-item ends. */
#define STREAM_FENCE() mem_fence(CLK_GLOBAL_MEM_FENCE)
#else
#define STORE16(v, p) vstore16((v), 0, (p))
#define STREAM_FENCE() do { } while (0)
#endif

/* y = (x - mean) * rstd * g + b over one row, float16 + tail. */
inline void ln_write(const __global float *xr, __global float *yr, const __global float *g,
                     const __global float *b, const int cols, const float mean, const float rstd) {
    const int n16 = cols & ~15;
    for (int j = 0; j < n16; j += 16) {
        const float16 t = (vload16(0, xr + j) - mean) * rstd;
        STORE16(fma(t, vload16(0, g + j), vload16(0, b + j)), yr + j);
    }
    for (int j = n16; j < cols; ++j) yr[j] = fma((xr[j] - mean) * rstd, g[j], b[j]);
}

/* float16 sum of a row (two accumulators for latency), plus the scalar tail. */
inline float row_sum(const __global float *xr, const int cols) {
    const int n32 = cols & ~31, n16 = cols & ~15;
    float16 a = (float16)(0.0f), c = (float16)(0.0f);
    for (int j = 0; j < n32; j += 32) {
        a += vload16(0, xr + j);
        c += vload16(0, xr + j + 16);
    }
    if (n16 > n32) a += vload16(0, xr + n32);
    float s = 0.0f;
    for (int j = n16; j < cols; ++j) s += xr[j];
    return hsum16(a + c) + s;
}

__kernel void layernorm_twopass_cpu(__global const float *x, __global const float *g, __global const float *b,
                                    __global float *y, const int rows, const int cols, const float eps,
                                    const int rows_per_item) {
    const int first = (int)get_global_id(0) * rows_per_item;
    const int last = min(rows, first + rows_per_item);
    if (first >= last) return;
    const int n16 = cols & ~15;
    const float inv_n = 1.0f / (float)cols;
    /* Pass 1 of row r+1 runs inside pass 3 of row r: the DRAM read stream of the next row and the
       write stream of this one interleave, as in a copy, and each row costs two loops, not three. */
    float sum = row_sum(x + (size_t)first * (size_t)cols, cols);
    for (int r = first; r < last; ++r) {
        const __global float *xr = x + (size_t)r * (size_t)cols;
        __global float *yr = y + (size_t)r * (size_t)cols;
        const float mean = sum * inv_n;
        float16 q16 = (float16)(0.0f), p16 = (float16)(0.0f);
        const int n32 = cols & ~31;
        for (int j = 0; j < n32; j += 32) {
            const float16 d = vload16(0, xr + j) - mean, e = vload16(0, xr + j + 16) - mean;
            q16 = fma(d, d, q16);
            p16 = fma(e, e, p16);
        }
        if (n16 > n32) {
            const float16 d = vload16(0, xr + n32) - mean;
            q16 = fma(d, d, q16);
        }
        float q = 0.0f;
        for (int j = n16; j < cols; ++j) {
            const float d = xr[j] - mean;
            q = fma(d, d, q);
        }
        const float rstd = rsqrt((hsum16(q16 + p16) + q) * inv_n + eps);
        if (r + 1 < last) {
            const __global float *xn = xr + cols;
            float16 s16 = (float16)(0.0f);
            for (int j = 0; j < n16; j += 16) {
                const float16 t = (vload16(0, xr + j) - mean) * rstd;
                s16 += vload16(0, xn + j);
                STORE16(fma(t, vload16(0, g + j), vload16(0, b + j)), yr + j);
            }
            float s = 0.0f;
            for (int j = n16; j < cols; ++j) {
                s += xn[j];
                yr[j] = fma((xr[j] - mean) * rstd, g[j], b[j]);
            }
            sum = hsum16(s16) + s;
        } else {
            ln_write(xr, yr, g, b, cols, mean, rstd);
        }
    }
    STREAM_FENCE();
}

/* Welford state of one row: 2 x 16 lane accumulators (even and odd float16 chunks), so the chain
   through the running mean is half as long; `pairs` chunk pairs have been added to each set. */
typedef struct { float16 ma, m2a, mb, m2b; } welford16;

inline void welford_pair(welford16 *w, const float16 va, const float16 vb, const float16 inv) {
    const float16 da = va - w->ma, db = vb - w->mb;
    w->ma = fma(da, inv, w->ma);
    w->mb = fma(db, inv, w->mb);
    w->m2a = fma(da, va - w->ma, w->m2a);
    w->m2b = fma(db, vb - w->mb, w->m2b);
}

/* Finishes a row's statistics: the odd chunk, Chan merges of the two sets and of the 16 lanes,
   then the scalar tail by Welford updates. Returns (mean, M2). */
inline float2 welford_finish(welford16 w, const __global float *xr, const int cols) {
    const int n16 = cols & ~15, steps = n16 >> 4, pairs = steps >> 1;
    float na = (float)pairs;
    if (steps & 1) {
        const float16 va = vload16(steps - 1, xr);
        const float16 da = va - w.ma;
        na += 1.0f;
        w.ma = fma(da, (float16)(1.0f / na), w.ma);
        w.m2a = fma(da, va - w.ma, w.m2a);
    }
    float16 mean16 = w.ma, m2_16 = w.m2a;
    if (pairs > 0) {
        const float nb = (float)pairs, n = na + nb;
        const float16 delta = w.mb - w.ma;
        mean16 = fma(delta, (float16)(nb / n), w.ma);
        m2_16 = w.m2a + w.m2b + delta * delta * (na * nb / n);
    }
    /* merge 16 lanes of equal count `steps`: mean = average, M2 = sum M2 + steps * sum (mean_i - mean)^2 */
    float mean = hsum16(mean16) * (1.0f / 16.0f);
    const float16 dm = mean16 - mean;
    float m2 = hsum16(m2_16) + (float)steps * hsum16(dm * dm);
    float count = (float)n16;
    for (int j = n16; j < cols; ++j) {
        const float v = xr[j];
        count += 1.0f;
        const float d = v - mean;
        mean += d / count;
        m2 = fma(d, v - mean, m2);
    }
    return (float2)(mean, m2);
}

inline welford16 welford_zero(void) {
    welford16 w;
    w.ma = w.m2a = w.mb = w.m2b = (float16)(0.0f);
    return w;
}

__kernel void layernorm_welford_cpu(__global const float *x, __global const float *g, __global const float *b,
                                    __global float *y, const int rows, const int cols, const float eps,
                                    const int rows_per_item) {
    const int first = (int)get_global_id(0) * rows_per_item;
    const int last = min(rows, first + rows_per_item);
    if (first >= last) return;
    const int n16 = cols & ~15, steps = n16 >> 4, pairs = steps >> 1;
    /* As in variant 1, the statistics of row r+1 are gathered inside the write loop of row r. */
    welford16 w = welford_zero();
    const __global float *x0 = x + (size_t)first * (size_t)cols;
    for (int k = 0; k < pairs; ++k)
        welford_pair(&w, vload16(2 * k, x0), vload16(2 * k + 1, x0), (float16)(1.0f / (float)(k + 1)));
    float2 stats = welford_finish(w, x0, cols);
    for (int r = first; r < last; ++r) {
        const __global float *xr = x + (size_t)r * (size_t)cols;
        __global float *yr = y + (size_t)r * (size_t)cols;
        const float mean = stats.x, rstd = rsqrt(stats.y / (float)cols + eps);
        if (r + 1 < last) {
            const __global float *xn = xr + cols;
            w = welford_zero();
            for (int k = 0; k < pairs; ++k) {
                const int j = 32 * k;
                welford_pair(&w, vload16(2 * k, xn), vload16(2 * k + 1, xn), (float16)(1.0f / (float)(k + 1)));
                STORE16(fma((vload16(0, xr + j) - mean) * rstd, vload16(0, g + j), vload16(0, b + j)), yr + j);
                STORE16(fma((vload16(0, xr + j + 16) - mean) * rstd, vload16(0, g + j + 16), vload16(0, b + j + 16)), yr + j + 16);
            }
            for (int j = 32 * pairs; j < n16; j += 16)
                STORE16(fma((vload16(0, xr + j) - mean) * rstd, vload16(0, g + j), vload16(0, b + j)), yr + j);
            for (int j = n16; j < cols; ++j) yr[j] = fma((xr[j] - mean) * rstd, g[j], b[j]);
            stats = welford_finish(w, xn, cols);
        } else {
            ln_write(xr, yr, g, b, cols, mean, rstd);
        }
    }
    STREAM_FENCE();
}

__kernel void rmsnorm_cpu(__global const float *x, __global const float *g, __global float *y,
                          const int rows, const int cols, const float eps, const int rows_per_item) {
    const int first = (int)get_global_id(0) * rows_per_item;
    const int last = min(rows, first + rows_per_item);
    const int n16 = cols & ~15;
    for (int r = first; r < last; ++r) {
        const __global float *xr = x + (size_t)r * (size_t)cols;
        __global float *yr = y + (size_t)r * (size_t)cols;
        float16 q16 = (float16)(0.0f);
        float q = 0.0f;
        for (int j = 0; j < n16; j += 16) {
            const float16 v = vload16(0, xr + j);
            q16 = fma(v, v, q16);
        }
        for (int j = n16; j < cols; ++j) q = fma(xr[j], xr[j], q);
        const float scale = rsqrt((hsum16(q16) + q) / (float)cols + eps);
        for (int j = 0; j < n16; j += 16) STORE16(vload16(0, xr + j) * scale * vload16(0, g + j), yr + j);
        for (int j = n16; j < cols; ++j) yr[j] = xr[j] * scale * g[j];
    }
    STREAM_FENCE();
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

__kernel void layernorm_twopass_wg(__global const float *x, __global const float *g, __global const float *b,
                                   __global float *y, const int rows, const int cols, const float eps,
                                   __local float *red) {
    const int lid = (int)get_local_id(0), wg = (int)get_local_size(0);
    const __global float *xr = x + (size_t)get_group_id(0) * (size_t)cols;
    __global float *yr = y + (size_t)get_group_id(0) * (size_t)cols;
    float s = 0.0f;
    for (int j = lid; j < cols; j += wg) s += xr[j];
    const float mean = group_sum(red, s) / (float)cols;
    float q = 0.0f;
    for (int j = lid; j < cols; j += wg) {
        const float d = xr[j] - mean;
        q = fma(d, d, q);
    }
    const float rstd = rsqrt(group_sum(red, q) / (float)cols + eps);
    for (int j = lid; j < cols; j += wg) yr[j] = fma((xr[j] - mean) * rstd, g[j], b[j]);
}

__kernel void layernorm_welford_wg(__global const float *x, __global const float *g, __global const float *b,
                                   __global float *y, const int rows, const int cols, const float eps,
                                   __local float *lcount, __local float *lmean, __local float *lm2) {
    const int lid = (int)get_local_id(0), wg = (int)get_local_size(0);
    const __global float *xr = x + (size_t)get_group_id(0) * (size_t)cols;
    __global float *yr = y + (size_t)get_group_id(0) * (size_t)cols;
    float count = 0.0f, mean = 0.0f, m2 = 0.0f;
    for (int j = lid; j < cols; j += wg) {
        const float v = xr[j];
        count += 1.0f;
        const float d = v - mean;
        mean += d / count;
        m2 = fma(d, v - mean, m2);
    }
    lcount[lid] = count; lmean[lid] = mean; lm2[lid] = m2;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = wg / 2; s > 0; s >>= 1) {
        if (lid < s) {
            const float na = lcount[lid], nb = lcount[lid + s];
            const float n = na + nb;
            if (nb > 0.0f) {   /* nb > 0 implies n > 0 */
                const float delta = lmean[lid + s] - lmean[lid];
                const float wb = nb / n;
                lmean[lid] = fma(delta, wb, lmean[lid]);
                lm2[lid] = lm2[lid] + lm2[lid + s] + delta * delta * na * wb;
                lcount[lid] = n;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float mu = lmean[0];
    const float rstd = rsqrt(lm2[0] / (float)cols + eps);
    for (int j = lid; j < cols; j += wg) yr[j] = fma((xr[j] - mu) * rstd, g[j], b[j]);
}

__kernel void rmsnorm_wg(__global const float *x, __global const float *g, __global float *y,
                         const int rows, const int cols, const float eps, __local float *red) {
    const int lid = (int)get_local_id(0), wg = (int)get_local_size(0);
    const __global float *xr = x + (size_t)get_group_id(0) * (size_t)cols;
    __global float *yr = y + (size_t)get_group_id(0) * (size_t)cols;
    float q = 0.0f;
    for (int j = lid; j < cols; j += wg) q = fma(xr[j], xr[j], q);
    const float scale = rsqrt(group_sum(red, q) / (float)cols + eps);
    for (int j = lid; j < cols; j += wg) yr[j] = xr[j] * scale * g[j];
}

/* ---- 5, 6: one-pass E[x^2] - E[x]^2 ---- */

__kernel void layernorm_onepass_cpu(__global const float *x, __global const float *g, __global const float *b,
                                    __global float *y, const int rows, const int cols, const float eps,
                                    const int rows_per_item) {
    const int first = (int)get_global_id(0) * rows_per_item;
    const int last = min(rows, first + rows_per_item);
    const int n16 = cols & ~15;
    const float inv_n = 1.0f / (float)cols;
    for (int r = first; r < last; ++r) {
        const __global float *xr = x + (size_t)r * (size_t)cols;
        float16 s16 = (float16)(0.0f), q16 = (float16)(0.0f);
        float s = 0.0f, q = 0.0f;
        for (int j = 0; j < n16; j += 16) {
            const float16 v = vload16(0, xr + j);
            s16 += v;
            q16 = fma(v, v, q16);
        }
        for (int j = n16; j < cols; ++j) {
            s += xr[j];
            q = fma(xr[j], xr[j], q);
        }
        const float mean = (hsum16(s16) + s) * inv_n;
        const float var0 = (hsum16(q16) + q) * inv_n - mean * mean;
        const float var = var0 < 0.0f ? 0.0f : var0;   /* not fmax: a NaN variance stays NaN */
        ln_write(xr, y + (size_t)r * (size_t)cols, g, b, cols, mean, rsqrt(var + eps));
    }
    STREAM_FENCE();
}

__kernel void layernorm_onepass_wg(__global const float *x, __global const float *g, __global const float *b,
                                   __global float *y, const int rows, const int cols, const float eps,
                                   __local float *red) {
    const int lid = (int)get_local_id(0), wg = (int)get_local_size(0);
    const __global float *xr = x + (size_t)get_group_id(0) * (size_t)cols;
    __global float *yr = y + (size_t)get_group_id(0) * (size_t)cols;
    float s = 0.0f, q = 0.0f;
    for (int j = lid; j < cols; j += wg) {
        const float v = xr[j];
        s += v;
        q = fma(v, v, q);
    }
    const float mean = group_sum(red, s) / (float)cols;
    const float var0 = group_sum(red, q) / (float)cols - mean * mean;
    const float var = var0 < 0.0f ? 0.0f : var0;   /* not fmax: a NaN variance stays NaN */
    const float rstd = rsqrt(var + eps);
    for (int j = lid; j < cols; j += wg) yr[j] = fma((xr[j] - mean) * rstd, g[j], b[j]);
}

/* ---- 7, 8: layernorm fused with the residual add ---- */

/* What the residual variants (7, 8, 11, 12) share. Each kernel names its row's x, r, sum and output
 * xr, rr, sr, yr (and n16 / lid, wg for the loops). Pass 1 forms s = x + r (stored to `sum` with
 * WRITE_SUM=1) and accumulates F(s) (the sum for layernorm, |s| for the proportions norm); later
 * passes read s back with RES_LOAD: from `sum` when pass 1 wrote it, else as x + r again. */
#if WRITE_SUM
#define RES_LOAD16(j) vload16(0, sr + (j))
#define RES_LOAD(j) sr[j]
#define STORE_SUM16(v, j) vstore16((v), 0, sr + (j))
#define STORE_SUM(v, j) (sr[j] = (v))
#else
#define RES_LOAD16(j) (vload16(0, xr + (j)) + vload16(0, rr + (j)))
#define RES_LOAD(j) (xr[j] + rr[j])
#define STORE_SUM16(v, j)
#define STORE_SUM(v, j)
#endif
#define RES_SAME(v) (v)
#define RESIDUAL_FIRST_PASS_CPU(ACC16, ACC, F)                                                   \
    for (int j = 0; j < n16; j += 16) {                                                        \
        const float16 v = vload16(0, xr + j) + vload16(0, rr + j);                             \
        STORE_SUM16(v, j);                                                                      \
        ACC16 += F(v);                                                                          \
    }                                                                                           \
    for (int j = n16; j < cols; ++j) {                                                          \
        const float v = xr[j] + rr[j];                                                          \
        STORE_SUM(v, j);                                                                        \
        ACC += F(v);                                                                            \
    }
#define RESIDUAL_FIRST_PASS_WG(ACC, F)                                                          \
    for (int j = lid; j < cols; j += wg) {                                                      \
        const float v = xr[j] + rr[j];                                                          \
        STORE_SUM(v, j);                                                                        \
        ACC += F(v);                                                                            \
    }

__kernel void layernorm_residual_cpu(__global const float *x, __global const float *res, __global const float *g,
                                     __global const float *b, __global float *y, __global float *sum,
                                     const int rows, const int cols, const float eps, const int rows_per_item) {
    const int first = (int)get_global_id(0) * rows_per_item;
    const int last = min(rows, first + rows_per_item);
    const int n16 = cols & ~15;
    const float inv_n = 1.0f / (float)cols;
    for (int r = first; r < last; ++r) {
        const size_t base = (size_t)r * (size_t)cols;
        const __global float *xr = x + base, *rr = res + base;
        __global float *sr = sum + base, *yr = y + base;
        float16 s16 = (float16)(0.0f);
        float s = 0.0f;
        RESIDUAL_FIRST_PASS_CPU(s16, s, RES_SAME)
        const float mean = (hsum16(s16) + s) * inv_n;
        float16 q16 = (float16)(0.0f);
        float q = 0.0f;
        for (int j = 0; j < n16; j += 16) {
            const float16 d = RES_LOAD16(j) - mean;
            q16 = fma(d, d, q16);
        }
        for (int j = n16; j < cols; ++j) {
            const float d = RES_LOAD(j) - mean;
            q = fma(d, d, q);
        }
        const float rstd = rsqrt((hsum16(q16) + q) * inv_n + eps);
        for (int j = 0; j < n16; j += 16) {
            const float16 t = (RES_LOAD16(j) - mean) * rstd;
            STORE16(fma(t, vload16(0, g + j), vload16(0, b + j)), yr + j);
        }
        for (int j = n16; j < cols; ++j) yr[j] = fma((RES_LOAD(j) - mean) * rstd, g[j], b[j]);
    }
    STREAM_FENCE();
}

__kernel void layernorm_residual_wg(__global const float *x, __global const float *res, __global const float *g,
                                    __global const float *b, __global float *y, __global float *sum,
                                    const int rows, const int cols, const float eps, __local float *red) {
    const int lid = (int)get_local_id(0), wg = (int)get_local_size(0);
    const size_t base = (size_t)get_group_id(0) * (size_t)cols;
    const __global float *xr = x + base, *rr = res + base;
    __global float *sr = sum + base, *yr = y + base;
    float s = 0.0f;
    RESIDUAL_FIRST_PASS_WG(s, RES_SAME)
    const float mean = group_sum(red, s) / (float)cols;
    float q = 0.0f;
    for (int j = lid; j < cols; j += wg) {
        const float d = RES_LOAD(j) - mean;
        q = fma(d, d, q);
    }
    const float rstd = rsqrt(group_sum(red, q) / (float)cols + eps);
    for (int j = lid; j < cols; j += wg) yr[j] = fma((RES_LOAD(j) - mean) * rstd, g[j], b[j]);
}

/* ---- 9, 10: proportions norm, y = g * c tanh(x / (mean|x| + eps) / c) (+ b) ---- */

/* tanh: fastmath.cl's tanh_fast (a [13/6] rational function, only fma and one divide, so float16
   code stays vectorised; pocl's tanh and exp do not vectorise here). The compression c arrives as
   an argument; with PROP_SHIFT=1 the shift b is added after the gain, else b is never read. */
#if PROP_SHIFT
#define PROP_OUT16(t, j) (c * (t) * vload16(0, g + (j)) + vload16(0, b + (j)))
#define PROP_OUT(t, j) (c * (t) * g[j] + b[j])
#else
#define PROP_OUT16(t, j) (c * (t) * vload16(0, g + (j)))
#define PROP_OUT(t, j) (c * (t) * g[j])
#endif

inline float row_abs_sum(const __global float *xr, const int cols) {
    const int n16 = cols & ~15;
    float16 a16 = (float16)(0.0f);
    float a = 0.0f;
    for (int j = 0; j < n16; j += 16) a16 += fabs(vload16(0, xr + j));
    for (int j = n16; j < cols; ++j) a += fabs(xr[j]);
    return hsum16(a16) + a;
}

__kernel void propnorm_cpu(__global const float *x, __global const float *g, __global const float *b,
                           __global float *y, const int rows, const int cols, const float eps, const float c,
                           const int rows_per_item) {
    const int first = (int)get_global_id(0) * rows_per_item;
    const int last = min(rows, first + rows_per_item);
    if (first >= last) return;
    const int n16 = cols & ~15;
    const float inv_c = 1.0f / c;
    /* As in variant 1, the next row's sum of |x| is gathered inside this row's write loop. */
    float magnitude = row_abs_sum(x + (size_t)first * (size_t)cols, cols);
    for (int r = first; r < last; ++r) {
        const __global float *xr = x + (size_t)r * (size_t)cols;
        __global float *yr = y + (size_t)r * (size_t)cols;
        /* u / c = x * scale */
        const float scale = inv_c / (magnitude / (float)cols + eps);
        if (r + 1 < last) {
            const __global float *xn = xr + cols;
            float16 a16 = (float16)(0.0f);
            for (int j = 0; j < n16; j += 16) {
                a16 += fabs(vload16(0, xn + j));
                STORE16(PROP_OUT16(tanh_fast_float16(vload16(0, xr + j) * scale), j), yr + j);
            }
            float a = 0.0f;
            for (int j = n16; j < cols; ++j) {
                a += fabs(xn[j]);
                yr[j] = PROP_OUT(tanh_fast_float(xr[j] * scale), j);
            }
            magnitude = hsum16(a16) + a;
        } else {
            for (int j = 0; j < n16; j += 16) STORE16(PROP_OUT16(tanh_fast_float16(vload16(0, xr + j) * scale), j), yr + j);
            for (int j = n16; j < cols; ++j) yr[j] = PROP_OUT(tanh_fast_float(xr[j] * scale), j);
        }
    }
    STREAM_FENCE();
}

__kernel void propnorm_wg(__global const float *x, __global const float *g, __global const float *b,
                          __global float *y, const int rows, const int cols, const float eps, const float c,
                          __local float *red) {
    const int lid = (int)get_local_id(0), wg = (int)get_local_size(0);
    const __global float *xr = x + (size_t)get_group_id(0) * (size_t)cols;
    __global float *yr = y + (size_t)get_group_id(0) * (size_t)cols;
    float a = 0.0f;
    for (int j = lid; j < cols; j += wg) a += fabs(xr[j]);
    const float scale = (1.0f / c) / (group_sum(red, a) / (float)cols + eps);
    for (int j = lid; j < cols; j += wg) yr[j] = PROP_OUT(tanh_fast_float(xr[j] * scale), j);
}

/* ---- 11, 12: proportions norm fused with the residual add: s = x + r, y = propnorm(s) ---- */

__kernel void propnorm_residual_cpu(__global const float *x, __global const float *res, __global const float *g,
                                    __global const float *b, __global float *y, __global float *sum,
                                    const int rows, const int cols, const float eps, const float c,
                                    const int rows_per_item) {
    const int first = (int)get_global_id(0) * rows_per_item;
    const int last = min(rows, first + rows_per_item);
    const int n16 = cols & ~15;
    const float inv_c = 1.0f / c;
    for (int r = first; r < last; ++r) {
        const size_t base = (size_t)r * (size_t)cols;
        const __global float *xr = x + base, *rr = res + base;
        __global float *sr = sum + base, *yr = y + base;
        float16 a16 = (float16)(0.0f);
        float a = 0.0f;
        RESIDUAL_FIRST_PASS_CPU(a16, a, fabs)
        const float scale = inv_c / ((hsum16(a16) + a) / (float)cols + eps);
        for (int j = 0; j < n16; j += 16) STORE16(PROP_OUT16(tanh_fast_float16(RES_LOAD16(j) * scale), j), yr + j);
        for (int j = n16; j < cols; ++j) yr[j] = PROP_OUT(tanh_fast_float(RES_LOAD(j) * scale), j);
    }
    STREAM_FENCE();
}

__kernel void propnorm_residual_wg(__global const float *x, __global const float *res, __global const float *g,
                                   __global const float *b, __global float *y, __global float *sum,
                                   const int rows, const int cols, const float eps, const float c,
                                   __local float *red) {
    const int lid = (int)get_local_id(0), wg = (int)get_local_size(0);
    const size_t base = (size_t)get_group_id(0) * (size_t)cols;
    const __global float *xr = x + base, *rr = res + base;
    __global float *sr = sum + base, *yr = y + base;
    float a = 0.0f;
    RESIDUAL_FIRST_PASS_WG(a, fabs)
    const float scale = (1.0f / c) / (group_sum(red, a) / (float)cols + eps);
    for (int j = lid; j < cols; j += wg) yr[j] = PROP_OUT(tanh_fast_float(RES_LOAD(j) * scale), j);
}
