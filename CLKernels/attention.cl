/* attention — fused scaled-dot-product attention: out = softmax(scale·q·kᵀ + causal mask)·v,
 * never materialising the Tq×Tk score matrix (online softmax: running max m, running sum l,
 * accumulator rescaled by exp(m_old − m_new) whenever the max grows).
 *
 * Layout: q [BH, Tq, D], k [BH, Tk, D], v [BH, Tk, DV], out [BH, Tq, DV], contiguous row-major;
 * variant 4 reads q, k and v rows wherever OPERAND_ROW (fastmath.cl) puts them (an int4 layout and an
 * offset per operand: the heads of a fused QKV projection's [B, T, 3C] output read in place).
 * Causal: query i sees keys j <= i + (Tk − Tq) (aligned at the end, like a KV cache); the host
 * guarantees Tk >= Tq when causal, so no query row is ever fully masked.
 * Runtime arguments: q, k, v, out, Tq, Tk, causal (0/1), scale; variant 4 then takes an optional
 * (null or not) lse [BH, Tq]: each query's log Σ exp(scale·q·kᵀ) over its visible keys, the row
 * statistics attention_backward.cl's CPU variant recomputes the probabilities from (saved by the
 * forward, the backward's statistics pre-pass is not needed); then q's and v's layout and offset
 * (attention_pack_k takes k's).
 *
 * Non-finite values (every variant, as the reference): a NaN or +Inf score makes the query's row NaN
 * (exp(s − max) is Inf − Inf there: variants 1 and 3 keep it by p = 1 + (s − s) when a score becomes
 * the new max; 2 and 4 subtract the new max from every score), a −Inf score weighs 0, and masked
 * keys never enter the arithmetic: their scores are replaced before the max and, in the blocks
 * that cross a query's limit, their value rows are skipped per query (p = 0 times a NaN or Inf
 * value would be NaN). Fully masked rows cannot occur (Tk >= Tq when causal).
 *
 * Variants (one line each: what it does; when the host chooses it):
 *   1. attention_scalar      one query row per work-item, scalar loops. Baseline, any device; only when forced.
 *   2. attention_blocked     CPU: QB queries per work-item, keys in blocks of 16, float16 vectors. Forced only.
 *   3. attention_tiled       GPU: work-group per (head, query block), K/V tiles in local memory. Default on GPUs.
 *   4. attention_regblocked  CPU: K packed transposed, QB4×KB score block by fma with broadcast q, one
 *                            rescale per key block. Default on CPUs (QB4×KB 8×32 where the native float
 *                            vector is 16 wide, else 4×16: see AttentionFamily.RegisterBlocking).
 * The measurements behind these defaults: Benchmarks/results/pocl-3.1-intel-xeon-2cu/attention/README.md
 * (AVX-512) and Benchmarks/results/pocl-3.1-amd-epyc-2cu/attention/README.md (AVX2).
 *
 * Details:
 *   1. attention_scalar   one exp per key (the running max and the new score trade places). Slow on
 *                         pocl (no cross-work-item vectorisation with inner loops).
 *   2. attention_blocked  each work-item owns QB queries of one head; keys in blocks of 16.
 *                         q rows (pre-scaled) and the output accumulators live in private float16
 *                         vectors; per key a float16 partial product, and the 16 partials of a
 *                         block are folded into one float16 of scores (lane j = key j) by an
 *                         even/odd transpose-add tree, so the block's exp, max and sum run on one
 *                         explicit vector. D, DV multiples of 16 are the fast path (the tail
 *                         chunk code compiles away); any other D/DV loads/stores a zero-padded
 *                         tail chunk. No local memory, no barriers; launch with local [1, 1] so
 *                         pocl spreads the work-groups over every core.
 *   3. attention_tiled    a work-group per (head, block of get_local_size(0) queries), one
 *                         query per work-item; K and V tiles of KT keys staged in local memory by
 *                         cooperative contiguous (coalesced) loads between barriers; online softmax
 *                         per query over each tile. Runs on pocl, but local memory/barriers are slow there.
 *   4. attention_regblocked  register-blocked like a GEMM. A pre-pass (attention_pack_k)
 *                         stores K transposed in blocks of KB keys: kt [BH, ceil(Tk/KB), D, KB], keys past
 *                         Tk zero. A work-item owns QB4 queries of one head; per key block the QB4×KB
 *                         scores are float16 accumulators (lane = key) built by fma over D with the
 *                         kt row as a vector and the (pre-scaled) q element broadcast — no horizontal
 *                         adds. Online softmax in base 2 (scale·log2 e folded into q, exp2): one max,
 *                         one rescale of the accumulators per query per key block, not per key. P·V
 *                         accumulates into QB4 × ceil(DV/16) float16 registers with the probability
 *                         broadcast. Key blocks past the last query's causal limit are skipped; only
 *                         blocks crossing the diagonal are masked. Local size [1, 1]. Optionally QG
 *                         groups of QB4 queries per work-item share each key block from L1.
 *                         The small loops over queries and chunks carry _Pragma("unroll"): without it
 *                         pocl's LLVM keeps QB4 >= 3 accumulators in stack memory (load-fma-store per
 *                         step). Masked scores are -FLT_MAX, not -inf (no Inf − Inf in the rescale). The
 *                         optional -cl-fast-relaxed-math blocking (f) assumes finite inputs: it is
 *                         never the default, and non-finite inputs are undefined under it.
 *                         Softmax bookkeeping per key block (the same for every target): the block
 *                         maxima use a plain compare-select max (fmax's NaN handling costs a compare
 *                         and blend per step; a NaN score reaches the sum through its own exp2); the
 *                         QB4 rescale factors come from one float8 exp2, not one scalar exp2 per
 *                         query; the running sums stay float16 per query (lane = key mod 16) and are
 *                         summed once at the end, not per block. PV_WIDE=1 runs P·V keys-outermost with
 *                         all QB4 × ceil(DV/16) accumulators live (16 chains at 4 × DV 64) for 32-register
 *                         targets.
 *
 * -D parameters:
 *   D   head dimension of q, k (>= 1)            DV  value dimension of v, out (>= 1)
 *   QB  queries per work-item in variant 2 (1..4, default 4)
 *   KT  keys per local-memory tile in variant 3 (default 32; KT·(D+DV)·4 bytes of local memory)
 *   QB4 queries per work-item in variant 4 (1..8, default 4)
 *   KB  keys per block in variant 4 and its pre-pass (16 or 32, default 16)
 *   QG  groups of QB4 queries per work-item in variant 4 (default 1): a key block, once in L1,
 *       serves QG·QB4 queries (the groups' accumulators live in private memory between blocks)
 *   NATIVE_EXP  when 1, variant 4 uses native_exp2 instead of exp2 (default 0)
 *   PV_WIDE  when 1, variant 4's P·V keeps all QB4 × ceil(DV/16) accumulators live, keys outermost
 *       (default 0: one 16-wide value chunk at a time, keys innermost, for 16-register AVX2)
 */

