/* f16 — matmul with IEEE half-precision (binary16) weights: Y[M, N] = X[M, K] · Wᵀ (+ bias over
 * rows), W [N, K] stored as 2-byte halves, row-major, any K (the device layout is the host's: ggml's
 * F16 and safetensors' F16 rows as they are). X, Y and the bias are f32.
 *
 * Variants 1 and 2 read W with vload_half / a bit-exact conversion, which is core OpenCL (no
 * extension: a `half*` may always point at stored halves), and do every multiply and add in f32: the
 * product equals the f32 product with the half-rounded weights up to float32 summation order, on
 * every device. Only variant 3 does arithmetic in half and so needs cl_khr_fp16; the host builds it
 * with -DF16_ARITH=1 only on devices that report the extension.
 *
 * Variants:
 *   1. cpu (default on CPUs)      hmatmul_cpu: no local memory, no barriers, local size [1,1]. A
 *                                 work-item owns ROWS weight rows × BT rows of X and walks K sixteen
 *                                 values at a time: X's 16 floats are loaded once for the ROWS weight
 *                                 rows, each row's 16 halves become a float16 (one vcvtph2ps on
 *                                 AVX-512F, i.e. pocl on AVX-512 hosts, whose vload_half is ~20 scalar
 *                                 instructions per value; vload_half16 elsewhere), fma into float16
 *                                 accumulators, one horizontal sum per output; K mod 16 values by
 *                                 scalar vload_half. Rows past N / M are clamped for loads and not
 *                                 stored. Half the weight bytes of f32, so GEMV (bandwidth-bound)
 *                                 gains up to 2×.
 *   2. gpu (default on GPUs)      hmatmul_gpu: a work-group of WG items computes one output
 *                                 y[m, n]; item i reads halves i, i + WG, … of W's row (adjacent items,
 *                                 adjacent addresses), f32 fma, local-memory tree reduction.
 *   3. half products (cl_khr_fp16) hmatmul_half: variant 2's shape, eight values per item per step:
 *                                 X's floats rounded to half, products w·x in half (half8), each
 *                                 product widened and added in f32. For devices with fast half
 *                                 arithmetic (most GPUs: 2× float rate; only when forced); on a CPU without native half
 *                                 (AVX-512 FP16) it is emulated and slower than 1. Numerics: x and
 *                                 each product rounded to 11 significant bits (relative ≤ 2⁻¹¹ each),
 *                                 so NMSE against variant 1 ≲ 1e-6 for any data; |x·w| above 65504
 *                                 overflows to ±inf (bound HalfMatmulFamily.halfProductBound 1e-5).
 *
 * -D parameters: ROWS, BT (variant 1), WG (variants 2, 3), F16_ARITH (variant 3 is compiled only
 * with it), F16_NO_CVTPH (variant 1: vload_half16 even on AVX-512F).
 */

#ifndef ROWS
#define ROWS 4
#endif
#ifndef BT
#define BT 1
#endif
#ifndef WG
#define WG 64
#endif

/* hsum16 (the sum of a float16's lanes) comes from fastmath.cl, prepended to this file. */

/* Sixteen halves at p (2-byte aligned) → float16, exact for every value (subnormals, ±inf, NaN). */
inline float16 f16_load16(const __global ushort* p) {
#if defined(__AVX512F__) && !defined(F16_NO_CVTPH)
    return __builtin_ia32_vcvtph2ps512_mask(as_short16(vload16(0, p)), (float16)(0.0f), (ushort)0xffff, 4);
#else
    return vload_half16(0, (const __global half*)p);
#endif
}

