/* quant — matmul with llama.cpp block-quantized weights (q8_0, q4_0), and f32 → quantized.
 *
 * Y[M, N] = X[M, K] · Wᵀ (+ bias over rows), W [N, K] quantized in blocks of 32 along K.
 * Variants 1–3 never expand the weights to floats in memory: each dequantizes a block in
 * registers inside the dot product. Variant 4, for products with many rows of x, expands them
 * once per call into a transient scratch for the float GEMM.
 *
 * Device layout (chosen on upload by QuantMatmulFamily; the host repacks llama.cpp's
 * interleaved 34/18-byte blocks into it): one byte buffer holding
 *   [ nb fp16 scales (2 bytes each), zero-padded to a multiple of 16 bytes ]
 *   [ nb blocks of quants, QB bytes each: q8_0 32 int8, q4_0 16 bytes of nibbles ]
 * with nb = N·K/32, block (n, b) at index n·(K/32) + b, and `qoff` the byte offset of the quants.
 * Separating scales from quants makes every block's quants 16-byte aligned, so they load as one
 * or two aligned char16/uchar16 vectors (llama.cpp's 34-byte blocks leave them 2 bytes off).
 * q4_0 nibbles keep llama.cpp's order: byte j of a block holds element j (low nibble) and
 * element j + 16 (high nibble), so the low nibbles of a uchar16 are elements 0..15 and the high
 * nibbles 16..31 — two float16 vectors without any shuffle.
 *
 * Variants (one line each: what it does; when the host chooses it):
 *   1. qmatmul_cpu        blocks dequantized in registers into float16 fma dot products. CPUs, only when forced.
 *   2. qmatmul_gpu        a work-group per output, local-memory tree reduction. Default on GPUs.
 *   3. qmatmul_xq         x quantized once per call, exact integer block dot products. Default on CPUs.
 *   4. dequantize_panels  W expanded into the f32 blocked GEMM's panels. CPUs, from 256 rows of x
 *                         with at most 2^20 weights.
 *   quantize_q8_0/q4_0    f32 → the device layout, bit-exact with the host reference (any device).
 * The measurements behind these defaults: Benchmarks/results/pocl-3.1-intel-xeon-2cu/quant/README.md.
 *
 * Details:
 *   1. cpu (pocl / CPU drivers)   qmatmul_cpu: no local memory, no barriers, local size [1,1],
 *                                 many work-groups. A work-item owns ROWS weight rows × BT rows of
 *                                 X and walks K sixteen blocks at a time: the 16 fp16 scales of a
 *                                 row are converted as one vector with integer bit operations
 *                                 (pocl's vload_half is ~20 scalar instructions per value, which
 *                                 dominated the loop) and kept in private memory, from where each
 *                                 block's scale is a broadcast load; a tail of K/32 mod 16 blocks
 *                                 uses vload_half. Per block it loads X's 32 values as two float16
 *                                 (reused by every weight row) and converts the quants: q8_0 with
 *                                 convert_float16; q4_0 on AVX-512 (__AVX512F__, i.e. pocl on
 *                                 AVX-512 hosts) through a 16-entry table permute
 *                                 (__builtin_ia32_permvarsf512 of −8..7 indexed by the nibble; no
 *                                 mask, no convert, no offset), elsewhere mask + convert_float16.
 *                                 For BT = 1 (GEMV) the scale is applied once per block (fma of d
 *                                 with the block's float16 partial dot product; on the generic
 *                                 q4_0 path the −8 offset is folded into −8·Σx); for BT > 1 a
 *                                 block is dequantized once (d·(q−8)) and reused by the BT rows of
 *                                 X. Float16 accumulators, horizontal sums once at the end. Rows
 *                                 past N / M are clamped for loads and not stored. Same numerics
 *                                 as dequantize-then-float-matmul up to float32 summation order.
 *   2. gpu (work-group per output) qmatmul_gpu: a work-group of WG items computes one output
 *                                 y[m, n]: items stride over the row's blocks, partial sums are
 *                                 reduced in local memory (tree, barriers). Global (N·WG, M).
 *                                 Slow on pocl (local memory and barriers are emulated).
 *   3. cpu, x quantized           quantize_x + qmatmul_xq (two launches; x's integers and scales
 *      (pocl / CPU drivers)       in a scratch buffer the host allocates per encode). quantize_x
 *                                 rounds each 32-block of x once per call (a few items per row of
 *                                 x, each striding over the blocks): q8_0 to int16 with
 *                                 d_x = amax/32767 (int8 weight × int16 x pair sums fit int32),
 *                                 q4_0 to int8 with d_x = amax/127 (llama.cpp's q8_0 activations),
 *                                 q4_0 in four-block order (see XQ_T), plus cx = −8·d_x·Σq_x per
 *                                 block (the nibbles' offset folded out). qmatmul_xq: each
 *                                 work-item owns a contiguous range of groups of ROWS weight rows
 *                                 (the host launches ≤ 128 items along N: pocl pays per work-group);
 *                                 group g holds rows g, g + G, g + 2G, … (G groups), so each of the
 *                                 ROWS weight streams walks its own region of W sequentially (faster
 *                                 than adjacent rows g·ROWS + r at 4096²) × XT rows of x (a
 *                                 weight block loaded and unpacked once feeds XT dot products),
 *                                 16 blocks at a time with the scales d_w·d_x as one float16
 *                                 product (fp16 → float by vcvtph2ps on AVX-512F); per block an
 *                                 exact integer dot product, on AVX-512BW (__AVX512BW__, defined by
 *                                 pocl's clang on this host): q8_0 sign-extend +
 *                                 __builtin_ia32_pmaddwd512; q4_0 four blocks per 64-byte load:
 *                                 low nibbles × x's low halves and high nibbles × high halves by
 *                                 __builtin_ia32_pmaddubsw512, added, pmaddwd with ones, one
 *                                 permute of the sixteen scales; portable OpenCL C int16
 *                                 products elsewhere (and for the K/32 mod 16 tail). Each block's
 *                                 int32 partials are converted and fma'd with d_w·d_x into float16
 *                                 accumulators. Numerics differ from 1/2 by the rounding of x: NMSE
 *                                 vs the dequantize-then-float product on uniform data ≤ 2.6e-9
 *                                 (q8_0) and ~1e-5 (q4_0; up to 5.1e-4 for a single 32-term
 *                                 output), bounds 1e-8 / 1e-3 (QuantMatmulFamily.variant3Bound;
 *                                 conformance: exact / 1e-3). Automatic on CPUs for every M: GEMV
 *                                 with ROWS 6, XT 1; batched with ROWS 2, XT 4 (4 × 4 fails to
 *                                 unroll). Non-finite x: quantize_x finds a
 *                                 block's NaN by its bits (fmax drops it from amax) and its Inf by
 *                                 amax; either gives the block scale NaN, so every output of that x
 *                                 row is NaN. For NaN that is the float product's answer; for ±Inf
 *                                 the float product gives ±Inf per output (NaN where the weight is
 *                                 0), which integers cannot carry: each int32 lane of a block's
 *                                 partial dot products is scaled separately, and 0·Inf is NaN.
 *                                 Variants 1, 2 and 4 are float arithmetic on the dequantized
 *                                 weights and follow IEEE as the reference does.
 *   4. many rows of x (CPUs)      dequantize_panels + matmul.cl's matmul_blocked_nn: W is expanded
 *                                 once per call into a transient float scratch in the blocked
 *                                 GEMM's panel layout (⌈N/32⌉ panels of K × 32), which the f32
 *                                 register-blocked kernel then multiplies. The one variant that
 *                                 materialises float weights: automatic only from 256 rows of x
 *                                 with at most 2^20 weights (an evaluation batch of the GPT, 8192
 *                                 rows, runs as fast as f32 this way, while variant 3's 2 × 4
 *                                 integer tiles are compute-bound there). Same numerics as the
 *                                 dequantize-then-float product up to float32 summation order.
 *   quantize (any device)         quantize_q8_0 / quantize_q4_0: one block per work-item, f32 →
 *                                 the device layout above, bit-exact with the host reference
 *                                 (llama.cpp's rounding: q8_0 round-half-away, q4_0
 *                                 min(15, trunc(x/d + 8.5)); FP_CONTRACT off so no fma changes
 *                                 the rounding; scales stored round-to-nearest-even).
 *
 * -D parameters (defaults in brackets):
 *   QBITS [8]   8 for q8_0, 4 for q4_0.
 *   ROWS [4]    variants 1, 3: weight rows per work-item (variant 3: per row group).
 *   BT [1]      variant 1: rows of X per work-item.
 *   XT [1]      variant 3: rows of X per work-item.
 *   WG [64]     variant 2: work-group size (a power of two).
 *   QUANT_NO_PERMUTE  variant 1, q4_0: use the generic mask + convert path even on AVX-512.
 *   QUANT_PORTABLE    variant 3: use the portable OpenCL C dot products even on AVX-512BW.
 *   QUANT_NO_CVTPH    variants 1, 3: convert fp16 scales with integer bit operations even on AVX-512F.
 */