#ifndef D
#error "define D (head dimension)"
#endif
#ifndef DV
#error "define DV (value dimension)"
#endif
#ifndef QB
#define QB 4
#endif
#ifndef KT
#define KT 32
#endif
#ifndef QB4
#define QB4 4
#endif
#ifndef KB
#define KB 16
#endif
#ifndef QG
#define QG 1
#endif
#ifndef NATIVE_EXP
#define NATIVE_EXP 0
#endif
#ifndef PV_WIDE
#define PV_WIDE 0
#endif

#define DC ((D + 15) / 16)     /* float16 chunks per q/k row (last one partial when DREM != 0) */
#define DREM (D % 16)
#define DVC ((DV + 15) / 16)
#define DVREM (DV % 16)

/* ------------------------------------------------------------------ variant 1: scalar */

__kernel void attention_scalar(__global const float *q, __global const float *k, __global const float *v,
                               __global float *out, const int Tq, const int Tk, const int causal,
                               const float scale) {
    const int i = get_global_id(0);
    const int bh = get_global_id(1);
    if (i >= Tq) return;
    const int kend = causal ? i + (Tk - Tq) + 1 : Tk;
    const __global float *qr = q + ((size_t)bh * Tq + i) * D;
    const __global float *kb = k + (size_t)bh * Tk * D;
    const __global float *vb = v + (size_t)bh * Tk * DV;

    float qp[D];
    for (int d = 0; d < D; ++d) qp[d] = qr[d] * scale;
    float acc[DV];
    for (int c = 0; c < DV; ++c) acc[c] = 0.0f;
    float m = -FLT_MAX, l = 0.0f;

    for (int j = 0; j < kend; ++j) {
        const __global float *kr = kb + (size_t)j * D;
        float s = 0.0f;
        for (int d = 0; d < D; ++d) s = fma(qp[d], kr[d], s);
        float alpha, p;
        if (s <= m) { alpha = 1.0f; p = exp(s - m); }
        else { alpha = exp(m - s); p = 1.0f + (s - s); m = s; }   /* exp(s − s): NaN when s = +Inf */
        l = fma(l, alpha, p);
        const __global float *vr = vb + (size_t)j * DV;
        for (int c = 0; c < DV; ++c) acc[c] = fma(acc[c], alpha, p * vr[c]);
    }
    __global float *o = out + ((size_t)bh * Tq + i) * DV;
    const float inv = 1.0f / l;
    for (int c = 0; c < DV; ++c) o[c] = acc[c] * inv;
}

