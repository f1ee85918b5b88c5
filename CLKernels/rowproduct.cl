/* rowproduct — a few rows of x times Wᵀ, with a row-norm prologue and the matmul epilogues:
 *   y[m, n] = epilogue( Σ_k norm(x[m])[k] · W[n, k] + bias[n] )       x [M, K], W [N, K], y [M, N]
 * NORM (-D): 0 none; 1 layernorm, (x − mean)·rsqrt(var + eps)·gain + shift (biased variance);
 * 2 rmsnorm, x·rsqrt(mean(x²) + eps)·gain. The epilogue is a runtime argument with matmul.cl's
 * codes: 0 none, 1 tanh, 2 gelu, 3 sigmoid, 4 relu, 6 residual (+ aux[m, n]). fastmath.cl is
 * prepended. Arithmetic is IEEE (no fast-math): a NaN or ±Inf in a row makes its norm NaN, as the
 * separate norm kernel's does.
 *
 * Variants:
 *   1. row_product  (every device) one work-item per (row, RP_COLS columns, -D, 16 from the host):
 *                   it computes its row's statistics (two passes over K, float16 chunks and a
 *                   scalar tail, as layernorm variant 1), then RP_COLS dot products along K in
 *                   float16 accumulators, normalising x as it loads it; columns past N are clamped
 *                   for loads and not stored. On CPUs items go in work-groups of up to 8. For
 *                   decoding (a few rows): the norm, the product, its bias, the activation and the
 *                   residual add are one launch instead of up to four; recomputing the row's
 *                   statistics per item costs 2K operations against the item's 16K multiply-adds.
 */
#ifndef NORM
#define NORM 0
#endif
#ifndef RP_COLS
#define RP_COLS 8
#endif

inline float rp_epilogue(const float v, const int act, const float addend) {
    switch (act) {
    case 1: return tanh_fast_float(v);
    case 2: return gelu_fast_float(v);
    case 3: return sigmoid_fast_float(v);
    case 4: return v < 0.0f ? 0.0f : v;
    case 6: return v + addend;
    default: return v;
    }
}

__kernel void row_product(__global const float *x, __global const float *gain, __global const float *shift,
                          __global const float *w, __global const float *bias, const int has_bias,
                          __global const float *aux, __global float *y,
                          const int M, const int N, const int K, const float eps, const int act) {
    const int n0 = get_global_id(0) * RP_COLS, m = get_global_id(1);
    if (m >= M || n0 >= N) return;
    const __global float *xr = x + (size_t)m * K;
    const int k16 = K & ~15;
    float mean = 0.0f, scale = 1.0f;
#if NORM == 1
    float16 s16 = (float16)(0.0f);
    float s = 0.0f;
    for (int k = 0; k < k16; k += 16) s16 += vload16(0, xr + k);
    for (int k = k16; k < K; ++k) s += xr[k];
    mean = (hsum16(s16) + s) / (float)K;
    float16 q16 = (float16)(0.0f);
    float q = 0.0f;
    for (int k = 0; k < k16; k += 16) {
        const float16 d = vload16(0, xr + k) - mean;
        q16 = fma(d, d, q16);
    }
    for (int k = k16; k < K; ++k) {
        const float d = xr[k] - mean;
        q = fma(d, d, q);
    }
    scale = rsqrt((hsum16(q16) + q) / (float)K + eps);
#elif NORM == 2
    float16 q16 = (float16)(0.0f);
    float q = 0.0f;
    for (int k = 0; k < k16; k += 16) {
        const float16 v = vload16(0, xr + k);
        q16 = fma(v, v, q16);
    }
    for (int k = k16; k < K; ++k) q = fma(xr[k], xr[k], q);
    scale = rsqrt((hsum16(q16) + q) / (float)K + eps);
#endif
    const __global float *rows[RP_COLS];
    for (int j = 0; j < RP_COLS; ++j) rows[j] = w + (size_t)min(n0 + j, N - 1) * K;
    float16 acc[RP_COLS];
    for (int j = 0; j < RP_COLS; ++j) acc[j] = (float16)(0.0f);
    for (int k = 0; k < k16; k += 16) {
        float16 xv = vload16(0, xr + k);
#if NORM == 1
        xv = fma((xv - mean) * scale, vload16(0, gain + k), vload16(0, shift + k));
#elif NORM == 2
        xv = xv * scale * vload16(0, gain + k);
#endif
        for (int j = 0; j < RP_COLS; ++j) acc[j] = fma(xv, vload16(0, rows[j] + k), acc[j]);
    }
    float sums[RP_COLS];
    for (int j = 0; j < RP_COLS; ++j) sums[j] = hsum16(acc[j]);
    for (int k = k16; k < K; ++k) {
        float xv = xr[k];
#if NORM == 1
        xv = fma((xv - mean) * scale, gain[k], shift[k]);
#elif NORM == 2
        xv = xv * scale * gain[k];
#endif
        for (int j = 0; j < RP_COLS; ++j) sums[j] = fma(xv, rows[j][k], sums[j]);
    }
    __global float *yr = y + (size_t)m * N;
    for (int j = 0; j < RP_COLS && n0 + j < N; ++j) {
        const float v = sums[j] + (has_bias ? bias[n0 + j] : 0.0f);
        yr[n0 + j] = rp_epilogue(v, act, act == 6 ? aux[(size_t)m * N + n0 + j] : 0.0f);
    }
}