#ifndef QBITS
#define QBITS 8
#endif
#ifndef ROWS
#define ROWS 4
#endif
#ifndef BT
#define BT 1
#endif
#ifndef WG
#define WG 64
#endif
#ifndef XT
#define XT 1
#endif

/* hsum16 (the sum of a float16's lanes) and NAN_MASK come from fastmath.cl, prepended to this file. */

#if QBITS == 8
#define QB 32
#else
#define QB 16
#endif

/* Sixteen fp16 scales (raw bits) → float16 without vload_half, which pocl expands into ~20 scalar
 * integer instructions per value: the magnitude's bits shifted into a float's exponent/mantissa
 * and multiplied by 2^112 rebias the exponent and are exact for normals, subnormals and zero;
 * half inf/NaN (exponent 31) are patched to float inf/NaN; the sign is or-ed back. On AVX-512F
 * (pocl's clang defines __AVX512F__ on such hosts) one vcvtph2ps does the same exactly, instead of
 * ~10 vector instructions per sixteen scales. */
inline float16 half16_to_float16(const ushort16 h) {
#if defined(__AVX512F__) && !defined(QUANT_NO_CVTPH)
    return __builtin_ia32_vcvtph2ps512_mask(as_short16(h), (float16)(0.0f), (ushort)0xffff, 4);
#else
    const uint16 u = convert_uint16(h);
    const uint16 mag = (u & (uint16)(0x7fff)) << (uint16)(13);
    float16 f = as_float16(mag) * 0x1p112f;
    f = select(f, as_float16(mag | (uint16)(0x7f800000)), as_int16((u & (uint16)(0x7c00)) == (uint16)(0x7c00)));
    return as_float16(as_uint16(f) | ((u & (uint16)(0x8000)) << (uint16)(16)));
#endif
}