/* ------------------------------------------------------------------ variant 2: CPU blocked */

/* load_tail / store_tail / LOAD_CHUNK (partial float16 chunks of a row) and hsum16 / hmax16 (a
   float16's lane sum / max) come from fastmath.cl, prepended to this file. */

/* Pairwise fold: lanes 0–7 carry a's partial sums, lanes 8–15 b's. Applied four times, sixteen
 * float16 partial dot products become one float16 whose lane j is the full sum of partial j. */
#define FOLD(a, b) ((float16)((a).even + (a).odd, (b).even + (b).odd))

inline float16 fold16(const float16 *p) {
    const float16 a0 = FOLD(p[0], p[1]), a1 = FOLD(p[2], p[3]), a2 = FOLD(p[4], p[5]), a3 = FOLD(p[6], p[7]);
    const float16 a4 = FOLD(p[8], p[9]), a5 = FOLD(p[10], p[11]), a6 = FOLD(p[12], p[13]), a7 = FOLD(p[14], p[15]);
    const float16 b0 = FOLD(a0, a1), b1 = FOLD(a2, a3), b2 = FOLD(a4, a5), b3 = FOLD(a6, a7);
    const float16 c0 = FOLD(b0, b1), c1 = FOLD(b2, b3);
    return FOLD(c0, c1);
}

