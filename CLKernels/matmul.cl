/* matmul — batched C[b] = A[b]·B[b] (+ bias over rows), fp32, row-major, contiguous.
 *
 * Shapes: A is [M, K] ([K, M] when transposed), B is [K, N] ([N, K] when transposed, the
 * `linear` layout x·Wᵀ), C is [M, N], bias has N elements. Batches are contiguous; a batch
 * stride of 0 for B shares one B (a weight matrix) across every batch.
 *
 * Variants (one line each: what it does; when the host chooses it):
 *   1. matmul_simple   one output per work-item, scalar fma loop. Baseline, any device; only when forced.
 *   2. cpu blocked     TM×32 register tiles over B packed into 32-column panels; few rows read B in
 *                      place or run dot products. Default on CPUs (paths and sizes: MatmulTuning,
 *                      tuned per device by `clbench tune matmul`).
 *   3. matmul_tiled    GPU: local-memory tiles, a register tile per work-item. Default on GPUs.
 * The measurements behind the CPU defaults: Benchmarks/results/<device>/matmul/README.md.
 *
 * Details:
 *   1. simple (any device)      matmul_simple: one output element per work-item, scalar fma
 *                               loop over K. The obviously-correct baseline. 1-D launch over
 *                               batch·M·N (rounded up, bounds-checked).
 *   2. cpu register-blocked     (pocl / CPU drivers) no local memory, no barriers: launch with
 *                               local size [1,1,1] and many work-groups (pocl runs one work-group
 *                               per thread). Three paths, chosen by the host on M:
 *      a. M ≥ packMinRows       matmul_pack_b + matmul_blocked_{nn,tn}[_r1]: B is first packed
 *                               (and transposed, for B [N, K]) into zero-padded 32-column panels
 *                               [panel][K][32] in a scratch buffer, so the compute kernel streams
 *                               one contiguous panel per work-item (B rows 4 KiB apart thrash the
 *                               cache). Each work-item owns one panel and rowTiles tiles of TM rows:
 *                               TM×32 outputs in 2·TM float16 accumulators (the row loop is force-
 *                               unrolled: without it pocl keeps the accumulators on the stack), fma,
 *                               K in blocks of kBlock so a [kBlock][32] slice of the
 *                               panel stays in L1 while every row tile reuses it (partial sums go
 *                               through C between K blocks).
 *      b. few rows, B [K, N]    matmul_direct_{nn,tn}[_r1]: the same kernel reading B's rows in
 *                               place (no pack step; the last panel masked at N).
 *      d. B [N, K], inline      matmul_inline_{nt,tt}[_r1]: path a without the pack launch: each
 *         (tuning choice)       work-item transposes its panel's K block from B's rows into a
 *                               private [kBlock][32] slice (16×16 register transposes), then runs
 *                               the blocked loop from it. Costs a transpose per row group instead
 *                               of one pack, but no scratch buffer round trip through global memory
 *                               (a cross-core write and read on pocl) and no launch gap.
 *      c. few rows, B [N, K]    matmul_dot_{nt,tt}[_tile]: x·Wᵀ / GEMV: 1 row × 8 columns (M < 4) or
 *                               DOT_ROWS × DOT_COLS per work-item (_tile), DOT_W-wide dot products
 *                               along K straight from B (each B chunk reused by the rows), scalar K tail;
 *                               1-row items go in work-groups of up to 8 on CPUs (fewer groups to dispatch).
 *                               Edges: rows past M are clamped for loads and not stored; columns
 *                               past N are zero in the packed panel (clamped in c) and masked on store.
 *                               _nn reads A [M, K] (broadcast scalars), _tn reads A [K, M];
 *                               _r1 / _r4 are 1- and 4-row tiles for M < TM (few wasted rows).
 *                               Which path runs is a tuning choice (packMinRows, packMinRowsTransposedB).
 *                               Work-items walk sweeps of panelGroup panels × all row tiles (B panels
 *                               of a sweep stay in cache; A streams once per sweep): tuned, runtime arg.
 *   3. gpu local-memory tiled   matmul_tiled: a work-group of (TSN/WPTN)×(TSM/WPTM) items stages
 *                               TSM×TSK of A and TSK×TSN of B in local memory (rows padded by
 *                               LPAD floats against bank conflicts), barriers, each item keeps a
 *                               WPTM×WPTN register tile strided by the group size (conflict-free
 *                               local reads, coalesced stores). All loads bounds-checked (zero fill).
 *                               Slow on pocl (local memory and barriers are emulated).
 *
 * -D parameters (defaults in brackets):
 *   TM [8]            variant 2: rows per register tile (2·TM float16 accumulators live).
 *   NT_KB [160]       variant 2 inline path (d): most K rows of a private panel slice (the host
 *                     keeps kBlock within it; 160 rows are 20 KiB).
 *   DOT_ROWS [4], DOT_COLS [4], DOT_W [16]   variant 2 dot path (c, _tile kernels): rows × columns
 *                     per work-item and the vector width (8 or 16) of the dot products.
 *   All of these, the runtime K block / row tiles per item / pack thresholds, and the variant
 *   itself are tuned per device and shape class by `clbench tune matmul` (MatmulTuning).
 *   TSM [64], TSN [64], TSK [16], WPTM [4], WPTN [4], LPAD [1]   variant 3 tile geometry;
 *                     the work-group must be (TSN/WPTN, TSM/WPTM, 1).
 * Runtime arguments carry sizes, transposes, batch strides, the activation epilogue (act: 0 none,
 * 1 tanh, 2 gelu, 3 sigmoid, 4 relu, 5 tanh backward, 6 residual add and 7 gelu backward, each reading
 * its aux matrix, 8 gelu writing its input to aux; fastmath.cl is prepended to this file), and for variant 2
 * the number of row tiles per work-item and the K block length, so one build serves every shape.
 *
 * Non-finite values: every variant is plain IEEE fma over the real K terms, so a NaN or ±Inf in A
 * row i (or B column j) reaches exactly the outputs the reference's products reach (0·Inf = NaN).
 * Padding lanes (zero panel columns, clamped rows) only feed outputs that are never stored. The
 * epilogues keep NaN (relu by compare-and-select: fmax(NaN, 0) would be 0; tanh/gelu/sigmoid
 * through fastmath.cl's NaN-preserving helpers) and give the math's limits at ±Inf.
 */

