/// Dropout (Srivastava et al. 2014) as a graph op: masks drawn from a counter-based hash, so no
/// random state lives anywhere and every backend draws the same mask from the same seed.
public enum DropoutMask {
    /// The 24-bit threshold a hash must stay under to keep an element: `keep · 2²⁴`.
    public static func threshold(keep: Float) -> UInt32 { UInt32((Double(keep) * 16_777_216).rounded()) }

    /// Whether element `index` survives: the top 24 bits of `hash(index·φ + seed·c₁ + salt·c₂)` are
    /// below `threshold` (Wellons' lowbias32 finaliser; `CLKernels/dropout.cl` computes the same).
    public static func keeps(seed: Int32, salt: UInt32, index: Int, threshold: UInt32) -> Bool {
        var x = UInt32(truncatingIfNeeded: index) &* 0x9E37_79B9 &+ UInt32(bitPattern: seed) &* 0x85EB_CA6B &+ salt &* 0xC2B2_AE35
        x ^= x >> 16
        x = x &* 0x7FEB_352D
        x ^= x >> 15
        x = x &* 0x846C_A68B
        x ^= x >> 16
        return x >> 8 < threshold
    }
}

/// `x` with each element zeroed with probability `rate` and the rest scaled by `1/(1 − rate)`
/// (inverted dropout: no rescaling at inference). `seed` is an i32 `[1]` input fed per step;
/// each dropout site of a graph needs its own `salt`. A rate of 0 returns `x` itself.
public func dropout(_ x: Tensor, rate: Float, seed: Tensor, salt: UInt32) throws -> Tensor {
    guard rate > 0 else { return x }
    guard rate < 1 else {
        throw GraphError(op: "dropout", shapes: [x.shape], expected: "a rate in [0, 1)", message: "rate \(rate)")
    }
    return try x * x.graph.apply(.dropoutMask(shape: x.shape, keep: 1 - rate, salt: salt), [seed])
}
