/* attention_backward — the backward of fused attention (flash-attention-2 style): dq, dk, dv of
 * out = softmax(scale·q·kᵀ + causal mask)·v from q, k, v, dy and y, never materialising the Tq×Tk
 * probabilities. Per query row the softmax statistics lse = log Σ exp(s) (s = scale·q·kᵀ over the
 * visible keys; saved by the forward or recomputed by a pre-pass) and Δ = Σ_c dy·y; the main kernels
 * then recompute p = exp(s − lse)
 * a block of keys at a time and accumulate dv += pᵀ·dy, ds = p ⊙ (dy·vᵀ − Δ), dk += scale·dsᵀ·q,
 * dq += scale·ds·k.
 *
 * Layout: q [BH, Tq, D], k [BH, Tk, D], v [BH, Tk, DV], y and dy [BH, Tq, DV], dq [BH, Tq, D],
 * dk [BH, Tk, D], dv [BH, Tk, DV]; lse and delta [BH, Tq]; all contiguous row-major, except that
 * variant 1 reads q, k and v rows and writes dq, dk and dv rows wherever OPERAND_ROW (fastmath.cl)
 * puts them (layout int4 + offset per operand, as attention.cl's variant 4): the heads of a fused
 * QKV projection's input read in place, and their gradients written into its gradient's rows.
 * Causal: query i sees keys j <= i + (Tk − Tq). A query that sees no key (causal, Tq > Tk) averages
 * v uniformly in the forward: here p = 1/Tk on every key (its dv share) and ds = 0 (its output does
 * not depend on q or k), as the reference's gradient.
 * Runtime arguments (after the buffers): Tq, Tk, causal (0/1), scale (variant 1: then the layout and
 * offset of q, k, v, dq, dk and dv; its statistics kernel those of q and k).
 *
 * Variants (AttentionBackwardFamily numbers):
 *   1. CPU, three kernels at most: attention_bwd_stats (lse only, and only when the forward did not
 *      store it: attention.cl's variant 4 does; a work-item per SQ queries of one head; each
 *      key block of 16 turned into a private kᵀ block so the 16 scores of a query are one float16
 *      fma chain over D; online max/sum), attention_bwd_cpu (Δ of a query computed where it is
 *      used, from its dy and y rows; a work-item per head and group of key
 *      blocks: the block's kᵀ, vᵀ and the dkᵀ, dvᵀ accumulators live in private memory with lane =
 *      key, so p, dy·vᵀ, dsᵀ·q and pᵀ·dy are float16 fma chains with the query's elements broadcast;
 *      dq of the query is accumulated row-wise, ds lane by lane times the block's k rows), and, when
 *      the key blocks of a head are split over G > 1 work-items (few heads), attention_bwd_dq_sum
 *      adding the G partial dq buffers. No local memory, no barriers; local size [1, 1]. Chosen on
 *      CPU devices.
 *   2. GPU, three kernels: attention_bwd_stats_rows (a work-item per query, scalar online softmax),
 *      attention_bwd_tiled_dkdv (a work-group per block of get_local_size(0) keys, one key per
 *      work-item, tiles of QT queries with their dy rows, lse and Δ staged in local memory by
 *      cooperative loads between barriers; dk, dv accumulate in private memory) and
 *      attention_bwd_tiled_dq (a work-group per block of queries, one query per work-item, tiles of
 *      KT keys and value rows in local memory). dq is a kernel of its own so that no two
 *      work-groups add to one row (no float atomics). Chosen on GPU devices; runs on pocl too.
 *   0. The decomposed form, for comparison and where it is faster: the matmul and softmax families
 *      compute p = softmax(scale·q·kᵀ + mask), dv = pᵀ·dy and dp = dy·vᵀ (the Tq×Tk matrices in
 *      memory), attention_bwd_softmax turns p and dp into ds = scale·p ⊙ (dp − Σ p·dp) (a work-item
 *      per row, float16 chunks), and two matmuls give dq = ds·k and dk = dsᵀ·q. Any device; not
 *      for causal Tq > Tk (the masked softmax has no uniform row for a query that sees no key).
 *
 * Masked and out-of-range keys never enter the arithmetic (their p is 0 by select, not by 0 · x).
 *
 * -D parameters:
 *   D, DV  head and value dimensions (>= 1)
 *   SQ     queries per work-item of attention_bwd_stats (default 4; the host uses 16)
 *   QT     queries per local-memory tile of attention_bwd_tiled_dkdv (default 32)
 *   KT     keys per local-memory tile of attention_bwd_tiled_dq (default 32)
 */