#ifndef TM
#define TM 8
#endif
#ifndef DOT_ROWS
#define DOT_ROWS 4
#endif
#ifndef DOT_COLS
#define DOT_COLS 4
#endif
#ifndef DOT_W
#define DOT_W 16
#endif
#ifndef TSM
#define TSM 64
#endif
#ifndef TSN
#define TSN 64
#endif
#ifndef TSK
#define TSK 16
#endif
#ifndef WPTM
#define WPTM 4
#endif
#ifndef WPTN
#define WPTN 4
#endif
#ifndef LPAD
#define LPAD 1
#endif
#ifndef NT_KB
#define NT_KB 160
#endif

/* Activation epilogue (runtime argument `act`, the same in every variant): applied to C after
 * the bias, on the last K block only, with fastmath.cl's functions, so a fused matmul + bias +
 * activation gives exactly what the separate elementwise kernel would. ACT_TANH_BACKWARD reads
 * a second [M, N] matrix `aux` (y, a tanh's output) and stores C·(1 − y²): the gradient through
 * that tanh, so dy·Wᵀ and the tanh backward are one launch. ACT_RESIDUAL stores C + aux: a
 * residual add (x + x·Wᵀ + b, or a gradient accumulated into another) in the same launch.
 * ACT_GELU_BACKWARD reads aux = x, a gelu's input, and stores C·gelu′(x) (fastmath.cl's
 * gelu_slope: the gradient through that gelu, as autograd composes it). ACT_GELU_STORING_INPUT
 * writes C (after the bias) to aux and gelu(C) to c: a gelu whose input the backward reads too
 * (training's MLP), one launch and one pass fewer than the product and a separate gelu. */
#define ACT_NONE 0
#define ACT_TANH 1
#define ACT_GELU 2
#define ACT_SIGMOID 3
#define ACT_RELU 4
#define ACT_TANH_BACKWARD 5
#define ACT_RESIDUAL 6
#define ACT_GELU_BACKWARD 7
#define ACT_GELU_STORING_INPUT 8
#define ACT_READS_AUX(act) ((act) >= ACT_TANH_BACKWARD && (act) <= ACT_GELU_BACKWARD)
#define ACT_WRITES_AUX(act) ((act) == ACT_GELU_STORING_INPUT)
inline float activation(const float x, const int act, const float y) {
    switch (act) {
    case ACT_TANH_BACKWARD: return x * (1.0f - y * y);
    case ACT_RESIDUAL: return x + y;
    case ACT_GELU_BACKWARD: return x * gelu_slope_float(y);
    case ACT_TANH: return tanh_fast_float(x);
    case ACT_GELU: case ACT_GELU_STORING_INPUT: return gelu_fast_float(x);
    case ACT_SIGMOID: return sigmoid_fast_float(x);
    case ACT_RELU: return x < 0.0f ? 0.0f : x;   /* relu(NaN) = NaN; fmax would give 0 */
    default: return x;
    }
}
inline float16 activation16(const float16 x, const int act, const float16 y) {
    switch (act) {
    case ACT_TANH_BACKWARD: return x * ((float16)(1.0f) - y * y);
    case ACT_RESIDUAL: return x + y;
    case ACT_GELU_BACKWARD: return x * gelu_slope_float16(y);
    case ACT_TANH: return tanh_fast_float16(x);
    case ACT_GELU: case ACT_GELU_STORING_INPUT: return gelu_fast_float16(x);
    case ACT_SIGMOID: return sigmoid_fast_float16(x);
    case ACT_RELU: return select(x, (float16)(0.0f), x < (float16)(0.0f));
    default: return x;
    }
}