__kernel void hmatmul_cpu(__global const float* x, __global const ushort* w,
                          __global const float* bias, const int hasBias, __global float* y,
                          const int M, const int N, const int K) {
    const int n0 = get_global_id(0) * ROWS;
    const int m0 = get_global_id(1) * BT;
    if (n0 >= N || m0 >= M) return;

    const __global ushort* wr[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; r++) wr[r] = w + (size_t)min(n0 + r, N - 1) * K;
    const __global float* xr[BT];
#pragma unroll
    for (int t = 0; t < BT; t++) xr[t] = x + (size_t)min(m0 + t, M - 1) * K;

    float16 acc[ROWS][BT];
#pragma unroll
    for (int r = 0; r < ROWS; r++)
#pragma unroll
        for (int t = 0; t < BT; t++) acc[r][t] = (float16)(0.0f);

    int k = 0;
    for (; k + 16 <= K; k += 16) {
        float16 xv[BT];
#pragma unroll
        for (int t = 0; t < BT; t++) xv[t] = vload16(0, xr[t] + k);
#pragma unroll
        for (int r = 0; r < ROWS; r++) {
            const float16 wv = f16_load16(wr[r] + k);
#pragma unroll
            for (int t = 0; t < BT; t++) acc[r][t] = fma(wv, xv[t], acc[r][t]);
        }
    }
    float tail[ROWS][BT];
#pragma unroll
    for (int r = 0; r < ROWS; r++)
#pragma unroll
        for (int t = 0; t < BT; t++) tail[r][t] = 0.0f;
    for (; k < K; k++) {
#pragma unroll
        for (int r = 0; r < ROWS; r++) {
            const float wv = vload_half(k, (const __global half*)wr[r]);
#pragma unroll
            for (int t = 0; t < BT; t++) tail[r][t] = fma(wv, xr[t][k], tail[r][t]);
        }
    }

#pragma unroll
    for (int t = 0; t < BT; t++) {
        const int m = m0 + t;
        if (m >= M) break;
#pragma unroll
        for (int r = 0; r < ROWS; r++) {
            const int n = n0 + r;
            if (n >= N) break;
            float s = hsum16(acc[r][t]) + tail[r][t];
            if (hasBias) s += bias[n];
            y[(size_t)m * N + n] = s;
        }
    }
}

/* The work-group's partial sums → y[m, n] (+ bias), by a local-memory tree. */
#define F16_REDUCE_STORE(s)                                                              \
    {                                                                                    \
        partial[lid] = (s);                                                              \
        barrier(CLK_LOCAL_MEM_FENCE);                                                    \
        for (int stride = WG / 2; stride > 0; stride >>= 1) {                            \
            if (lid < stride) partial[lid] += partial[lid + stride];                     \
            barrier(CLK_LOCAL_MEM_FENCE);                                                \
        }                                                                                \
        if (lid == 0 && n < N && m < M) y[(size_t)m * N + n] = partial[0] + (hasBias ? bias[n] : 0.0f); \
    }

__kernel void hmatmul_gpu(__global const float* x, __global const ushort* w,
                          __global const float* bias, const int hasBias, __global float* y,
                          const int M, const int N, const int K) {
    __local float partial[WG];
    const int n = get_group_id(0);
    const int m = get_global_id(1);
    const int lid = get_local_id(0);
    float s = 0.0f;
    if (n < N && m < M) {
        const __global half* wr = (const __global half*)(w + (size_t)n * K);
        const __global float* xr = x + (size_t)m * K;
        for (int k = lid; k < K; k += WG) s = fma(vload_half(k, wr), xr[k], s);
    }
    F16_REDUCE_STORE(s)
}

#ifdef F16_ARITH
#pragma OPENCL EXTENSION cl_khr_fp16 : enable

__kernel void hmatmul_half(__global const float* x, __global const ushort* w,
                           __global const float* bias, const int hasBias, __global float* y,
                           const int M, const int N, const int K) {
    __local float partial[WG];
    const int n = get_group_id(0);
    const int m = get_global_id(1);
    const int lid = get_local_id(0);
    float s = 0.0f;
    if (n < N && m < M) {
        const __global half* wr = (const __global half*)(w + (size_t)n * K);
        const __global float* xr = x + (size_t)m * K;
        float8 acc = (float8)(0.0f);
        const int k8 = K / 8;
        for (int c = lid; c < k8; c += WG) {
            const half8 p = vload8(c, wr) * convert_half8(vload8(c, xr));
            acc += convert_float8(p);
        }
        for (int k = k8 * 8 + lid; k < K; k += WG) s += (float)(wr[k] * (half)xr[k]);
        const float4 a4 = acc.lo + acc.hi;
        const float2 a2 = a4.lo + a4.hi;
        s += a2.x + a2.y;
    }
    F16_REDUCE_STORE(s)
}
#endif