#ifndef D
#error "define D (head dimension)"
#endif
#ifndef DV
#error "define DV (value dimension)"
#endif
#ifndef SQ
#define SQ 4
#endif
#ifndef QT
#define QT 32
#endif
#ifndef KT
#define KT 32
#endif

#define DC ((D + 15) / 16)     /* float16 chunks per q/k row (last one partial when DREM != 0) */
#define DREM (D % 16)
#define DVC ((DV + 15) / 16)
#define DVREM (DV % 16)

/* load_tail, store_tail and LOAD_CHUNK come from fastmath.cl, prepended to this file. */
#define STORE_CHUNK(x, row, c, NC, REM) do { if ((REM) != 0 && (c) == (NC) - 1) store_tail((x), (row) + (c) * 16, (REM)); else vstore16((x), (c), (row)); } while (0)

/* Σ_c dy·y of one row. */
inline float bwd_row_delta(const __global float *dyr, const __global float *yr) {
    float16 acc = (float16)(0.0f);
    for (int c = 0; c < DVC; ++c) acc = fma(LOAD_CHUNK(dyr, c, DVC, DVREM), LOAD_CHUNK(yr, c, DVC, DVREM), acc);
    return hsum16(acc);
}

/* Keys kb .. kb+15 of one head (rows `stride` apart) turned into kt[e*16 + j] = k[kb + j][e]; keys past Tk are zero. */
inline void bwd_load_transposed(const __global float *base, const int stride, const int kb, const int Tk, const int width,
                                float *t) {
    for (int j = 0; j < 16; ++j) {
        const bool valid = kb + j < Tk;
        const __global float *r = base + (size_t)(valid ? kb + j : 0) * stride;
        for (int e = 0; e < width; ++e) t[e * 16 + j] = valid ? r[e] : 0.0f;
    }
}

/* ------------------------------------------------------------------ variant 1: CPU */

/* lse of SQ queries of one head (when the forward did not save it). Launch [ceil(Tq / SQ), BH], local [1, 1]. */
__kernel void attention_bwd_stats(__global const float *q, __global const float *k, __global float *lse,
                                  const int Tq, const int Tk, const int causal, const float scale,
                                  const int4 ql, const int qoff, const int4 kl, const int koff) {
    const int i0 = get_global_id(0) * SQ;
    const int bh = get_global_id(1);
    if (i0 >= Tq) return;
    const int off = Tk - Tq;
    const int nq = min(SQ, Tq - i0);
    const __global float *kbase = OPERAND_ROW(k, kl, koff, bh, 0);
    int lim[SQ];
    float m[SQ], l[SQ];
    int kend = 0;
    for (int r = 0; r < SQ; ++r) {
        const int i = i0 + min(r, nq - 1);
        lim[r] = causal ? i + off : Tk - 1;
        kend = max(kend, lim[r] + 1);
        m[r] = -FLT_MAX;
        l[r] = 0.0f;
    }
    const int16 iota = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    float kt[D * 16];
    for (int kb = 0; kb < kend; kb += 16) {
        bwd_load_transposed(kbase, kl.w, kb, Tk, D, kt);
        for (int r = 0; r < nq; ++r) {
            if (kb > lim[r]) continue;
            const __global float *qr = OPERAND_ROW(q, ql, qoff, bh, i0 + r);
            float16 s = (float16)(0.0f);
            for (int e = 0; e < D; ++e) s = fma((float16)(qr[e]), vload16(e, kt), s);
            s = select(s * scale, (float16)(-INFINITY), (kb + iota) > (int16)(min(lim[r], Tk - 1)));
            const float mnew = fmax(m[r], hmax16(s));
            l[r] = l[r] * exp(m[r] - mnew) + hsum16(exp(s - mnew));
            m[r] = mnew;
        }
    }
    for (int r = 0; r < nq; ++r) {
        const size_t row = (size_t)bh * Tq + i0 + r;
        /* A query that sees no key (lim < 0) gets 0: the main kernels never read its lse. */
        lse[row] = lim[r] < 0 ? 0.0f : m[r] + log(l[r]);
    }
}