/* ---------------------------------------------------------------- variant 1: simple */

__kernel void matmul_simple(__global const float *a, __global const float *b, __global float *c,
                            __global const float *bias, const int hasBias,
                            const int batch, const int M, const int N, const int K,
                            const int transA, const int transB, const long strideB, const int act,
                            __global float *aux) {
    const size_t gid = get_global_id(0);
    const size_t mn = (size_t)M * (size_t)N;
    if (gid >= mn * (size_t)batch) return;
    const size_t bt = gid / mn;
    const size_t rest = gid - bt * mn;
    const int row = (int)(rest / (size_t)N);
    const int col = (int)(rest - (size_t)row * (size_t)N);
    const __global float *ab = a + bt * (size_t)M * (size_t)K;
    const __global float *bb = b + bt * (size_t)strideB;
    float sum = hasBias ? bias[col] : 0.0f;
    for (int p = 0; p < K; ++p) {
        const float av = transA ? ab[(size_t)p * M + row] : ab[(size_t)row * K + p];
        const float bv = transB ? bb[(size_t)col * K + p] : bb[(size_t)p * N + col];
        sum = fma(av, bv, sum);
    }
    if (ACT_WRITES_AUX(act)) aux[gid] = sum;
    c[gid] = activation(sum, act, ACT_READS_AUX(act) ? aux[gid] : 0.0f);
}

/* ---------------------------------------------------------------- variant 2: CPU blocked */

/* In-register transpose of a 16×16 block (r[i] row i in, column i out): four stages of
 * shuffle2, each swapping off-diagonal sub-blocks of half the previous size (8, 4, 2, 1) —
 * 64 two-source permutes instead of 256 scalar moves through private memory. */
