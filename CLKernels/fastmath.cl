/* fastmath — vectorisable math helpers, not a kernel family: the elementwise fusion prepends this
 * file to each generated kernel that uses them (see Sources/CLBackend/Fusion/ElementwiseCodegen.swift),
 * and it is prepended to the families that call them (KernelSourceLookup.prerequisites: matmul,
 * layernorm, quant, loss, softmax, attention).
 *
 * No variants, no kernels. pocl's built-in tanh and exp do not vectorise (each float16 lane becomes
 * a scalar libm call): a fused tanh over 128×512 then costs more than the matmul that feeds it.
 * These use only fma, rint, clamp, select, integer shifts and one divide, so float16 code stays in
 * vector registers.
 *
 * Non-finite values follow IEEE and the math, as the reference backend does: NaN in gives NaN out,
 * and ±Inf gives the limit. NaN is detected by its bits (NAN_MASK: exponent all ones, mantissa not
 * zero), an integer test that no floating-point flag (-cl-finite-math-only included) may fold away;
 * the clamps that keep the polynomials in range would otherwise turn NaN into a number.
 *   tanh_fast_float / tanh_fast_float16: tanh as a [13/6] rational function of the argument clamped
 *     to ±7.9988 (Eigen's float coefficients; layernorm.cl's proportions norm calls it too). Max abs
 *     error 3.5e-7 over the real line; odd, and exact to float rounding near 0 (the result is
 *     z·p(z²)/q(z²)). tanh(±Inf) = ±1 (the clamp), tanh(NaN) = NaN.
 *   exp_fast_float / exp_fast_float16: eˣ by Cody–Waite reduction x = k·ln2 + r (|r| ≤ ln2/2, ln2
 *     split in two so k·ln2 is exact), Cephes' degree-7 polynomial for eʳ, and 2ᵏ built in the
 *     exponent bits as 2·eʳ·2^(k−1) (the 2 folded into the polynomial's last fma), so k = 128 (x up
 *     to the clamp at 89) overflows to +Inf exactly where expf does (x > 88.7228). Relative error
 *     ≤ 2 ulp on results ≥ 2.2e-38; x < −86.98 (results below 2.2e-38, near FLT_MIN) gives 0, so
 *     exp(−Inf) = 0; exp(+Inf) = +Inf, exp(NaN) = NaN. Against the NaN-blind form (one clamp, no
 *     selects) the NaN and underflow selects cost ~5 vector ops of ~22.
 *   exp_nonpos_float / exp_nonpos16: eˣ for the x ≤ 0 of max-subtracted rows (softmax, loss): the
 *     same reduction with rounding by truncation and a degree-7 Taylor polynomial (truncation below
 *     6e-9 relative); x < −87 gives 0 (−Inf too), NaN gives NaN (so a NaN in a row makes its sum NaN
 *     even where hmax16 dropped it; a +Inf in a row makes x − max = Inf − Inf = NaN the same way).
 *   gelu_fast_*: GELU's tanh form rewritten without its cancellation: 0.5·(1 + tanh z) = 1/(1 + e⁻²ᶻ),
 *     so gelu(x) = x / (1 + e⁻²ᶻ), z = √(2/π)(x + 0.044715x³). Computing 1 + tanh z in float loses
 *     every digit where tanh z ≈ −1 (x ≲ −3: gelu(−3.5) ≈ −8e-4 came out with 1e-3 relative error
 *     through the rational tanh); the quotient form keeps full relative precision there.
 *     gelu(+Inf) = +Inf; x < −20 gives 0 (the quotient is −0 already from x ≈ −11, and −Inf/Inf
 *     would be NaN at x = −Inf, whose limit is 0); gelu(NaN) = NaN.
 *   sigmoid_fast_*: 1/(1 + e⁻ˣ) through exp_fast: sigmoid(+Inf) = 1, sigmoid(−Inf) = 0.
 *   hsum16 / hmax16: the sum / max of a float16's lanes by halving (the CPU kernels' once-per-row or
 *     once-per-output reduction). hmax16 is fmax's: a NaN lane is dropped. Its callers (softmax, loss,
 *     attention) subtract the max and sum exp_nonpos of every element, which carries the NaN into
 *     the row's sum and so into every output of the row; a max reduction that is itself the
 *     result (reduce.cl) propagates NaN on its own.
 */