__kernel void attention_blocked(__global const float *q, __global const float *k, __global const float *v,
                                __global float *out, const int Tq, const int Tk, const int causal,
                                const float scale) {
    const int i0 = get_global_id(0) * QB;
    const int bh = get_global_id(1);
    if (i0 >= Tq) return;
    const int off = Tk - Tq;
    const __global float *kbase = k + (size_t)bh * Tk * D;
    const __global float *vbase = v + (size_t)bh * Tk * DV;

    /* Queries past Tq (last work-item) repeat row Tq − 1 and are not stored. */
    float16 qv[QB][DC];
    int lim[QB];               /* last key each query sees */
    for (int qi = 0; qi < QB; ++qi) {
        const int iq = min(i0 + qi, Tq - 1);
        lim[qi] = causal ? iq + off : Tk - 1;
        const __global float *qr = q + ((size_t)bh * Tq + iq) * D;
        for (int c = 0; c < DC; ++c) qv[qi][c] = LOAD_CHUNK(qr, c, DC, DREM) * scale;
    }
    const int kend = lim[QB - 1] + 1;      /* limits grow with the query index */
    const int lmin = lim[0];

    float16 acc[QB][DVC];
    float m[QB], l[QB];
    for (int qi = 0; qi < QB; ++qi) {
        m[qi] = -FLT_MAX;
        l[qi] = 0.0f;
        for (int c = 0; c < DVC; ++c) acc[qi][c] = (float16)(0.0f);
    }
    const int16 iota = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

    for (int kb = 0; kb < kend; kb += 16) {
        const int nk = min(16, kend - kb);
        float pa[QB][16];                  /* probabilities of this block, per query */
        for (int qi = 0; qi < QB; ++qi) {
            float16 part[16];
            for (int j = 0; j < 16; ++j) {
                const __global float *kr = kbase + (size_t)min(kb + j, kend - 1) * D;
                float16 t = (float16)(0.0f);
                for (int c = 0; c < DC; ++c) t = fma(qv[qi][c], LOAD_CHUNK(kr, c, DC, DREM), t);
                part[j] = t;
            }
            float16 s = fold16(part);
            if (kb + 15 > lmin) s = select(s, (float16)(-INFINITY), (kb + iota) > (int16)(lim[qi]));
            const float mnew = fmax(m[qi], hmax16(s));
            const float alpha = exp(m[qi] - mnew);
            m[qi] = mnew;
            const float16 p = exp(s - mnew);
            l[qi] = fma(l[qi], alpha, hsum16(p));
            if (alpha != 1.0f)
                for (int c = 0; c < DVC; ++c) acc[qi][c] *= alpha;
            vstore16(p, 0, pa[qi]);
        }
        if (kb + 15 <= lmin) {
            for (int j = 0; j < 16; ++j) {
                const __global float *vr = vbase + (size_t)(kb + j) * DV;
                for (int c = 0; c < DVC; ++c) {
                    const float16 vv = LOAD_CHUNK(vr, c, DVC, DVREM);
                    for (int qi = 0; qi < QB; ++qi) acc[qi][c] = fma((float16)(pa[qi][j]), vv, acc[qi][c]);
                }
            }
        } else {
            /* The block crosses a query's limit: a masked key's value row never enters that query's
             * sum (p = 0 times a NaN or Inf value would be NaN). */
            for (int j = 0; j < nk; ++j) {
                const __global float *vr = vbase + (size_t)(kb + j) * DV;
                for (int c = 0; c < DVC; ++c) {
                    const float16 vv = LOAD_CHUNK(vr, c, DVC, DVREM);
                    for (int qi = 0; qi < QB; ++qi)
                        if (kb + j <= lim[qi]) acc[qi][c] = fma((float16)(pa[qi][j]), vv, acc[qi][c]);
                }
            }
        }
    }

    for (int qi = 0; qi < QB; ++qi) {
        if (i0 + qi >= Tq) break;
        __global float *o = out + ((size_t)bh * Tq + i0 + qi) * DV;
        const float inv = 1.0f / l[qi];
        for (int c = 0; c < DVC; ++c) {
            const float16 r = acc[qi][c] * inv;
            if (DVREM != 0 && c == DVC - 1) store_tail(r, o + c * 16, DVREM);
            else vstore16(r, c, o);
        }
    }
}

/* ------------------------------------------------------------------ variant 3: GPU tiled */

__kernel void attention_tiled(__global const float *q, __global const float *k, __global const float *v,
                              __global float *out, const int Tq, const int Tk, const int causal,
                              const float scale) {
    __local float ks[KT * D];
    __local float vs[KT * DV];
    const int lid = get_local_id(0);
    const int lsz = get_local_size(0);
    const int first = get_group_id(0) * lsz;
    const int i = first + lid;
    const int bh = get_group_id(1);
    const int off = Tk - Tq;
    const int iq = min(i, Tq - 1);
    const int lim = causal ? iq + off : Tk - 1;
    const int kend = causal ? min(first + lsz - 1, Tq - 1) + off + 1 : Tk;   /* keys the group needs */
    const __global float *kbase = k + (size_t)bh * Tk * D;
    const __global float *vbase = v + (size_t)bh * Tk * DV;

    float qp[D];
    const __global float *qr = q + ((size_t)bh * Tq + iq) * D;
    for (int d = 0; d < D; ++d) qp[d] = qr[d] * scale;
    float acc[DV];
    for (int c = 0; c < DV; ++c) acc[c] = 0.0f;
    float m = -FLT_MAX, l = 0.0f;

    for (int t0 = 0; t0 < kend; t0 += KT) {
        const int nt = min(KT, kend - t0);
        barrier(CLK_LOCAL_MEM_FENCE);                       /* previous tile fully consumed */
        const __global float *kt = kbase + (size_t)t0 * D;
        const __global float *vt = vbase + (size_t)t0 * DV;
        for (int e = lid; e < nt * D; e += lsz) ks[e] = kt[e];
        for (int e = lid; e < nt * DV; e += lsz) vs[e] = vt[e];
        barrier(CLK_LOCAL_MEM_FENCE);
        const int jmax = min(nt, lim - t0 + 1);
        for (int j = 0; j < jmax; ++j) {
            float s = 0.0f;
            for (int d = 0; d < D; ++d) s = fma(qp[d], ks[j * D + d], s);
            float alpha, p;
            if (s <= m) { alpha = 1.0f; p = exp(s - m); }
            else { alpha = exp(m - s); p = 1.0f + (s - s); m = s; }   /* exp(s − s): NaN when s = +Inf */
            l = fma(l, alpha, p);
            for (int c = 0; c < DV; ++c) acc[c] = fma(acc[c], alpha, p * vs[j * DV + c]);
        }
    }
    if (i < Tq) {
        __global float *o = out + ((size_t)bh * Tq + i) * DV;
        const float inv = 1.0f / l;
        for (int c = 0; c < DV; ++c) o[c] = acc[c] * inv;
    }
}

