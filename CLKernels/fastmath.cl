/* fastmath — vectorisable math helpers, not a kernel family: the elementwise fusion prepends this
 * file to each generated kernel that uses them (see Sources/CLBackend/Fusion/ElementwiseCodegen.swift),
 * and it is prepended to the families that call them (KernelSourceLookup.prerequisites: matmul,
 * layernorm, quant, loss, softmax, attention).
 *
 * No variants, no kernels. pocl's built-in tanh and exp do not vectorise (each float16 lane becomes
 * a scalar libm call): a fused tanh over 128×512 took 0.08–0.10 ms, more than the matmul before it
 * moved in memory. These use only fma, rint, clamp, integer shifts and one divide, so float16 code
 * stays in vector registers.
 *   tanh_fast_float / tanh_fast_float16: tanh as a [13/6] rational function of the argument clamped
 *     to ±7.9988 (Eigen's float coefficients; layernorm.cl's proportions norm calls it too). Max abs error 3.5e-7 over the real line; odd, and exact to float rounding near 0
 *     (the result is z·p(z²)/q(z²)).
 *   exp_fast_float / exp_fast_float16: eˣ by Cody–Waite reduction x = k·ln2 + r (|r| ≤ ln2/2, ln2
 *     split in two so k·ln2 is exact), Cephes' degree-7 polynomial for eʳ, and 2ᵏ built in the
 *     exponent bits. The argument is clamped to [−87, 88] so 2ᵏ stays a normal float: the result
 *     never overflows to inf (e⁸⁸ ≈ 1.7e38) nor flushes to 0. Relative error ≤ 2 ulp.
 *   gelu_fast_*: GELU's tanh form rewritten without its cancellation: 0.5·(1 + tanh z) = 1/(1 + e⁻²ᶻ),
 *     so gelu(x) = x / (1 + e⁻²ᶻ), z = √(2/π)(x + 0.044715x³). Computing 1 + tanh z in float loses
 *     every digit where tanh z ≈ −1 (x ≲ −3: gelu(−3.5) ≈ −8e-4 came out with 1e-3 relative error
 *     through the rational tanh); the quotient form keeps full relative precision there.
 *   sigmoid_fast_*: 1/(1 + e⁻ˣ) through exp_fast.
 *   hsum16 / hmax16: the sum / max of a float16's lanes by halving (the CPU kernels' once-per-row or
 *     once-per-output reduction).
 */
#define TANH_FAST_BODY(T, z) \
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
    return c * p / q;

#define EXP_FAST_BODY(T, IT, x) \
    const T c = clamp((x), (T)(-87.0f), (T)(88.0f)); \
    const T k = rint(c * (T)(1.44269504088896341f)); \
    T r = fma(k, (T)(-0.693359375f), c); \
    r = fma(k, (T)(2.12194440e-4f), r); \
    T p = fma(r, (T)(1.9875691500e-4f), (T)(1.3981999507e-3f)); \
    p = fma(p, r, (T)(8.3334519073e-3f)); \
    p = fma(p, r, (T)(4.1665795894e-2f)); \
    p = fma(p, r, (T)(1.6666665459e-1f)); \
    p = fma(p, r, (T)(5.0000001201e-1f)); \
    p = fma(p, r * r, r) + (T)(1.0f); \
    return p * as_##T((convert_##IT(k) + (IT)(127)) << 23);

inline float tanh_fast_float(const float z) { TANH_FAST_BODY(float, z) }
inline float16 tanh_fast_float16(const float16 z) { TANH_FAST_BODY(float16, z) }
inline float exp_fast_float(const float x) { EXP_FAST_BODY(float, int, x) }
inline float16 exp_fast_float16(const float16 x) { EXP_FAST_BODY(float16, int16, x) }

#define GELU_FAST_BODY(T, x) \
    const T z = (T)(0.7978845608028654f) * fma((T)(0.044715f) * (x) * (x), (x), (x)); \
    return (x) / ((T)(1.0f) + exp_fast_##T((T)(-2.0f) * z));

inline float gelu_fast_float(const float x) { GELU_FAST_BODY(float, x) }
inline float16 gelu_fast_float16(const float16 x) { GELU_FAST_BODY(float16, x) }
inline float sigmoid_fast_float(const float x) { return 1.0f / (1.0f + exp_fast_float(-x)); }
inline float16 sigmoid_fast_float16(const float16 x) { return (float16)(1.0f) / ((float16)(1.0f) + exp_fast_float16(-x)); }

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