/* dk, dv of the key blocks [g·bpi, (g+1)·bpi) of head bh (Δ of each query from its dy and y rows),
 * and their share of dq, written to dq's rows for problem g·BH + bh (the final dq when G = 1,
 * else partial g, contiguous, for attention_bwd_dq_sum). dk's and dv's rows, and dq's when G = 1,
 * lie where their layouts say. Launch [G, BH], local [1, 1]; bpi = key blocks per work-item. */
__kernel void attention_bwd_cpu(__global const float *q, __global const float *k, __global const float *v,
                                __global const float *y, __global const float *dy, __global const float *lse,
                                __global float *dq, __global float *dk, __global float *dv,
                                const int Tq, const int Tk, const int causal, const float scale, const int bpi,
                                const int4 ql, const int qoff, const int4 kl, const int koff, const int4 vl, const int voff,
                                const int4 dql, const int dqoff, const int4 dkl, const int dkoff, const int4 dvl,
                                const int dvoff) {
    const int g = get_global_id(0);
    const int bh = get_global_id(1);
    const int nbh = get_global_size(1);
    const int off = Tk - Tq;
    const __global float *qbase = OPERAND_ROW(q, ql, qoff, bh, 0);
    const __global float *kbase = OPERAND_ROW(k, kl, koff, bh, 0);
    const __global float *vbase = OPERAND_ROW(v, vl, voff, bh, 0);
    const __global float *dybase = dy + (size_t)bh * Tq * DV;
    const __global float *ybase = y + (size_t)bh * Tq * DV;
    __global float *dqbase = OPERAND_ROW(dq, dql, dqoff, g * nbh + bh, 0);
    const int16 iota = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

    for (int i = 0; i < Tq; ++i)
        for (int e = 0; e < D; ++e) dqbase[(size_t)i * dql.w + e] = 0.0f;
    const int unseen = causal && off < 0 ? min(Tq, -off) : 0;   /* queries that see no key */
    const float uniform = 1.0f / (float)Tk;

    float kt[D * 16], vt[DV * 16], dkt[D * 16], dvt[DV * 16];
    float kr[16 * DC * 16];                 /* the block's k rows, zero-padded to whole chunks */
    const int kbEnd = min(Tk, (g + 1) * bpi * 16);
    for (int kb = g * bpi * 16; kb < kbEnd; kb += 16) {
        const int nk = min(16, Tk - kb);
        bwd_load_transposed(kbase, kl.w, kb, Tk, D, kt);
        bwd_load_transposed(vbase, vl.w, kb, Tk, DV, vt);
        for (int j = 0; j < 16; ++j)
            for (int c = 0; c < DC; ++c)
                vstore16(j < nk ? LOAD_CHUNK(kbase + (size_t)(kb + j) * kl.w, c, DC, DREM) : (float16)(0.0f), j * DC + c, kr);
        for (int e = 0; e < D; ++e) vstore16((float16)(0.0f), e, dkt);
        for (int c = 0; c < DV; ++c) vstore16((float16)(0.0f), c, dvt);
        const int16 inRange = (kb + iota) < (int16)(Tk);

        /* Queries that see no key: p = 1/Tk on every key, ds = 0. */
        for (int i = 0; i < unseen; ++i) {
            const __global float *dyr = dybase + (size_t)i * DV;
            const float16 p = select((float16)(0.0f), (float16)(uniform), inRange);
            for (int c = 0; c < DV; ++c) vstore16(fma(p, (float16)(dyr[c]), vload16(c, dvt)), c, dvt);
        }
        const int first = causal ? max(unseen, kb - off) : 0;   /* the first query that sees key kb */
        for (int i = max(first, 0); i < Tq; ++i) {
            const int lim = causal ? i + off : Tk - 1;
            const __global float *qr = qbase + (size_t)i * ql.w;
            const __global float *dyr = dybase + (size_t)i * DV;
            const size_t row = (size_t)bh * Tq + i;
            float16 s = (float16)(0.0f);
            for (int e = 0; e < D; ++e) s = fma((float16)(qr[e]), vload16(e, kt), s);
            const int16 visible = (kb + iota) <= (int16)(min(lim, Tk - 1));
            const float16 p = select((float16)(0.0f), exp(s * scale - lse[row]), visible);
            float16 dp = (float16)(0.0f);
            for (int c = 0; c < DV; ++c) {
                const float16 dyc = (float16)(dyr[c]);
                vstore16(fma(p, dyc, vload16(c, dvt)), c, dvt);
                dp = fma(dyc, vload16(c, vt), dp);
            }
            /* Δ per query and key block: DV fma, against the block's 16·(3·D + 2·DV). */
            const float delta = bwd_row_delta(dyr, ybase + (size_t)i * DV);
            const float16 ds = select((float16)(0.0f), p * (dp - delta), visible);
            for (int e = 0; e < D; ++e) vstore16(fma(ds, (float16)(qr[e]), vload16(e, dkt)), e, dkt);
            float dss[16];
            vstore16(ds * scale, 0, dss);
            __global float *dqr = dqbase + (size_t)i * dql.w;
            const int jn = min(nk, lim - kb + 1);
            for (int c = 0; c < DC; ++c) {
                float16 acc = LOAD_CHUNK(dqr, c, DC, DREM);
                for (int j = 0; j < jn; ++j) acc = fma((float16)(dss[j]), vload16(j * DC + c, kr), acc);
                STORE_CHUNK(acc, dqr, c, DC, DREM);
            }
        }
        for (int j = 0; j < nk; ++j) {
            __global float *dkr = OPERAND_ROW(dk, dkl, dkoff, bh, kb + j);
            __global float *dvr = OPERAND_ROW(dv, dvl, dvoff, bh, kb + j);
            for (int e = 0; e < D; ++e) dkr[e] = dkt[e * 16 + j] * scale;
            for (int c = 0; c < DV; ++c) dvr[c] = dvt[c * 16 + j];
        }
    }
}