inline void transpose16x16(float16 *r) {
    const uint16 lo8 = (uint16)(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
    const uint16 hi8 = lo8 + (uint16)(8);
    const uint16 lo4 = (uint16)(0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
    const uint16 hi4 = lo4 + (uint16)(4);
    const uint16 lo2 = (uint16)(0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29);
    const uint16 hi2 = lo2 + (uint16)(2);
    const uint16 lo1 = (uint16)(0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
    const uint16 hi1 = lo1 + (uint16)(1);
    float16 t[16];
    #pragma unroll
    for (int i = 0; i < 8; ++i) { t[i] = shuffle2(r[i], r[i + 8], lo8); t[i + 8] = shuffle2(r[i], r[i + 8], hi8); }
    #pragma unroll
    for (int i = 0; i < 16; ++i) if ((i & 4) == 0) { r[i] = shuffle2(t[i], t[i + 4], lo4); r[i + 4] = shuffle2(t[i], t[i + 4], hi4); }
    #pragma unroll
    for (int i = 0; i < 16; ++i) if ((i & 2) == 0) { t[i] = shuffle2(r[i], r[i + 2], lo2); t[i + 2] = shuffle2(r[i], r[i + 2], hi2); }
    #pragma unroll
    for (int i = 0; i < 16; ++i) if ((i & 1) == 0) { r[i] = shuffle2(t[i], t[i + 1], lo1); r[i + 1] = shuffle2(t[i], t[i + 1], hi1); }
}

/* Packs B (one batch per get_global_id(2)) into panels [panel][K][32], zero past N.
 * Work-item: one panel × 16 consecutive k. packedStride = nPanels·K·32 per batch. */
__kernel void matmul_pack_b(__global const float *b, __global float16 *packed,
                            const int N, const int K, const int transB) {
    const int panel = get_global_id(0);
    const int k0 = get_global_id(1) * 16;
    const size_t bt = get_global_id(2);
    const int nPanels = get_global_size(0);
    const int n0 = panel * 32;
    const __global float *src = b + bt * (size_t)N * (size_t)K;
    __global float16 *dst = packed + (bt * (size_t)nPanels + panel) * (size_t)K * 2;
    const int kCount = min(16, K - k0);
    if (kCount <= 0) return;
    if (!transB) {
        if (n0 + 32 <= N) {
            for (int kk = 0; kk < kCount; ++kk) {
                const __global float *row = src + (size_t)(k0 + kk) * N + n0;
                dst[(size_t)(k0 + kk) * 2] = vload16(0, row);
                dst[(size_t)(k0 + kk) * 2 + 1] = vload16(1, row);
            }
        } else {
            for (int kk = 0; kk < kCount; ++kk) {
                const __global float *row = src + (size_t)(k0 + kk) * N;
                float t[32];
                for (int j = 0; j < 32; ++j) t[j] = (n0 + j < N) ? row[n0 + j] : 0.0f;
                dst[(size_t)(k0 + kk) * 2] = vload16(0, t);
                dst[(size_t)(k0 + kk) * 2 + 1] = vload16(1, t);
            }
        }
    } else {
        /* B is [N, K]: column j of the panel is row n0+j of B; move a 32×16 block through
         * private memory with vector loads and stores (scattered scalar stores are slow). */
        if (n0 + 32 <= N && kCount == 16) {
            /* two 16×16 blocks (panel columns 0-15 and 16-31) transposed in registers */
            #pragma unroll
            for (int side = 0; side < 2; ++side) {
                float16 r[16];
                #pragma unroll
                for (int j = 0; j < 16; ++j) r[j] = vload16(0, src + (size_t)(n0 + 16 * side + j) * K + k0);
                transpose16x16(r);
                #pragma unroll
                for (int kk = 0; kk < 16; ++kk) dst[(size_t)(k0 + kk) * 2 + side] = r[kk];
            }
            return;
        }
        float t[32 * 16];
        for (int j = 0; j < 32; ++j) {
            const int n = n0 + j;
            const __global float *row = src + (size_t)n * K + k0;
            for (int kk = 0; kk < 16; ++kk) t[j * 16 + kk] = (n < N && kk < kCount) ? row[kk] : 0.0f;
        }
        for (int kk = 0; kk < kCount; ++kk) {
            float o[32];
            for (int j = 0; j < 32; ++j) o[j] = t[j * 16 + kk];
            dst[(size_t)(k0 + kk) * 2] = vload16(0, o);
            dst[(size_t)(k0 + kk) * 2 + 1] = vload16(1, o);
        }
    }
}

/* Loads 32 floats of a C row from column n0 (zero past N). */
inline void load_c_row(const __global float *row, const int n0, const int N, float16 *lo, float16 *hi) {
    if (n0 + 32 <= N) {
        *lo = vload16(0, row + n0);
        *hi = vload16(1, row + n0);
    } else {
        float t[32];
        for (int j = 0; j < 32; ++j) t[j] = (n0 + j < N) ? row[n0 + j] : 0.0f;
        *lo = vload16(0, t);
        *hi = vload16(1, t);
    }
}

/* Stores 32 floats of a C row at column n0, masked at N. */
inline void store_c_row(__global float *row, const int n0, const int N, const float16 lo, const float16 hi) {
    if (n0 + 32 <= N) {
        vstore16(lo, 0, row + n0);
        vstore16(hi, 1, row + n0);
    } else {
        float t[32];
        vstore16(lo, 0, t);
        vstore16(hi, 1, t);
        for (int j = 0; j < 32 && n0 + j < N; ++j) row[n0 + j] = t[j];
    }
}

/* Fills slice[2·(k − kb) + side] (k in [kb, kend)) with columns n0 + 16·side .. +15 of the
 * panel, read from B [N, K] rows in place: 16×16 blocks transposed in registers, zero past N;
 * a K tail shorter than 16 goes element by element. The slice lives in private memory (L1 of
 * the core that uses it), so no packed copy of B goes through global memory or a launch. */
inline void transpose_panel_slice(const __global float *src, const int n0, const int N, const int K,
                                  const int kb, const int kend, float16 *slice) {
    for (int side = 0; side < 2; ++side) {
        const int c0 = n0 + 16 * side;
        int k = kb;
        for (; k + 16 <= kend; k += 16) {
            float16 r[16];
            #pragma unroll
            for (int j = 0; j < 16; ++j) {
                const float16 row = vload16(0, src + (size_t)min(c0 + j, N - 1) * K + k);
                r[j] = c0 + j < N ? row : (float16)(0.0f);
            }
            transpose16x16(r);
            #pragma unroll
            for (int kk = 0; kk < 16; ++kk) slice[2 * (k - kb + kk) + side] = r[kk];
        }
        for (; k < kend; ++k) {
            float t[16];
            for (int j = 0; j < 16; ++j) t[j] = c0 + j < N ? src[(size_t)(c0 + j) * K + k] : 0.0f;
            slice[2 * (k - kb) + side] = vload16(0, t);
        }
    }
}

/* The blocked kernel body, specialised by row-tile height ROWS, A layout TRANS_A and B source
 * BSRC: 0 reads the packed panels [panel][K][32] (bStride = floats per packed batch), 1 reads
 * B [K, N] in place (bStride = K·N, or 0 when shared; the last panel masked at N), 2 reads
 * B [N, K] in place and transposes each K block of its panel into a private slice first
 * (bStride = N·K or 0; kBlock ≤ NT_KB).
 * Launch: global [ceil(N/32)·rowGroups, 1, batch] (rowGroups = ceil(ceil(M/ROWS)/rowTiles)), local [1, 1, 1]. */
#define MATMUL_BLOCKED(NAME, ROWS, TRANS_A, BSRC)                                                  \
__kernel void NAME(__global const float *a, __global const float *b, __global float *c,            \
                   __global const float *bias, const int hasBias,                                  \
                   const int M, const int N, const int K, const long bStride,                     \
                   const int rowTiles, const int kBlock, const int rowGroups, const int panelGroup, \
                   const int act, __global float *aux) {                                     \
    /* Work-item order: sweeps of panelGroup panels × every row group, panels fastest, so the  \
     * panels of a sweep stay in cache while A streams once per sweep (panelGroup ≥ panels: one \
     * sweep, all panels per row group; large N then re-streams all of B per row group). */     \
    const int nPanels = (N + 31) / 32;                                                             \
    const int sweepPanels = min(panelGroup, nPanels);                                              \
    const int sweep = get_global_id(0) / (sweepPanels * rowGroups);                                \
    const int within = get_global_id(0) - sweep * sweepPanels * rowGroups;                         \
    const int width = min(sweepPanels, nPanels - sweep * sweepPanels);                             \
    const int panel = sweep * sweepPanels + within % width;                                        \
    const int rowStart = (within / width) * rowTiles * ROWS;                                       \
    const size_t bt = get_global_id(2);                                                            \
    const int n0 = panel * 32;                                                                     \
    const __global float *ab = a + bt * (size_t)M * (size_t)K;                                     \
    const int ldb = BSRC == 1 ? N : 32;                                                            \
    const int full = BSRC != 1 || n0 + 32 <= N;                                                    \
    const __global float *bp = b + bt * (size_t)bStride                                            \
        + (BSRC == 1 ? (size_t)n0 : BSRC == 0 ? (size_t)panel * K * 32 : 0);                      \
    float16 slice[BSRC == 2 ? 2 * NT_KB : 1];                                                      \
    __global float *cb = c + bt * (size_t)M * (size_t)N;                                           \
    float16 bias0 = (float16)(0.0f), bias1 = (float16)(0.0f);                                      \
    if (hasBias) load_c_row(bias, n0, N, &bias0, &bias1);                                          \
    for (int kb = 0; kb < K; kb += kBlock) {                                                       \
        const int kend = min(kb + kBlock, K);                                                      \
        if (BSRC == 2) transpose_panel_slice(bp, n0, N, K, kb, kend, slice);                       \
        for (int t = 0; t < rowTiles; ++t) {                                                       \
            const int r0 = rowStart + t * ROWS;                                                    \
            if (r0 >= M) break;                                                                    \
            int rr[ROWS];                                                                          \
            float16 acc0[ROWS], acc1[ROWS];                                                        \
            _Pragma("unroll")                                                                      \
            for (int i = 0; i < ROWS; ++i) {                                                       \
                rr[i] = min(r0 + i, M - 1);                                                        \
                if (kb == 0) { acc0[i] = bias0; acc1[i] = bias1; }                                 \
                else load_c_row(cb + (size_t)rr[i] * N, n0, N, &acc0[i], &acc1[i]);                \
            }                                                                                      \
            for (int k = kb; k < kend; ++k) {                                                      \
                float16 b0, b1;                                                                    \
                if (BSRC == 2) {                                                                   \
                    b0 = slice[2 * (k - kb)];                                                      \
                    b1 = slice[2 * (k - kb) + 1];                                                  \
                } else if (full) {                                                                 \
                    b0 = vload16(0, bp + (size_t)k * ldb);                                         \
                    b1 = vload16(1, bp + (size_t)k * ldb);                                         \
                } else {                                                                           \
                    load_c_row(bp - n0 + (size_t)k * ldb, n0, N, &b0, &b1);                        \
                }                                                                                  \
                _Pragma("unroll")                                                                  \
                for (int i = 0; i < ROWS; ++i) {                                                   \
                    const float av = TRANS_A ? ab[(size_t)k * M + rr[i]] : ab[(size_t)rr[i] * K + k]; \
                    acc0[i] = fma((float16)(av), b0, acc0[i]);                                     \
                    acc1[i] = fma((float16)(av), b1, acc1[i]);                                     \
                }                                                                                  \
            }                                                                                      \
            if (act != ACT_NONE && kend == K) {                                                    \
                _Pragma("unroll")                                                                  \
                for (int i = 0; i < ROWS; ++i) {                                                   \
                    float16 y0 = (float16)(0.0f), y1 = (float16)(0.0f);                            \
                    if (ACT_READS_AUX(act))                                                       \
                        load_c_row(aux + (bt * (size_t)M + rr[i]) * (size_t)N, n0, N, &y0, &y1);   \
                    if (ACT_WRITES_AUX(act) && r0 + i < M)                                         \
                        store_c_row(aux + (bt * (size_t)M + r0 + i) * (size_t)N, n0, N, acc0[i], acc1[i]); \
                    acc0[i] = activation16(acc0[i], act, y0);                                      \
                    acc1[i] = activation16(acc1[i], act, y1);                                      \
                }                                                                                  \
            }                                                                                      \
            _Pragma("unroll")                                                                      \
            for (int i = 0; i < ROWS; ++i)                                                         \
                if (r0 + i < M) store_c_row(cb + (size_t)(r0 + i) * N, n0, N, acc0[i], acc1[i]);   \
        }                                                                                          \
    }                                                                                              \
}

MATMUL_BLOCKED(matmul_blocked_nn, TM, 0, 0)
MATMUL_BLOCKED(matmul_blocked_tn, TM, 1, 0)
MATMUL_BLOCKED(matmul_blocked_nn_r1, 1, 0, 0)
MATMUL_BLOCKED(matmul_blocked_tn_r1, 1, 1, 0)
MATMUL_BLOCKED(matmul_direct_nn, TM, 0, 1)
MATMUL_BLOCKED(matmul_direct_tn, TM, 1, 1)
MATMUL_BLOCKED(matmul_direct_nn_r1, 1, 0, 1)
MATMUL_BLOCKED(matmul_direct_tn_r1, 1, 1, 1)
MATMUL_BLOCKED(matmul_direct_nn_r4, 4, 0, 1)
MATMUL_BLOCKED(matmul_direct_tn_r4, 4, 1, 1)
MATMUL_BLOCKED(matmul_inline_nt, TM, 0, 2)
MATMUL_BLOCKED(matmul_inline_tt, TM, 1, 2)
MATMUL_BLOCKED(matmul_inline_nt_r1, 1, 0, 2)
MATMUL_BLOCKED(matmul_inline_tt_r1, 1, 1, 2)

/* Small M with B [N, K] (x·Wᵀ for a few rows, GEMV): no pack, B read in place.
 * Work-item: DR rows × DC columns, DOT_W-wide dot products along K (each B chunk reused by DR
 * rows, each A chunk by DC columns), scalar K tail. Rows past M and columns past N are clamped
 * for loads and not stored. DR·DC accumulators of DOT_W floats must fit the register file
 * (AVX-512: 16 float16; AVX2 has half the vector registers: smaller tiles or DOT_W 8).
 * Launch: global [ceil(N/DC), ceil(ceil(M/DR)/rowTiles), batch], local [1, 1, 1]. */
#if DOT_W == 16
#define DOTV float16
#define DOT_VLOAD vload16
#define DOT_HSUM_TILE(ACC, OUT, DR, DC) dot_hsum_tile16(&ACC[0][0], &OUT[0][0], DR * DC)
#elif DOT_W == 8
#define DOTV float8
#define DOT_VLOAD vload8
#define DOT_HSUM_TILE(ACC, OUT, DR, DC) dot_hsum_tile8(&ACC[0][0], &OUT[0][0], DR * DC)
#else
#error "DOT_W must be 8 or 16"
#endif

inline float dot_hsum8(const float8 v) {
    const float4 q = v.lo + v.hi;
    return (q.x + q.y) + (q.z + q.w);
}
inline float dot_hsum16(const float16 v) { return dot_hsum8(v.lo + v.hi); }

/* Horizontal sums of 16 float16 accumulators at once: lane l of the result is the sum of v[l].
 * Four levels of pairwise folds (each halves every accumulator's lanes and packs two into one
 * vector): 15 folds instead of 16 separate horizontal sums (~10 instructions each), which would cost
 * a third of a 8×3 dot tile's time at K = 512 on pocl). */
inline float16 dot_fold4(const float16 x, const float16 y) {
    return (float16)(x.s0123 + x.s4567, x.s89ab + x.scdef, y.s0123 + y.s4567, y.s89ab + y.scdef);
}
inline float16 dot_fold2(const float16 x, const float16 y) {
    return (float16)(x.s01 + x.s23, x.s45 + x.s67, x.s89 + x.sab, x.scd + x.sef,
                     y.s01 + y.s23, y.s45 + y.s67, y.s89 + y.sab, y.scd + y.sef);
}
__attribute__((always_inline)) inline float16 dot_hsum16x16(const float16 *v) {
    float16 u[8], w[4], z[2];
    #pragma unroll
    for (int p = 0; p < 8; ++p) u[p] = (float16)(v[2 * p].lo + v[2 * p].hi, v[2 * p + 1].lo + v[2 * p + 1].hi);
    #pragma unroll
    for (int q = 0; q < 4; ++q) w[q] = dot_fold4(u[2 * q], u[2 * q + 1]);
    #pragma unroll
    for (int r = 0; r < 2; ++r) z[r] = dot_fold2(w[2 * r], w[2 * r + 1]);
    return (float16)(z[0].even + z[0].odd, z[1].even + z[1].odd);
}

/* out[f] = horizontal sum of acc[f] for f < count (count is a compile-time constant at each use,
 * so the groups of 16 and the zero padding of the last one fold away). */
__attribute__((always_inline)) inline void dot_hsum_tile16(const float16 *acc, float *out, const int count) {
    /* no unroll pragma here: count is constant only once inlined (the loop is fully unrolled then) */
    for (int g = 0; g < count; g += 16) {
        float16 group[16];
        #pragma unroll
        for (int l = 0; l < 16; ++l) group[l] = g + l < count ? acc[g + l] : (float16)(0.0f);
        const float16 s = dot_hsum16x16(group);
        float lanes[16];
        vstore16(s, 0, lanes);
        #pragma unroll
        for (int l = 0; l < 16; ++l) if (g + l < count) out[g + l] = lanes[l];
    }
}
inline void dot_hsum_tile8(const float8 *acc, float *out, const int count) {
    #pragma unroll
    for (int f = 0; f < count; ++f) out[f] = dot_hsum8(acc[f]);
}

#define MATMUL_DOT(NAME, DR, DC, TRANS_A)                                                          \
__kernel void NAME(__global const float *a, __global const float *b, __global float *c,            \
                   __global const float *bias, const int hasBias,                                  \
                   const int M, const int N, const int K, const long bStride, const int rowTiles,  \
                   const int act, __global float *aux) {                                     \
    /* A work-item keeps its DC columns of B (L1-resident) and walks rowTiles tiles of DR rows. */ \
    const int n0 = get_global_id(0) * DC;                                                          \
    const size_t bt = get_global_id(2);                                                            \
    const __global float *ab = a + bt * (size_t)M * (size_t)K;                                     \
    const __global float *bb = b + bt * (size_t)bStride;                                           \
    const __global float *brow[DC];                                                                \
    _Pragma("unroll")                                                                              \
    for (int j = 0; j < DC; ++j) brow[j] = bb + (size_t)min(n0 + j, N - 1) * K;                    \
    const int kFull = K - K % DOT_W;                                                               \
    for (int tile = 0; tile < rowTiles; ++tile) {                                                  \
    const int r0 = (get_global_id(1) * rowTiles + tile) * DR;                                      \
    if (r0 >= M) break;                                                                            \
    int rr[DR];                                                                                    \
    DOTV acc[DR][DC];                                                                              \
    _Pragma("unroll")                                                                              \
    for (int i = 0; i < DR; ++i) {                                                                 \
        rr[i] = min(r0 + i, M - 1);                                                                \
        _Pragma("unroll")                                                                          \
        for (int j = 0; j < DC; ++j) acc[i][j] = (DOTV)(0.0f);                                     \
    }                                                                                              \
    for (int k = 0; k < kFull; k += DOT_W) {                                                       \
        DOTV av[DR];                                                                               \
        _Pragma("unroll")                                                                          \
        for (int i = 0; i < DR; ++i) {                                                             \
            if (TRANS_A) {                                                                         \
                float t[DOT_W];                                                                    \
                _Pragma("unroll")                                                                  \
                for (int q = 0; q < DOT_W; ++q) t[q] = ab[(size_t)(k + q) * M + rr[i]];            \
                av[i] = DOT_VLOAD(0, t);                                                           \
            } else {                                                                               \
                av[i] = DOT_VLOAD(0, ab + (size_t)rr[i] * K + k);                                  \
            }                                                                                      \
        }                                                                                          \
        _Pragma("unroll")                                                                          \
        for (int j = 0; j < DC; ++j) {                                                             \
            const DOTV bv = DOT_VLOAD(0, brow[j] + k);                                             \
            _Pragma("unroll")                                                                      \
            for (int i = 0; i < DR; ++i) acc[i][j] = fma(av[i], bv, acc[i][j]);                    \
        }                                                                                          \
    }                                                                                              \
    float total[DR][DC];                                                                           \
    DOT_HSUM_TILE(acc, total, DR, DC);                                                             \
    _Pragma("unroll")                                                                              \
    for (int i = 0; i < DR; ++i) {                                                                 \
        float sums[DC];                                                                            \
        _Pragma("unroll")                                                                          \
        for (int j = 0; j < DC; ++j) sums[j] = total[i][j];                                        \
        for (int k = kFull; k < K; ++k) {                                                          \
            const float av = TRANS_A ? ab[(size_t)k * M + rr[i]] : ab[(size_t)rr[i] * K + k];      \
            _Pragma("unroll")                                                                      \
            for (int j = 0; j < DC; ++j) sums[j] = fma(av, brow[j][k], sums[j]);                   \
        }                                                                                          \
        if (r0 + i < M) {                                                                          \
            __global float *cr = c + (bt * (size_t)M + r0 + i) * (size_t)N;                        \
            _Pragma("unroll")                                                                      \
            for (int j = 0; j < DC; ++j) if (hasBias && n0 + j < N) sums[j] += bias[n0 + j];       \
            /* act is uniform: one branch per row keeps the plain store free of the switch */      \
            if (act == ACT_NONE) {                                                                 \
                _Pragma("unroll")                                                                  \
                for (int j = 0; j < DC; ++j) if (n0 + j < N) cr[n0 + j] = sums[j];                 \
            } else {                                                                               \
                for (int j = 0; j < DC; ++j) {                                                     \
                    if (ACT_WRITES_AUX(act) && n0 + j < N) aux[cr - c + n0 + j] = sums[j];         \
                    if (n0 + j < N) cr[n0 + j] = activation(sums[j], act,                          \
                                                            ACT_READS_AUX(act) ? aux[cr - c + n0 + j] : 0.0f);\
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    }                                                                                              \
}

MATMUL_DOT(matmul_dot_nt, 1, 8, 0)
MATMUL_DOT(matmul_dot_tt, 1, 8, 1)
MATMUL_DOT(matmul_dot_nt_tile, DOT_ROWS, DOT_COLS, 0)
MATMUL_DOT(matmul_dot_tt_tile, DOT_ROWS, DOT_COLS, 1)

/* ---------------------------------------------------------------- variant 3: GPU tiled */

#define RTSM (TSM / WPTM)
#define RTSN (TSN / WPTN)

/* Launch: global [ceil(N/TSN)·RTSN, ceil(M/TSM)·RTSM, batch], local [RTSN, RTSM, 1]. */
__kernel void matmul_tiled(__global const float *a, __global const float *b, __global float *c,
                           __global const float *bias, const int hasBias,
                           const int M, const int N, const int K,
                           const int transA, const int transB, const long strideB, const int act,
                           __global float *aux) {
    __local float As[TSK][TSM + LPAD];
    __local float Bs[TSK][TSN + LPAD];
    const int tx = get_local_id(0), ty = get_local_id(1);
    const int tid = ty * RTSN + tx;
    const int threads = RTSN * RTSM;
    const int col0 = get_group_id(0) * TSN, row0 = get_group_id(1) * TSM;
    const size_t bt = get_global_id(2);
    const __global float *ab = a + bt * (size_t)M * (size_t)K;
    const __global float *bb = b + bt * (size_t)strideB;
    __global float *cb = c + bt * (size_t)M * (size_t)N;

    float acc[WPTM][WPTN];
    #pragma unroll
    for (int i = 0; i < WPTM; ++i)
        #pragma unroll
        for (int j = 0; j < WPTN; ++j) acc[i][j] = 0.0f;

    for (int k0 = 0; k0 < K; k0 += TSK) {
        for (int l = tid; l < TSM * TSK; l += threads) {
            /* consecutive items read consecutive addresses of whichever layout A has */
            const int mm = transA ? l % TSM : l / TSK;
            const int kk = transA ? l / TSM : l % TSK;
            const int r = row0 + mm, kg = k0 + kk;
            float v = 0.0f;
            if (r < M && kg < K) v = transA ? ab[(size_t)kg * M + r] : ab[(size_t)r * K + kg];
            As[kk][mm] = v;
        }
        for (int l = tid; l < TSN * TSK; l += threads) {
            const int nn = transB ? l / TSK : l % TSN;
            const int kk = transB ? l % TSK : l / TSN;
            const int n = col0 + nn, kg = k0 + kk;
            float v = 0.0f;
            if (n < N && kg < K) v = transB ? bb[(size_t)n * K + kg] : bb[(size_t)kg * N + n];
            Bs[kk][nn] = v;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TSK; ++kk) {
            float ar[WPTM], br[WPTN];
            #pragma unroll
            for (int i = 0; i < WPTM; ++i) ar[i] = As[kk][ty + i * RTSM];
            #pragma unroll
            for (int j = 0; j < WPTN; ++j) br[j] = Bs[kk][tx + j * RTSN];
            #pragma unroll
            for (int i = 0; i < WPTM; ++i)
                #pragma unroll
                for (int j = 0; j < WPTN; ++j) acc[i][j] = fma(ar[i], br[j], acc[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    #pragma unroll
    for (int i = 0; i < WPTM; ++i) {
        const int r = row0 + ty + i * RTSM;
        if (r >= M) continue;
        #pragma unroll
        for (int j = 0; j < WPTN; ++j) {
            const int n = col0 + tx + j * RTSN;
            if (n >= N) continue;
            const float v = acc[i][j] + (hasBias ? bias[n] : 0.0f);
            if (ACT_WRITES_AUX(act)) aux[(cb - c) + (size_t)r * N + n] = v;
            cb[(size_t)r * N + n] = activation(v, act, ACT_READS_AUX(act) ? aux[(cb - c) + (size_t)r * N + n] : 0.0f);
        }
    }
}
