/* layernorm — layer normalisation, RMS normalisation and the "proportions" norm over each row of a
 * [rows, cols] matrix. gain/bias have `cols` elements. Any rows/cols work (1, primes, non-multiples of 16).
 *   layernorm:   y = (x - mean) / sqrt(var + eps) * gain + bias   (biased variance, divide by cols)
 *   rmsnorm:     y = x * rsqrt(mean(x^2) + eps) * gain
 *   residual LN: s = x + r;  y = layernorm(s)   (s optionally written for the next residual add)
 *   proportions: u = x / (mean_j |x_j| + eps);  y = gain * 4 * tanh(u / 4)
 *                Rescales each row by its mean magnitude without centring (no mean subtracted, no
 *                bias); 4*tanh(u/4) is ~u for |u| << 4 and compresses magnitudes beyond ~4 softly
 *                towards the bound 4 (odd, monotone, slope 1 at 0).
 *
 * Variants (the number selects the kernel; rmsnorm has no mean, so variants 1 and 2 both run
 * rmsnorm_cpu and variants 3 and 4 both run rmsnorm_wg; 5-10 are separate entry points in NormFamily):
 *   1. layernorm_twopass_cpu  CPU. One work-item per chunk of `rows_per_item` rows, work-groups of 1.
 *                             float16 loads + scalar tail: pass 1 sum -> mean, pass 2 sum of
 *                             (x-mean)^2 -> var, pass 3 write. Row stays in cache between passes.
 *   2. layernorm_welford_cpu  CPU. Like 1 but mean and M2 in one pass: 16 per-lane Welford
 *                             accumulators (equal counts), merged with Chan's formula, then the
 *                             scalar tail by Welford updates; pass 2 writes.
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
 *   9. propnorm_cpu           CPU. Proportions norm: pass 1 float16 sum of |x|, pass 2 write.
 *  10. propnorm_wg            GPU. Proportions norm, work-group per row, one tree sum.
 *   rmsnorm_cpu / rmsnorm_wg  sum of squares (float16 lanes / tree), then write.
 *
 * -D parameters: WRITE_SUM (0/1, default 0) for variants 7-8 only. Local-memory arguments hold
 * get_local_size(0) floats each (power of two). Built with -cl-fast-relaxed-math (vectorised rsqrt,
 * tanh and reductions); tests hold NMSE <= 1e-7 except variants 5-6 on offset rows, which is their point.
 * Outputs may alias inputs: each element is read before it is written, by the same work-item.
 * GPU kernels keep every barrier in straight-line kernel code (pocl miscompiles barriers
 * under data-dependent branches), and launch exactly `rows` groups.
 */

#ifndef WRITE_SUM
#define WRITE_SUM 0
#endif

inline float hsum16(const float16 v) {
    const float8 a = v.lo + v.hi;
    const float4 b = a.lo + a.hi;
    const float2 c = b.lo + b.hi;
    return c.x + c.y;
}

/* y = (x - mean) * rstd * g + b over one row, float16 + tail. */
inline void ln_write(const __global float *xr, __global float *yr, const __global float *g,
                     const __global float *b, const int cols, const float mean, const float rstd) {
    const int n16 = cols & ~15;
    for (int j = 0; j < n16; j += 16) {
        const float16 t = (vload16(0, xr + j) - mean) * rstd;
        vstore16(fma(t, vload16(0, g + j), vload16(0, b + j)), 0, yr + j);
    }
    for (int j = n16; j < cols; ++j) yr[j] = fma((xr[j] - mean) * rstd, g[j], b[j]);
}

__kernel void layernorm_twopass_cpu(__global const float *x, __global const float *g, __global const float *b,
                                    __global float *y, const int rows, const int cols, const float eps,
                                    const int rows_per_item) {
    const int first = (int)get_global_id(0) * rows_per_item;
    const int last = min(rows, first + rows_per_item);
    const int n16 = cols & ~15;
    const float inv_n = 1.0f / (float)cols;
    for (int r = first; r < last; ++r) {
        const __global float *xr = x + (size_t)r * (size_t)cols;
        float16 s16 = (float16)(0.0f);
        float s = 0.0f;
        for (int j = 0; j < n16; j += 16) s16 += vload16(0, xr + j);
        for (int j = n16; j < cols; ++j) s += xr[j];
        const float mean = (hsum16(s16) + s) * inv_n;
        float16 q16 = (float16)(0.0f);
        float q = 0.0f;
        for (int j = 0; j < n16; j += 16) {
            const float16 d = vload16(0, xr + j) - mean;
            q16 = fma(d, d, q16);
        }
        for (int j = n16; j < cols; ++j) {
            const float d = xr[j] - mean;
            q = fma(d, d, q);
        }
        const float rstd = rsqrt((hsum16(q16) + q) * inv_n + eps);
        ln_write(xr, y + (size_t)r * (size_t)cols, g, b, cols, mean, rstd);
    }
}