/* ------------------------------------------------------------------ variant 4: CPU register-blocked */

#define KBC (KB / 16)          /* float16 chunks per key block */

#if NATIVE_EXP
#define EXP2(x) native_exp2(x)
#define EXP2_8(x) native_exp2(x)
#else
#define EXP2(x) exp2(x)
#define EXP2_8(x) exp2(x)
#endif
/* max without fmax's NaN handling: one vmaxps, not compare-and-blend. A NaN score may be dropped from
 * the max, but its own exp2(s − max) is NaN, which carries it into the row sum and the output. */
#define VMAX16(a, b) select((b), (a), (a) > (b))
inline float max16(const float16 x) {
    const float8 a = select(x.hi, x.lo, x.lo > x.hi);
    const float4 b = select(a.hi, a.lo, a.lo > a.hi);
    const float2 c = select(b.hi, b.lo, b.lo > b.hi);
    return c.x > c.y ? c.x : c.y;
}

/* kt [BH, NB, D, KB] = k [BH, Tk, D] transposed per block of KB keys; keys past Tk are zero.
 * Launch [NB, BH], local [1, 1]. Rows are read with vload16 and the block turned in private memory
 * (scattered scalar global writes are slow on pocl). */
__kernel void attention_pack_k(__global const float *k, __global float *kt, const int Tk, const int4 kl, const int koff) {
    const int blk = get_global_id(0);
    const int bh = get_global_id(1);
    const int nb = get_global_size(0);
    const int k0 = blk * KB;
    const int nk = min(KB, Tk - k0);
    const __global float *src = OPERAND_ROW(k, kl, koff, bh, k0);
    __global float *dst = kt + ((size_t)bh * nb + blk) * (size_t)(D * KB);
    for (int c = 0; c < DC; ++c) {
        float t[KB * 16];                          /* t[j*16 + e] = k[k0 + j][c*16 + e] */
        for (int j = 0; j < KB; ++j) {
            const float16 r = j < nk ? LOAD_CHUNK(src + (size_t)j * kl.w, c, DC, DREM) : (float16)(0.0f);
            vstore16(r, j, t);
        }
        const int ne = (DREM != 0 && c == DC - 1) ? DREM : 16;
        for (int e = 0; e < ne; ++e) {
            for (int h = 0; h < KBC; ++h) {
                float col[16];
                for (int jj = 0; jj < 16; ++jj) col[jj] = t[(h * 16 + jj) * 16 + e];
                vstore16(vload16(0, col), (c * 16 + e) * KBC + h, dst);
            }
        }
    }
}

