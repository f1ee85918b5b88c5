/* fastmath — vectorisable math helpers, not a kernel family: the elementwise fusion prepends this
 * file to each generated kernel that uses them (see Sources/CLBackend/Fusion/ElementwiseCodegen.swift).
 *
 * No variants, no kernels.
 *   tanh_fast_float / tanh_fast_float16: tanh as a [13/6] rational function of the argument clamped
 *     to ±7.9988 (Eigen's float coefficients; the same approximation layernorm.cl's proportions
 *     norm uses): only fma and one divide, so float16 code stays in vector registers. pocl's
 *     built-in tanh does not vectorise: a fused tanh over 128×512 took 0.08–0.10 ms, more than
 *     the matmul before it moved in memory. Max abs error 3.5e-7 over the real line; odd, and
 *     exact to float rounding near 0 (the result is z·p(z²)/q(z²)).
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

inline float tanh_fast_float(const float z) { TANH_FAST_BODY(float, z) }
inline float16 tanh_fast_float16(const float16 z) { TANH_FAST_BODY(float16, z) }