/* Row i of problem bh of dq (where its layout says) = Σ_g row (g·BH + bh)·Tq + i of the contiguous
 * partials. Launch [Tq, BH], local [1, 1]. */
__kernel void attention_bwd_dq_sum(__global const float *partials, __global float *dq, const int Tq, const int groups,
                                   const int4 dql, const int dqoff) {
    const int i = get_global_id(0);
    const int bh = get_global_id(1);
    const size_t n = (size_t)get_global_size(1) * Tq * D;
    const __global float *p = partials + ((size_t)bh * Tq + i) * D;
    __global float *r = OPERAND_ROW(dq, dql, dqoff, bh, i);
    for (int c = 0; c < DC; ++c) {
        float16 acc = LOAD_CHUNK(p, c, DC, DREM);
        for (int g = 1; g < groups; ++g) acc += LOAD_CHUNK(p + (size_t)g * n, c, DC, DREM);
        STORE_CHUNK(acc, r, c, DC, DREM);
    }
}

/* ------------------------------------------------------------------ variant 2: GPU */

/* lse and Δ of one query. Launch [Tq, BH] (any local size). */
__kernel void attention_bwd_stats_rows(__global const float *q, __global const float *k, __global const float *y,
                                       __global const float *dy, __global float *lse, __global float *delta,
                                       const int Tq, const int Tk, const int causal, const float scale) {
    const int i = get_global_id(0);
    const int bh = get_global_id(1);
    if (i >= Tq) return;
    const int lim = causal ? i + Tk - Tq : Tk - 1;
    const size_t row = (size_t)bh * Tq + i;
    const __global float *qr = q + row * D;
    const __global float *kbase = k + (size_t)bh * Tk * D;
    float m = -FLT_MAX, l = 0.0f;
    for (int j = 0; j <= lim; ++j) {
        float s = 0.0f;
        for (int e = 0; e < D; ++e) s = fma(qr[e], kbase[(size_t)j * D + e], s);
        s *= scale;
        const float mnew = fmax(m, s);
        l = l * exp(m - mnew) + exp(s - mnew);
        m = mnew;
    }
    lse[row] = lim < 0 ? 0.0f : m + log(l);
    float d = 0.0f;
    for (int c = 0; c < DV; ++c) d = fma(dy[row * DV + c], y[row * DV + c], d);
    delta[row] = d;
}