__kernel void attention_regblocked(__global const float *q, __global const float *kt, __global const float *v,
                                   __global float *out, const int Tq, const int Tk, const int causal,
                                   const float scale, __global float *lse, const int4 ql, const int qoff,
                                   const int4 vl, const int voff) {
    const int i0 = get_global_id(0) * (QG * QB4);
    const int bh = get_global_id(1);
    if (i0 >= Tq) return;
    const int off = Tk - Tq;
    const int nb = (Tk + KB - 1) / KB;
    const __global float *ktbase = kt + (size_t)bh * nb * (size_t)(D * KB);
    const __global float *vbase = OPERAND_ROW(v, vl, voff, bh, 0);
    const float qscale = scale * M_LOG2E_F;

    /* The item's QG·QB4 queries, as QG groups of QB4 held in registers while a group runs.
     * Queries past Tq (last work-item) repeat row Tq − 1 and are not stored. */
    float qs[QG * QB4][D];
    int lim[QG * QB4];
    float16 acc[QG * QB4][DVC];
    float16 lv[QG * QB4];                      /* running sums, per lane (key mod 16); summed at the end */
    float m[QG * QB4 + 8];                     /* running max (log2 units); padded for the float8 loads */
    for (int r = 0; r < QG * QB4; ++r) {
        const int iq = min(i0 + r, Tq - 1);
        lim[r] = causal ? iq + off : Tk - 1;
        const __global float *qr = OPERAND_ROW(q, ql, qoff, bh, iq);
        for (int d = 0; d < D; ++d) qs[r][d] = qr[d] * qscale;
        m[r] = -FLT_MAX;
        lv[r] = (float16)(0.0f);
        for (int c = 0; c < DVC; ++c) acc[r][c] = (float16)(0.0f);
    }
    for (int r = QG * QB4; r < QG * QB4 + 8; ++r) m[r] = 0.0f;
    const int kend = lim[QG * QB4 - 1] + 1;    /* limits grow with the query index */
    const int16 iota = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

    for (int kb = 0; kb < kend; kb += KB) {
        /* The key block (kt and v rows) is reused from L1 by every group. */
        const __global float *kp = ktbase + (size_t)(kb / KB) * (D * KB);
        const __global float *vb = vbase + (size_t)kb * vl.w;
        for (int g = 0; g < QG; ++g) {
            const int r0 = g * QB4;
            const int gend = lim[r0 + QB4 - 1] + 1;   /* keys this group needs */
            if (kb >= gend) continue;                 /* causal: this group is done, later ones need more */
            float16 s[QB4][KBC];
            _Pragma("unroll")
            for (int qi = 0; qi < QB4; ++qi)
                _Pragma("unroll")
                for (int h = 0; h < KBC; ++h) s[qi][h] = (float16)(0.0f);
            _Pragma("unroll 2")
            for (int d = 0; d < D; ++d) {
                _Pragma("unroll")
                for (int h = 0; h < KBC; ++h) {
                    const float16 kv = vload16(d * KBC + h, kp);
                    _Pragma("unroll")
                    for (int qi = 0; qi < QB4; ++qi) s[qi][h] = fma((float16)(qs[r0 + qi][d]), kv, s[qi][h]);
                }
            }
            const bool crossing = kb + KB - 1 > lim[r0];   /* the block crosses some query's limit (or Tk) */
            if (crossing)
                _Pragma("unroll")
                for (int qi = 0; qi < QB4; ++qi)
                    _Pragma("unroll")
                    for (int h = 0; h < KBC; ++h)
                        s[qi][h] = select(s[qi][h], (float16)(-FLT_MAX), (kb + h * 16 + iota) > (int16)(lim[r0 + qi]));

            /* New maxima of the group's queries, then every rescale factor by one float8 exp2. */
            float mnew[8];
            _Pragma("unroll")
            for (int qi = 0; qi < QB4; ++qi) {
                float16 bmax = s[qi][0];
                _Pragma("unroll")
                for (int h = 1; h < KBC; ++h) bmax = VMAX16(bmax, s[qi][h]);
                const float bm = max16(bmax), mo = m[r0 + qi];
                mnew[qi] = bm > mo ? bm : mo;
            }
            _Pragma("unroll")
            for (int qi = QB4; qi < 8; ++qi) mnew[qi] = 0.0f;
            float alpha[8];                    /* rescale of the accumulators, applied in the P·V pass */
            vstore8(EXP2_8(vload8(0, m + r0) - vload8(0, mnew)), 0, alpha);

            float pa[QB4][KB];                 /* probabilities of this block, per query */
            _Pragma("unroll")
            for (int qi = 0; qi < QB4; ++qi) {
                m[r0 + qi] = mnew[qi];
                float16 psum = (float16)(0.0f);
                _Pragma("unroll")
                for (int h = 0; h < KBC; ++h) {
                    const float16 p = EXP2(s[qi][h] - mnew[qi]);
                    psum += p;
                    vstore16(p, h, pa[qi]);
                }
                lv[r0 + qi] = fma(lv[r0 + qi], (float16)(alpha[qi]), psum);
            }

            const int nk = min(KB, gend - kb);
#if PV_WIDE
            /* P·V keys outermost, all QB4 × DVC accumulators live at once: QB4·DVC independent fma
             * chains (16 for 4 queries × DV 64), for targets with 32 vector registers (AVX-512). */
            _Pragma("unroll")
            for (int qi = 0; qi < QB4; ++qi)
                _Pragma("unroll")
                for (int c = 0; c < DVC; ++c) acc[r0 + qi][c] *= alpha[qi];
            if (!crossing) {
                for (int j = 0; j < nk; ++j) {
                    const __global float *vr = vb + (size_t)j * vl.w;
                    _Pragma("unroll")
                    for (int c = 0; c < DVC; ++c) {
                        const float16 vv = LOAD_CHUNK(vr, c, DVC, DVREM);
                        _Pragma("unroll")
                        for (int qi = 0; qi < QB4; ++qi) acc[r0 + qi][c] = fma((float16)(pa[qi][j]), vv, acc[r0 + qi][c]);
                    }
                }
            } else {
                for (int j = 0; j < nk; ++j) {
                    const __global float *vr = vb + (size_t)j * vl.w;
                    for (int c = 0; c < DVC; ++c) {
                        const float16 vv = LOAD_CHUNK(vr, c, DVC, DVREM);
                        for (int qi = 0; qi < QB4; ++qi)
                            if (kb + j <= lim[r0 + qi]) acc[r0 + qi][c] = fma((float16)(pa[qi][j]), vv, acc[r0 + qi][c]);
                    }
                }
            }
#else
            /* P·V chunk by chunk of DV, keys innermost: the QB4 accumulators of a chunk stay in
             * registers for the whole block (AVX2 has only 16 vector registers). */
            for (int c = 0; c < DVC; ++c) {
                float16 a[QB4];
                _Pragma("unroll")
                for (int qi = 0; qi < QB4; ++qi) a[qi] = acc[r0 + qi][c] * alpha[qi];
                if (!crossing) {
                    for (int j = 0; j < KB; ++j) {
                        const float16 vv = LOAD_CHUNK(vb + (size_t)j * vl.w, c, DVC, DVREM);
                        _Pragma("unroll")
                        for (int qi = 0; qi < QB4; ++qi) a[qi] = fma((float16)(pa[qi][j]), vv, a[qi]);
                    }
                } else {
                    /* A masked key's value row never enters that query's sum (0 · NaN = NaN). */
                    for (int j = 0; j < nk; ++j) {
                        const float16 vv = LOAD_CHUNK(vb + (size_t)j * vl.w, c, DVC, DVREM);
                        _Pragma("unroll")
                        for (int qi = 0; qi < QB4; ++qi)
                            if (kb + j <= lim[r0 + qi]) a[qi] = fma((float16)(pa[qi][j]), vv, a[qi]);
                    }
                }
                _Pragma("unroll")
                for (int qi = 0; qi < QB4; ++qi) acc[r0 + qi][c] = a[qi];
            }
#endif
        }
    }

    for (int r = 0; r < QG * QB4; ++r) {
        if (i0 + r >= Tq) break;
        const size_t row = (size_t)bh * Tq + i0 + r;
        __global float *o = out + row * DV;
        const float sum = hsum16(lv[r]);
        const float inv = 1.0f / sum;
        if (lse) lse[row] = (m[r] + log2(sum)) * M_LN2_F;   /* natural log of Σ exp(scale·q·k) */
        for (int c = 0; c < DVC; ++c) {
            const float16 r16 = acc[r][c] * inv;
            if (DVREM != 0 && c == DVC - 1) store_tail(r16, o + c * 16, DVREM);
            else vstore16(r16, c, o);
        }
    }
}