/* q4_0 nibble → float (nibble − 8): on AVX-512 a 16-entry table permute (vpermps uses only the
 * index's low 4 bits, so the low nibble needs no mask) replaces the mask + convert; elsewhere the
 * generic convert. OpenCL's shuffle() is a scalar library loop on pocl, hence the builtin. */
#if QBITS == 4 && defined(__AVX512F__) && !defined(QUANT_NO_PERMUTE)
#define Q4_PERMUTE 1
#define Q4_TABLE (float16)(-8.0f, -7.0f, -6.0f, -5.0f, -4.0f, -3.0f, -2.0f, -1.0f, 0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f)
#define Q4_LO(v) __builtin_ia32_permvarsf512(Q4_TABLE, as_int16(v))
#define Q4_HI(v) __builtin_ia32_permvarsf512(Q4_TABLE, as_int16((v) >> (uint16)(4)))
#endif

/* The 32 quants of block `blk` as two float16, minus q4_0's offset 8 (the values the fp16 scale
 * multiplies). */
#if QBITS == 8
#define LOAD_Q(q, blk, w0, w1)                                                   \
    {                                                                            \
        const __global char* p_ = (const __global char*)((q) + (size_t)(blk) * QB); \
        w0 = convert_float16(vload16(0, p_));                                    \
        w1 = convert_float16(vload16(1, p_));                                    \
    }
#elif defined(Q4_PERMUTE)
#define LOAD_Q(q, blk, w0, w1)                                                   \
    {                                                                            \
        const uint16 v_ = convert_uint16(vload16(0, (q) + (size_t)(blk) * QB));   \
        w0 = Q4_LO(v_);                                                          \
        w1 = Q4_HI(v_);                                                          \
    }
#else
#define LOAD_Q(q, blk, w0, w1)                                                   \
    {                                                                            \
        const uchar16 p_ = vload16(0, (q) + (size_t)(blk) * QB);                 \
        w0 = convert_float16(p_ & (uchar16)(15)) - 8.0f;                         \
        w1 = convert_float16(p_ >> (uchar16)(4)) - 8.0f;                         \
    }
#endif

/* GEMV: block `blk`'s unscaled dot product with x's block (xa, xb); xs = −8·Σx and xb16 = xb/16
 * serve the generic q4_0 path, which folds the offset into the sum and uses the high nibbles in
 * place (16·q). */
inline float16 gemv_part(const __global uchar* q, const size_t blk, const float16 xa, const float16 xb,
                         const float16 xs, const float16 xb16) {
#if QBITS == 8 || defined(Q4_PERMUTE)
    float16 w0, w1;
    LOAD_Q(q, blk, w0, w1);
    return fma(w0, xa, w1 * xb);
#else
    const uchar16 p = vload16(0, q + blk * QB);
    return fma(convert_float16(p & (uchar16)(15)), xa, fma(convert_float16(p & (uchar16)(0xF0)), xb16, xs));
#endif
}

#if QBITS == 4 && !defined(Q4_PERMUTE)
#define GEMV_X_EXTRA(xa, xb) const float16 xs = (xa + xb) * (-8.0f), xb16 = xb * 0.0625f
#else
#define GEMV_X_EXTRA(xa, xb) const float16 xs = (float16)(0.0f), xb16 = xs
#endif

/* One block b of every row: scale(r) gives row r's fp16 scale as a float. */
#if BT == 1
#define BLOCK_STEP(b, scale)                                                                   \
    {                                                                                          \
        const float16 xa = vload16(0, xr[0] + (b) * 32), xb = vload16(1, xr[0] + (b) * 32);   \
        GEMV_X_EXTRA(xa, xb);                                                                  \
        _Pragma("unroll") for (int r = 0; r < ROWS; r++)                                       \
            acc[r][0] = fma((float16)(scale(r)), gemv_part(q, rowBase[r] + (b), xa, xb, xs, xb16), acc[r][0]); \
    }