/* dk, dv: a work-group per (block of get_local_size(0) keys, head), one key per work-item.
 * Launch [ceil(Tk / L)·L, BH], local [L, 1]. */
__kernel void attention_bwd_tiled_dkdv(__global const float *q, __global const float *k, __global const float *v,
                                       __global const float *dy, __global const float *lse, __global const float *delta,
                                       __global float *dk, __global float *dv,
                                       const int Tq, const int Tk, const int causal, const float scale) {
    __local float qs[QT * D];
    __local float dys[QT * DV];
    __local float ls[QT], ds_[QT];
    const int lid = get_local_id(0);
    const int lsz = get_local_size(0);
    const int firstKey = get_group_id(0) * lsz;
    const int j = firstKey + lid;
    const int bh = get_group_id(1);
    const int off = Tk - Tq;
    const bool valid = j < Tk;
    const int jj = valid ? j : Tk - 1;
    float kp[D], vp[DV], dka[D], dva[DV];
    for (int e = 0; e < D; ++e) { kp[e] = k[((size_t)bh * Tk + jj) * D + e]; dka[e] = 0.0f; }
    for (int c = 0; c < DV; ++c) { vp[c] = v[((size_t)bh * Tk + jj) * DV + c]; dva[c] = 0.0f; }
    const float uniform = 1.0f / (float)Tk;
    /* Queries before firstKey − off see none of the group's keys (unless they see no key at all). */
    const int start = !causal || off < 0 ? 0 : max(0, firstKey - off);
    for (int t0 = start; t0 < Tq; t0 += QT) {
        const int nt = min(QT, Tq - t0);
        barrier(CLK_LOCAL_MEM_FENCE);
        const __global float *qt = q + ((size_t)bh * Tq + t0) * D;
        const __global float *dyt = dy + ((size_t)bh * Tq + t0) * DV;
        for (int e = lid; e < nt * D; e += lsz) qs[e] = qt[e];
        for (int e = lid; e < nt * DV; e += lsz) dys[e] = dyt[e];
        for (int e = lid; e < nt; e += lsz) { ls[e] = lse[(size_t)bh * Tq + t0 + e]; ds_[e] = delta[(size_t)bh * Tq + t0 + e]; }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int r = 0; r < nt; ++r) {
            const int lim = causal ? t0 + r + off : Tk - 1;
            if (lim < 0) {
                for (int c = 0; c < DV; ++c) dva[c] = fma(uniform, dys[r * DV + c], dva[c]);
                continue;
            }
            if (j > lim) continue;
            float s = 0.0f;
            for (int e = 0; e < D; ++e) s = fma(qs[r * D + e], kp[e], s);
            const float p = exp(s * scale - ls[r]);
            float dp = 0.0f;
            for (int c = 0; c < DV; ++c) {
                dva[c] = fma(p, dys[r * DV + c], dva[c]);
                dp = fma(dys[r * DV + c], vp[c], dp);
            }
            const float dsv = p * (dp - ds_[r]);
            for (int e = 0; e < D; ++e) dka[e] = fma(dsv, qs[r * D + e], dka[e]);
        }
    }
    if (valid) {
        for (int e = 0; e < D; ++e) dk[((size_t)bh * Tk + j) * D + e] = dka[e] * scale;
        for (int c = 0; c < DV; ++c) dv[((size_t)bh * Tk + j) * DV + c] = dva[c];
    }
}