__kernel void layernorm_welford_cpu(__global const float *x, __global const float *g, __global const float *b,
                                    __global float *y, const int rows, const int cols, const float eps,
                                    const int rows_per_item) {
    const int first = (int)get_global_id(0) * rows_per_item;
    const int last = min(rows, first + rows_per_item);
    const int n16 = cols & ~15;
    const int steps = n16 >> 4;
    for (int r = first; r < last; ++r) {
        const __global float *xr = x + (size_t)r * (size_t)cols;
        float16 mean16 = (float16)(0.0f), m2_16 = (float16)(0.0f);
        for (int k = 0; k < steps; ++k) {
            const float16 v = vload16(k, xr);
            const float16 d = v - mean16;
            mean16 = fma(d, (float16)(1.0f / (float)(k + 1)), mean16);
            m2_16 = fma(d, v - mean16, m2_16);
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
        const float rstd = rsqrt(m2 / (float)cols + eps);
        ln_write(xr, y + (size_t)r * (size_t)cols, g, b, cols, mean, rstd);
    }
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
        for (int j = 0; j < n16; j += 16) vstore16(vload16(0, xr + j) * scale * vload16(0, g + j), 0, yr + j);
        for (int j = n16; j < cols; ++j) yr[j] = xr[j] * scale * g[j];
    }
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
        const float var = fmax((hsum16(q16) + q) * inv_n - mean * mean, 0.0f);
        ln_write(xr, y + (size_t)r * (size_t)cols, g, b, cols, mean, rsqrt(var + eps));
    }
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
    const float var = fmax(group_sum(red, q) / (float)cols - mean * mean, 0.0f);
    const float rstd = rsqrt(var + eps);
    for (int j = lid; j < cols; j += wg) yr[j] = fma((xr[j] - mean) * rstd, g[j], b[j]);
}

/* ---- 7, 8: layernorm fused with the residual add ---- */

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
#if WRITE_SUM
#define RES_LOAD16(j) vload16(0, sr + (j))
#define RES_LOAD(j) sr[j]
#else
#define RES_LOAD16(j) (vload16(0, xr + (j)) + vload16(0, rr + (j)))
#define RES_LOAD(j) (xr[j] + rr[j])
#endif
        float16 s16 = (float16)(0.0f);
        float s = 0.0f;
        for (int j = 0; j < n16; j += 16) {
            const float16 v = vload16(0, xr + j) + vload16(0, rr + j);
#if WRITE_SUM
            vstore16(v, 0, sr + j);
#endif
            s16 += v;
        }
        for (int j = n16; j < cols; ++j) {
            const float v = xr[j] + rr[j];
#if WRITE_SUM
            sr[j] = v;
#endif
            s += v;
        }
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
            vstore16(fma(t, vload16(0, g + j), vload16(0, b + j)), 0, yr + j);
        }
        for (int j = n16; j < cols; ++j) yr[j] = fma((RES_LOAD(j) - mean) * rstd, g[j], b[j]);
#undef RES_LOAD16
#undef RES_LOAD
    }
}

__kernel void layernorm_residual_wg(__global const float *x, __global const float *res, __global const float *g,
                                    __global const float *b, __global float *y, __global float *sum,
                                    const int rows, const int cols, const float eps, __local float *red) {
    const int lid = (int)get_local_id(0), wg = (int)get_local_size(0);
    const size_t base = (size_t)get_group_id(0) * (size_t)cols;
    const __global float *xr = x + base, *rr = res + base;
    __global float *sr = sum + base, *yr = y + base;
#if WRITE_SUM
#define RES_LOAD(j) sr[j]
#else
#define RES_LOAD(j) (xr[j] + rr[j])
#endif
    float s = 0.0f;
    for (int j = lid; j < cols; j += wg) {
        const float v = xr[j] + rr[j];
#if WRITE_SUM
        sr[j] = v;
#endif
        s += v;
    }
    const float mean = group_sum(red, s) / (float)cols;
    float q = 0.0f;
    for (int j = lid; j < cols; j += wg) {
        const float d = RES_LOAD(j) - mean;
        q = fma(d, d, q);
    }
    const float rstd = rsqrt(group_sum(red, q) / (float)cols + eps);
    for (int j = lid; j < cols; j += wg) yr[j] = fma((RES_LOAD(j) - mean) * rstd, g[j], b[j]);
#undef RES_LOAD
}

/* ---- 9, 10: proportions norm, y = g * 4 tanh(x / (mean|x| + eps) / 4) ---- */

__kernel void propnorm_cpu(__global const float *x, __global const float *g, __global float *y,
                           const int rows, const int cols, const float eps, const int rows_per_item) {
    const int first = (int)get_global_id(0) * rows_per_item;
    const int last = min(rows, first + rows_per_item);
    const int n16 = cols & ~15;
    for (int r = first; r < last; ++r) {
        const __global float *xr = x + (size_t)r * (size_t)cols;
        __global float *yr = y + (size_t)r * (size_t)cols;
        float16 a16 = (float16)(0.0f);
        float a = 0.0f;
        for (int j = 0; j < n16; j += 16) a16 += fabs(vload16(0, xr + j));
        for (int j = n16; j < cols; ++j) a += fabs(xr[j]);
        /* u / 4 = x * quarter */
        const float quarter = 0.25f / ((hsum16(a16) + a) / (float)cols + eps);
        for (int j = 0; j < n16; j += 16)
            vstore16(4.0f * tanh(vload16(0, xr + j) * quarter) * vload16(0, g + j), 0, yr + j);
        for (int j = n16; j < cols; ++j) yr[j] = 4.0f * tanh(xr[j] * quarter) * g[j];
    }
}

__kernel void propnorm_wg(__global const float *x, __global const float *g, __global float *y,
                          const int rows, const int cols, const float eps, __local float *red) {
    const int lid = (int)get_local_id(0), wg = (int)get_local_size(0);
    const __global float *xr = x + (size_t)get_group_id(0) * (size_t)cols;
    __global float *yr = y + (size_t)get_group_id(0) * (size_t)cols;
    float a = 0.0f;
    for (int j = lid; j < cols; j += wg) a += fabs(xr[j]);
    const float quarter = 0.25f / (group_sum(red, a) / (float)cols + eps);
    for (int j = lid; j < cols; j += wg) yr[j] = 4.0f * tanh(xr[j] * quarter) * g[j];
}