#else
/* x is re-read from L1 for each weight row: holding BT·32 floats in registers as well as the
 * accumulators spilled on AVX2 (16 vector registers). */
#define BLOCK_STEP(b, scale)                                                                   \
    {                                                                                          \
        _Pragma("unroll") for (int r = 0; r < ROWS; r++) {                                     \
            float16 w0, w1;                                                                    \
            LOAD_Q(q, rowBase[r] + (b), w0, w1);                                               \
            const float s_ = scale(r);                                                         \
            w0 *= s_;                                                                          \
            w1 *= s_;                                                                          \
            _Pragma("unroll") for (int t = 0; t < BT; t++)                                     \
                acc[r][t] = fma(w0, vload16(0, xr[t] + (b) * 32), fma(w1, vload16(1, xr[t] + (b) * 32), acc[r][t])); \
        }                                                                                      \
    }
#endif

__kernel void qmatmul_cpu(__global const float* x, __global const uchar* w, const int qoff,
                          __global const float* bias, const int hasBias, __global float* y,
                          const int M, const int N, const int K) {
    const int n0 = get_global_id(0) * ROWS;
    const int m0 = get_global_id(1) * BT;
    if (n0 >= N || m0 >= M) return;
    const int nb = K / 32;
    const __global ushort* d = (const __global ushort*)w;
    const __global uchar* q = w + qoff;

    size_t rowBase[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; r++) rowBase[r] = (size_t)min(n0 + r, N - 1) * nb;
    const __global float* xr[BT];
#pragma unroll
    for (int t = 0; t < BT; t++) xr[t] = x + (size_t)min(m0 + t, M - 1) * K;

    float16 acc[ROWS][BT];
#pragma unroll
    for (int r = 0; r < ROWS; r++)
#pragma unroll
        for (int t = 0; t < BT; t++) acc[r][t] = (float16)(0.0f);

    /* Sixteen blocks at a time: their scales converted as one vector and kept in private memory,
     * from where each block's scale is a broadcast load. */
    int b = 0;
    for (; b + 16 <= nb; b += 16) {
        float sc[ROWS][16];
#pragma unroll
        for (int r = 0; r < ROWS; r++) vstore16(half16_to_float16(vload16(0, d + rowBase[r] + b)), 0, sc[r]);
#pragma unroll
        for (int j = 0; j < 16; j++) {
#define CHUNK_SCALE(r) sc[r][j]
            BLOCK_STEP(b + j, CHUNK_SCALE)
#undef CHUNK_SCALE
        }
    }
    for (; b < nb; b++) {
#define TAIL_SCALE(r) vload_half(rowBase[r] + b, (const __global half*)w)
        BLOCK_STEP(b, TAIL_SCALE)
#undef TAIL_SCALE
    }

#pragma unroll
    for (int t = 0; t < BT; t++) {
        const int m = m0 + t;
        if (m >= M) break;
#pragma unroll
        for (int r = 0; r < ROWS; r++) {
            const int n = n0 + r;
            if (n >= N) break;
            float s = hsum16(acc[r][t]);
            if (hasBias) s += bias[n];
            y[(size_t)m * N + n] = s;
        }
    }
}