/* dq: a work-group per (block of get_local_size(0) queries, head), one query per work-item.
 * Launch [ceil(Tq / L)·L, BH], local [L, 1]. */
__kernel void attention_bwd_tiled_dq(__global const float *q, __global const float *k, __global const float *v,
                                     __global const float *dy, __global const float *lse, __global const float *delta,
                                     __global float *dq, const int Tq, const int Tk, const int causal, const float scale) {
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
    const int kend = causal ? min(Tk, min(first + lsz - 1, Tq - 1) + off + 1) : Tk;   /* keys the group needs */
    const size_t row = (size_t)bh * Tq + iq;
    float qp[D], dyp[DV], acc[D];
    for (int e = 0; e < D; ++e) { qp[e] = q[row * D + e]; acc[e] = 0.0f; }
    for (int c = 0; c < DV; ++c) dyp[c] = dy[row * DV + c];
    for (int t0 = 0; t0 < kend; t0 += KT) {
        const int nt = min(KT, kend - t0);
        barrier(CLK_LOCAL_MEM_FENCE);
        const __global float *kt = k + ((size_t)bh * Tk + t0) * D;
        const __global float *vt = v + ((size_t)bh * Tk + t0) * DV;
        for (int e = lid; e < nt * D; e += lsz) ks[e] = kt[e];
        for (int e = lid; e < nt * DV; e += lsz) vs[e] = vt[e];
        barrier(CLK_LOCAL_MEM_FENCE);
        const int jmax = min(nt, lim - t0 + 1);
        /* Read per tile, after the barrier: held across it, these two values came out wrong for
           all but the last work-item of a group on Intel's CPU runtime (2026.2). */
        const float l = lse[row], dl = delta[row];
        for (int jj = 0; jj < jmax; ++jj) {
            float s = 0.0f;
            for (int e = 0; e < D; ++e) s = fma(qp[e], ks[jj * D + e], s);
            const float p = exp(s * scale - l);
            float dp = 0.0f;
            for (int c = 0; c < DV; ++c) dp = fma(dyp[c], vs[jj * DV + c], dp);
            const float dsv = p * (dp - dl);
            for (int e = 0; e < D; ++e) acc[e] = fma(dsv, ks[jj * D + e], acc[e]);
        }
    }
    if (i < Tq)
        for (int e = 0; e < D; ++e) dq[((size_t)bh * Tq + i) * D + e] = acc[e] * scale;
}

/* ------------------------------------------------------------------ the decomposed form's softmax backward */

/* ds = scale · p ⊙ (dp − Σ_j p·dp) over rows of `cols` (p, dp, ds [rows, cols]). Launch [rows], local [1]. */
__kernel void attention_bwd_softmax(__global const float *p, __global const float *dp, __global float *ds,
                                    const int rows, const int cols, const float scale) {
    const int r = get_global_id(0);
    if (r >= rows) return;
    const __global float *pr = p + (size_t)r * cols;
    const __global float *dpr = dp + (size_t)r * cols;
    __global float *dsr = ds + (size_t)r * cols;
    const int chunks = (cols + 15) / 16, rem = cols % 16;
    float16 acc = (float16)(0.0f);
    for (int c = 0; c < chunks; ++c) {
        const bool tail = rem != 0 && c == chunks - 1;
        acc = fma(tail ? load_tail(pr + c * 16, rem) : vload16(c, pr),
                  tail ? load_tail(dpr + c * 16, rem) : vload16(c, dpr), acc);
    }
    const float sum = hsum16(acc);
    for (int c = 0; c < chunks; ++c) {
        const bool tail = rem != 0 && c == chunks - 1;
        const float16 pv = tail ? load_tail(pr + c * 16, rem) : vload16(c, pr);
        const float16 dpv = tail ? load_tail(dpr + c * 16, rem) : vload16(c, dpr);
        const float16 r16 = pv * (dpv - sum) * scale;
        if (tail) store_tail(r16, dsr + c * 16, rem);
        else vstore16(r16, c, dsr);
    }
}