#define NAN_MASK(IT, x) ((as_##IT(x) & (IT)(0x7fffffff)) > (IT)(0x7f800000))

#define TANH_FAST_BODY(T, IT, z) \
    const T c = clamp((z), (T)(-7.99881172180175781f), (T)(7.99881172180175781f)), x2 = c * c; \
    T p = fma(x2, (T)(-2.76076847742355e-16f), (T)(2.00018790482477e-13f)); \
    p = fma(x2, p, (T)(-8.60467152213735e-11f)); \
    p = fma(x2, p, (T)(5.12229709037114e-08f)); \
    p = fma(x2, p, (T)(1.48572235717979e-05f)); \
    p = fma(x2, p, (T)(6.37261928875436e-04f)); \
    p = fma(x2, p, (T)(4.89352455891786e-03f)); \
    T q = fma(x2, (T)(1.19825839466702e-06f), (T)(1.18534705686654e-04f)); \
    q = fma(x2, q, (T)(2.26843463243900e-03f)); \
    q = fma(x2, q, (T)(4.89352518554385e-03f)); \
    return select(c * p / q, (z), NAN_MASK(IT, z));

#define EXP_FAST_BODY(T, IT, x) \
    const T c = clamp((x), (T)(-86.98f), (T)(89.0f)); \
    const T k = rint(c * (T)(1.44269504088896341f)); \
    T r = fma(k, (T)(-0.693359375f), c); \
    r = fma(k, (T)(2.12194440e-4f), r); \
    T p = fma(r, (T)(1.9875691500e-4f), (T)(1.3981999507e-3f)); \
    p = fma(p, r, (T)(8.3334519073e-3f)); \
    p = fma(p, r, (T)(4.1665795894e-2f)); \
    p = fma(p, r, (T)(1.6666665459e-1f)); \
    p = fma(p, r, (T)(5.0000001201e-1f)); \
    p = fma(fma(p, r * r, r), (T)(2.0f), (T)(2.0f)); \
    const T y = p * as_##T((convert_##IT(k) + (IT)(126)) << 23); \
    return select(select(y, (T)(0.0f), (x) < (T)(-86.98f)), (x), NAN_MASK(IT, x));

inline float tanh_fast_float(const float z) { TANH_FAST_BODY(float, int, z) }
inline float16 tanh_fast_float16(const float16 z) { TANH_FAST_BODY(float16, int16, z) }
inline float exp_fast_float(const float x) { EXP_FAST_BODY(float, int, x) }
inline float16 exp_fast_float16(const float16 x) { EXP_FAST_BODY(float16, int16, x) }

#define EXP_NONPOS_BODY(T, IT, x) \
    const T xc = fmax((x), (T)(-87.0f)); \
    const IT ni = convert_##IT(fma(xc, (T)(1.44269504f), (T)(-0.5f)));   /* round, xc <= 0 */ \
    const T n = convert_##T(ni); \
    T r = fma(n, (T)(-0.693359375f), xc); \
    r = fma(n, (T)(2.12194440e-4f), r); \
    T p = fma((T)(1.0f / 5040.0f), r, (T)(1.0f / 720.0f)); \
    p = fma(p, r, (T)(1.0f / 120.0f)); \
    p = fma(p, r, (T)(1.0f / 24.0f)); \
    p = fma(p, r, (T)(1.0f / 6.0f)); \
    p = fma(p, r, (T)(0.5f)); \
    p = fma(p, r, (T)(1.0f)); \
    p = fma(p, r, (T)(1.0f)); \
    const T scaled = p * as_##T((ni + (IT)(127)) << 23); \
    return select(select(scaled, (T)(0.0f), (x) < (T)(-87.0f)), (x), NAN_MASK(IT, x));