__kernel void qmatmul_gpu(__global const float* x, __global const uchar* w, const int qoff,
                          __global const float* bias, const int hasBias, __global float* y,
                          const int M, const int N, const int K) {
    __local float partial[WG];
    const int n = get_group_id(0);
    const int m = get_global_id(1);
    const int lid = get_local_id(0);
    const int nb = K / 32;
    const __global half* d = (const __global half*)w;
    const __global uchar* q = w + qoff;
    const __global float* xr = x + (size_t)m * K;
    float s = 0.0f;
    if (n < N && m < M) {
        for (int b = lid; b < nb; b += WG) {
            const size_t blk = (size_t)n * nb + b;
            const __global uchar* p = q + blk * QB;
            float dot = 0.0f;
#if QBITS == 8
            for (int j = 0; j < 32; j++) dot = fma((float)((const __global char*)p)[j], xr[b * 32 + j], dot);
#else
            for (int j = 0; j < 16; j++) {
                const uchar v = p[j];
                dot = fma((float)((int)(v & 15) - 8), xr[b * 32 + j], dot);
                dot = fma((float)((int)(v >> 4) - 8), xr[b * 32 + j + 16], dot);
            }
#endif
            s = fma(vload_half(blk, d), dot, s);
        }
    }
    partial[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = WG / 2; stride > 0; stride >>= 1) {
        if (lid < stride) partial[lid] += partial[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0 && n < N && m < M) y[(size_t)m * N + n] = partial[0] + (hasBias ? bias[n] : 0.0f);
}

/* ---- Variant 3: x quantized once per call, integer block dot products (CPU) ---------------- */

#if defined(__AVX512BW__) && !defined(QUANT_PORTABLE)
#define Q_AVX512BW 1
typedef char v64qi __attribute__((vector_size(64)));
typedef uchar v32qu_u __attribute__((vector_size(32), aligned(1)));
typedef uchar v64qu __attribute__((vector_size(64)));
typedef uchar v64qu_u __attribute__((vector_size(64), aligned(1)));
typedef char v64qi_u __attribute__((vector_size(64), aligned(1)));
typedef short v32hi __attribute__((vector_size(64)));
typedef short v32hi_u __attribute__((vector_size(64), aligned(2)));
typedef char v32qi_u __attribute__((vector_size(32), aligned(1)));
typedef int v16si __attribute__((vector_size(64)));
#endif

/* Block b's 32 quantized x values: q8_0 int16 in natural order at xs + b·32; q4_0 int8 in
 * four-block order, quad Q = b/4 at xs + Q·128: [b0 0..15 | b1 0..15 | b2 0..15 | b3 0..15 |
 * b0 16..31 | … | b3 16..31], so the low nibbles of four consecutive weight blocks' 64 bytes line
 * up with bytes 0..63 and the high nibbles with 64..127 (K/32 padded to a multiple of 4 with
 * zero blocks). */
#if QBITS == 8
#define XQ_T short
#define NBP(nb) (nb)
#else
#define XQ_T char
#define NBP(nb) (((nb) + 3) & ~3)
#endif

/* Portable block step (any device; the tail and the non-AVX-512BW path): the block's exact
 * integer dot product as an int16 of partial sums, then one fma with the float scale. */
#if QBITS == 8
#define PORTABLE_STEP(accv, qp, xrow, blk, bq, scale)                                            \
    {                                                                                            \
        const __global char* p_ = (const __global char*)((qp) + (size_t)(blk) * 32);             \
        const __global short* x_ = (xrow) + (bq) * 32;                                           \
        const int16 s_ = convert_int16(vload16(0, p_)) * convert_int16(vload16(0, x_))           \
                       + convert_int16(vload16(1, p_)) * convert_int16(vload16(1, x_));          \
        accv = fma(convert_float16(s_), (float16)(scale), accv);                                 \
    }
#else
#define PORTABLE_STEP(accv, qp, xrow, blk, bq, scale)                                            \
    {                                                                                            \
        const uchar16 v_ = vload16(0, (qp) + (size_t)(blk) * 16);                                \
        const __global char* x_ = (xrow) + ((bq) >> 2) * 128 + ((bq) & 3) * 16;                  \
        const int16 s_ = (convert_int16(v_ & (uchar16)(15)) - 8) * convert_int16(vload16(0, x_)) \
                       + (convert_int16(v_ >> (uchar16)(4)) - 8) * convert_int16(vload16(4, x_)); \
        accv = fma(convert_float16(s_), (float16)(scale), accv);                                 \
    }
#endif

/* x [M, K] → per 32-block integers and float scales in `xq`: values at byte 0 (row m at
 * m·NBP·32 elements), scales dx at byte xsoff ([M, NBP] floats), for q4_0 then cx = −8·dx·Σq
 * ([M, NBP] floats: the weights' −8 offset folded into one term per block). q8_0 uses int16
 * (d = amax/32767: the weights' int8 × x's int16 pair sums fit int32), q4_0 int8 (d = amax/127,
 * for pmaddubsw). Global [NBP, M]; padding blocks (odd K/32, q4_0) are written as zeros. */
__kernel void quantize_x(__global const float* x, __global uchar* xq, const int xsoff, const int M, const int K) {
    const int nb = K / 32, nbp = NBP(nb);
    __global float* dx = (__global float*)(xq + xsoff);
    /* Rows strided by the launch's height (bounded by the host), blocks by its width. */
    for (int m = get_global_id(1); m < M; m += get_global_size(1)) {
        __global XQ_T* xs = (__global XQ_T*)xq + (size_t)m * nbp * 32;
        /* Blocks strided by the global size: the host launches a few items per row of x. */
        for (int b = get_global_id(0); b < nbp; b += get_global_size(0)) {
            float16 a = (float16)(0.0f), c = (float16)(0.0f);
            if (b < nb) {
                a = vload16(0, x + (size_t)m * K + b * 32);
                c = vload16(1, x + (size_t)m * K + b * 32);
            }
            const float16 m16 = fmax(fabs(a), fabs(c));
            const float8 m8 = fmax(m16.lo, m16.hi);
            const float4 m4 = fmax(m8.lo, m8.hi);
            const float2 m2 = fmax(m4.lo, m4.hi);
            const float amax = fmax(m2.x, m2.y);
            /* Non-finite blocks (fmax dropped any NaN from amax, so test the bits). */
            const int has_nan = any(NAN_MASK(int16, a) | NAN_MASK(int16, c));
            const int has_inf = isinf(amax);
#if QBITS == 8
            float d = amax / 32767.0f;
            const float id = d != 0.0f ? 1.0f / d : 0.0f;
            float16 ra = round(a * id), rc = round(c * id);
            if (has_nan || has_inf) {
                /* Scale NaN: the integers cannot carry an Inf (each int32 lane of a block's partial
                 * dot products is scaled on its own, and a lane of 0 times Inf is NaN). */
                ra = rc = (float16)(0.0f);
                d = NAN;
            }
            vstore16(convert_short16_sat(ra), 0, xs + b * 32);
            vstore16(convert_short16_sat(rc), 1, xs + b * 32);
            dx[(size_t)m * nbp + b] = d;
#else
            float d = amax / 127.0f;
            const float id = d != 0.0f ? 1.0f / d : 0.0f;
            char16 qa = convert_char16_sat(round(a * id)), qc = convert_char16_sat(round(c * id));
            if (has_nan || has_inf) {
                /* Scale NaN, as for q8_0 (and the −8 offset folded into cx would add Inf − Inf). */
                qa = (char16)(0);
                qc = (char16)(0);
                d = NAN;
            }
            __global char* p = xs + (b >> 2) * 128 + (b & 3) * 16;
            vstore16(qa, 0, p);
            vstore16(qc, 4, p);
            const int16 s16 = convert_int16(qa) + convert_int16(qc);
            const int8 s8 = s16.lo + s16.hi;
            const int4 s4 = s8.lo + s8.hi;
            const int2 s2 = s4.lo + s4.hi;
            dx[(size_t)m * nbp + b] = d;
            dx[(size_t)M * nbp + (size_t)m * nbp + b] = -8.0f * d * (float)(s2.x + s2.y);
#endif
        }
    }
}

/* The first `count` (16 or 4, a constant after inlining) fp16 scales / floats at p as a 16-vector,
 * the rest zero: a 4-block chunk must not read past the end of its row's scales. */
inline float16 load_scales16(const __global ushort* p, const int count) {
    return half16_to_float16(count == 16 ? vload16(0, p) : (ushort16)(vload4(0, p), (ushort4)(0), (ushort8)(0)));
}
inline float16 load_floats16(const __global float* p, const int count) {
    return count == 16 ? vload16(0, p) : (float16)(vload4(0, p), (float4)(0.0f), (float8)(0.0f));
}

/* One chunk of NBLK (16 or 4) blocks at block b of every (weight row, x row) pair: the scales
 * d_w·d_x, then the blocks' integer dot products. */
#if QBITS == 4 && defined(Q_AVX512BW)
#define XQ_SCALES(NBLK)                                                                          \
    float16 sc[ROWS * XT];                                                                       \
    _Pragma("unroll")                                                                            \
    for (int r = 0; r < ROWS; r++) {                                                             \
        const float16 dw = load_scales16(d + rowBase[r] + b, NBLK);                              \
        _Pragma("unroll")                                                                        \
        for (int t = 0; t < XT; t++) {                                                           \
            sc[r * XT + t] = dw * load_floats16(dx[t] + b, NBLK);                                \
            acc[r * XT + t] = fma(dw, load_floats16(dx[t] + (size_t)M * nbp + b, NBLK), acc[r * XT + t]); \
        }                                                                                        \
    }
#else
#define XQ_SCALES(NBLK)                                                                          \
    float sc[ROWS * XT][16];                                                                     \
    _Pragma("unroll")                                                                            \
    for (int r = 0; r < ROWS; r++) {                                                             \
        const float16 dw = load_scales16(d + rowBase[r] + b, NBLK);                              \
        _Pragma("unroll")                                                                        \
        for (int t = 0; t < XT; t++) vstore16(dw * load_floats16(dx[t] + b, NBLK), 0, sc[r * XT + t]); \
    }
#endif

#if defined(Q_AVX512BW) && QBITS == 8
#define XQ_DOTS(NBLK)                                                                            \
    _Pragma("unroll")                                                                            \
    for (int j = 0; j < NBLK; j++) {                                                             \
        _Pragma("unroll")                                                                        \
        for (int r = 0; r < ROWS; r++) {                                                         \
            const v32hi wv = __builtin_convertvector(*(const __global v32qi_u*)(q + (rowBase[r] + b + j) * 32), v32hi); \
            _Pragma("unroll")                                                                    \
            for (int t = 0; t < XT; t++) {                                                       \
                const v16si s = __builtin_ia32_pmaddwd512(wv, *(const __global v32hi_u*)(xrow[t] + (b + j) * 32)); \
                acc[r * XT + t] = fma(convert_float16(as_int16(s)), (float16)(sc[r * XT + t][j]), acc[r * XT + t]); \
            }                                                                                    \
        }                                                                                        \
    }
#elif defined(Q_AVX512BW)
/* Four blocks per 64-byte load: the low nibbles (elements 0..15 of the four blocks) × x's
 * quad-order low half by pmaddubsw, the high nibbles × the high half, the two int16 pair sums
 * added (|sum| ≤ 2·2·15·127, no saturation), pmaddwd with ones into int32 sums of four: lanes
 * 4i..4i+3 belong to block j + i, scaled by a permute of the sixteen scales. */
#define XQ_DOTS(NBLK)                                                                            \
    const v32hi ones = (v32hi){1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,                   \
                               1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};                  \
    _Pragma("unroll")                                                                            \
    for (int j = 0; j < NBLK; j += 4) {                                                          \
        const int16 idx = (int16)(j, j, j, j, j + 1, j + 1, j + 1, j + 1, j + 2, j + 2, j + 2, j + 2, j + 3, j + 3, j + 3, j + 3); \
        _Pragma("unroll")                                                                        \
        for (int r = 0; r < ROWS; r++) {                                                         \
            const v64qu v = *(const __global v64qu_u*)(q + (rowBase[r] + b + j) * 16);           \
            const v64qu lo = v & (uchar)15, hi = (v >> 4) & (uchar)15;                           \
            _Pragma("unroll")                                                                    \
            for (int t = 0; t < XT; t++) {                                                       \
                const v64qi xlo = *(const __global v64qi_u*)(xrow[t] + (b + j) * 32);            \
                const v64qi xhi = *(const __global v64qi_u*)(xrow[t] + (b + j) * 32 + 64);       \
                const v32hi p = __builtin_ia32_pmaddubsw512((v64qi)lo, xlo) + __builtin_ia32_pmaddubsw512((v64qi)hi, xhi); \
                const v16si s = __builtin_ia32_pmaddwd512(p, ones);                              \
                acc[r * XT + t] = fma(convert_float16(as_int16(s)), __builtin_ia32_permvarsf512(sc[r * XT + t], idx), acc[r * XT + t]); \
            }                                                                                    \
        }                                                                                        \
    }
#else
#define XQ_DOTS(NBLK)                                                                            \
    _Pragma("unroll")                                                                            \
    for (int j = 0; j < NBLK; j++) {                                                             \
        _Pragma("unroll")                                                                        \
        for (int r = 0; r < ROWS; r++)                                                           \
            _Pragma("unroll")                                                                    \
            for (int t = 0; t < XT; t++)                                                         \
                PORTABLE_STEP(acc[r * XT + t], q, xrow[t], rowBase[r] + b + j, b + j, sc[r * XT + t][j]); \
    }
#endif
#define XQ_CHUNK(NBLK) { XQ_SCALES(NBLK) XQ_DOTS(NBLK) }

__kernel void qmatmul_xq(__global const uchar* xq, const int xsoff, __global const uchar* w, const int qoff,
                         __global const float* bias, const int hasBias, __global float* y,
                         const int M, const int N, const int K) {
    const int nb = K / 32, nbp = NBP(nb);
    const __global ushort* d = (const __global ushort*)w;
    const __global uchar* q = w + qoff;
    /* Tiles of XT rows of x, strided by the launch's height: for many rows (an 8192-row evaluation
     * batch) the host launches a bounded number of items, and each walks many tiles against its
     * weight rows (then L1/L2-resident) instead of pocl running one work-group per tile. */
    for (int m0 = get_global_id(1) * XT; m0 < M; m0 += get_global_size(1) * XT) {
        /* XT rows of x (clamped to M − 1 for loads, not stored): a weight block loaded and unpacked
         * once feeds XT integer dot products. */
        const __global XQ_T* xrow[XT];
        const __global float* dx[XT];
#pragma unroll
        for (int t = 0; t < XT; t++) {
            const int m = min(m0 + t, M - 1);
            xrow[t] = (const __global XQ_T*)xq + (size_t)m * nbp * 32;
            dx[t] = (const __global float*)(xq + xsoff) + (size_t)m * nbp;
        }

        /* Each item owns a contiguous range of row groups: the host launches far fewer items than
         * groups (pocl's per-work-group cost is then paid ~100 times, not ~1000). Group g holds the
         * ROWS rows g, g + G, g + 2G, … (G = the number of groups): each of an item's ROWS weight
         * streams then runs sequentially through its own region of W, row after adjacent row. With
         * the ROWS rows adjacent (rows g·ROWS + r), the streams would share pages and restart together
         * at every group: slower at 4096² (Benchmarks/results/pocl-3.1-intel-xeon-2cu/quant/README.md). */
        const int groups = (N + ROWS - 1) / ROWS, items = get_global_size(0), item = get_global_id(0);
        const int gq = groups / items, gr = groups % items;
        const int gBegin = item * gq + min(item, gr), gEnd = gBegin + gq + (item < gr ? 1 : 0);
        for (int g = gBegin; g < gEnd; g++) {
            size_t rowBase[ROWS];
#pragma unroll
            for (int r = 0; r < ROWS; r++) rowBase[r] = (size_t)min(r * groups + g, N - 1) * nb;
            float16 acc[ROWS * XT];
#pragma unroll
            for (int i = 0; i < ROWS * XT; i++) acc[i] = (float16)(0.0f);

            /* Sixteen blocks at a time, then four (a K of 128, the GPT's width, has only four),
             * then single blocks. */
            int b = 0;
            for (; b + 16 <= nb; b += 16) XQ_CHUNK(16)
            for (; b + 4 <= nb; b += 4) XQ_CHUNK(4)
            for (; b < nb; b++) {
#pragma unroll
                for (int r = 0; r < ROWS; r++) {
                    const float dwTail = vload_half(rowBase[r] + b, (const __global half*)w);
#pragma unroll
                    for (int t = 0; t < XT; t++) PORTABLE_STEP(acc[r * XT + t], q, xrow[t], rowBase[r] + b, b, dwTail * dx[t][b]);
                }
            }

#pragma unroll
            for (int t = 0; t < XT; t++) {
                const int m = m0 + t;
                if (m >= M) break;
#pragma unroll
                for (int r = 0; r < ROWS; r++) {
                    const int n = r * groups + g;
                    if (n >= N) break;  /* n grows with r */
                    float s = hsum16(acc[r * XT + t]);
                    if (hasBias) s += bias[n];
                    y[(size_t)m * N + n] = s;
                }
            }
        }
    }
}

/* Variant 4: W in the device layout → the panels matmul.cl's blocked kernels read, ⌈N/32⌉ panels
 * of K × 32 floats (element (k, j) of panel p is W[32p + j, k]; zero past N). Global [⌈N/32⌉,
 * K/32]: one item per (panel, block), writing one contiguous 4 KiB stretch of its panel. Each
 * value is d·q (q4_0: d·(q − 8)) in float, as the host's dequantize computes it. */
__kernel void dequantize_panels(__global const uchar* w, const int qoff, __global float* panels, const int N, const int K) {
    const int panel = get_global_id(0), b = get_global_id(1);
    const int nb = K / 32;
    if (b >= nb) return;
    const __global uchar* q = w + qoff;
    __global float* dst = panels + ((size_t)panel * K + (size_t)b * 32) * 32;
    for (int j = 0; j < 32; j++) {
        const int n = panel * 32 + j;
        float values[32];
        float16 lo = (float16)(0.0f), hi = (float16)(0.0f);
        if (n < N) {
            const size_t blk = (size_t)n * nb + b;
            LOAD_Q(q, blk, lo, hi);
            const float d = vload_half(blk, (const __global half*)w);
            lo *= d;
            hi *= d;
        }
        vstore16(lo, 0, values);
        vstore16(hi, 1, values);
        for (int e = 0; e < 32; e++) dst[e * 32 + j] = values[e];
    }
}

#pragma OPENCL FP_CONTRACT OFF

__kernel void quantize_q8_0(__global const float* x, __global uchar* w, const int qoff, const int nblocks) {
    const int blk = get_global_id(0);
    if (blk >= nblocks) return;
    const float16 a = vload16(0, x + (size_t)blk * 32), b = vload16(1, x + (size_t)blk * 32);
    const float16 m16 = fmax(fabs(a), fabs(b));
    const float8 m8 = fmax(m16.lo, m16.hi);
    const float4 m4 = fmax(m8.lo, m8.hi);
    const float2 m2 = fmax(m4.lo, m4.hi);
    const float amax = fmax(m2.x, m2.y);
    const float dd = amax / 127.0f;
    const float id = dd != 0.0f ? 1.0f / dd : 0.0f;
    vstore_half_rte(dd, blk, (__global half*)w);
    __global char* p = (__global char*)(w + qoff + (size_t)blk * 32);
    vstore16(convert_char16_sat(round(a * id)), 0, p);
    vstore16(convert_char16_sat(round(b * id)), 1, p);
}

__kernel void quantize_q4_0(__global const float* x, __global uchar* w, const int qoff, const int nblocks) {
    const int blk = get_global_id(0);
    if (blk >= nblocks) return;
    const __global float* xb = x + (size_t)blk * 32;
    float amax = 0.0f, mx = 0.0f;
    for (int j = 0; j < 32; j++) {
        const float v = xb[j];
        if (fabs(v) > amax) { amax = fabs(v); mx = v; }
    }
    const float dd = mx / -8.0f;
    const float id = dd != 0.0f ? 1.0f / dd : 0.0f;
    vstore_half_rte(dd, blk, (__global half*)w);
    const float16 a = vload16(0, xb) * id, b = vload16(1, xb) * id;
    /* x/d + 8.5 lies in [0.5, 16.5]: truncation toward zero is the conversion's default. */
    const uchar16 lo = convert_uchar16_sat(min(convert_int16(a + 8.5f), (int16)(15)));
    const uchar16 hi = convert_uchar16_sat(min(convert_int16(b + 8.5f), (int16)(15)));
    vstore16(lo | (hi << (uchar16)(4)), 0, w + qoff + (size_t)blk * 16);
}