inline float16 exp_nonpos16(const float16 x) { EXP_NONPOS_BODY(float16, int16, x) }
inline float exp_nonpos(const float x) { EXP_NONPOS_BODY(float, int, x) }

#define GELU_FAST_BODY(T, x) \
    const T z = (T)(0.7978845608028654f) * fma((T)(0.044715f) * (x) * (x), (x), (x)); \
    return select((x) / ((T)(1.0f) + exp_fast_##T((T)(-2.0f) * z)), (T)(0.0f), (x) < (T)(-20.0f));

/* gelu′(x), the same ops in the same order as TensorGraph's geluSlope (autograd's gelu backward). */
#define GELU_SLOPE_BODY(T, x) \
    const T x2 = (x) * (x); \
    const T t = tanh_fast_##T((x2 * (T)(0.044715f) + (T)(1.0f)) * (x) * (T)(0.7978845608028654f)); \
    const T du = x2 * (T)(3.0f * 0.044715f * 0.7978845608028654f) + (T)(0.7978845608028654f); \
    return (t + (T)(1.0f)) * (T)(0.5f) + (x) * (T)(0.5f) * ((T)(1.0f) - t * t) * du;

inline float gelu_slope_float(const float x) { GELU_SLOPE_BODY(float, x) }
inline float16 gelu_slope_float16(const float16 x) { GELU_SLOPE_BODY(float16, x) }
inline float gelu_fast_float(const float x) { GELU_FAST_BODY(float, x) }
inline float16 gelu_fast_float16(const float16 x) { GELU_FAST_BODY(float16, x) }
inline float sigmoid_fast_float(const float x) { return 1.0f / (1.0f + exp_fast_float(-x)); }
inline float16 sigmoid_fast_float16(const float16 x) { return (float16)(1.0f) / ((float16)(1.0f) + exp_fast_float16(-x)); }

/* The first element of row t of problem bh of an attention operand whose rows lie at
 * offset + (bh / L.x)·L.y + (bh % L.x)·L.z + t·L.w (L = heads, batch stride, head stride, row
 * stride): a contiguous [BH, T, W] tensor is L = (1, T·W, 0, W), offset 0; heads read in place
 * from a fused projection's [B, T, 3C] output are L = (H, T·3C, W, 3C), offset part·C. */
#define OPERAND_ROW(p, L, offset, bh, t) ((p) + (size_t)(offset) + (size_t)((bh) / (L).x) * (size_t)(L).y \
                                          + (size_t)((bh) % (L).x) * (size_t)(L).z + (size_t)(t) * (size_t)(L).w)

inline float hsum16(const float16 v) {
    const float8 a = v.lo + v.hi;
    const float4 b = a.lo + a.hi;
    const float2 c = b.lo + b.hi;
    return c.x + c.y;
}
inline float hmax16(const float16 v) {
    const float8 a = fmax(v.lo, v.hi);
    const float4 b = fmax(a.lo, a.hi);
    const float2 c = fmax(b.lo, b.hi);
    return fmax(c.x, c.y);
}

/* Partial float16 chunks of a row: n (1..15) floats from p, zeros after; and the inverse. */
inline float16 load_tail(const __global float *p, const int n) {
    float t[16];
    for (int e = 0; e < 16; ++e) t[e] = e < n ? p[e] : 0.0f;
    return vload16(0, t);
}

inline void store_tail(const float16 x, __global float *p, const int n) {
    float t[16];
    vstore16(x, 0, t);
    for (int e = 0; e < n; ++e) p[e] = t[e];
}

/* Chunk c of a row of N floats held as NC float16 chunks, the last one partial when REM != 0. */
#define LOAD_CHUNK(row, c, NC, REM) (((REM) != 0 && (c) == (NC) - 1) ? load_tail((row) + (c) * 16, (REM)) : vload16((c), (row)))
