import Foundation

/// A small seeded xorshift64* generator, reproducible across platforms and backends.
///
/// Used by tests, the conformance suite and model initialisation.
public struct XorShiftRandom: Sendable {
    /// The generator state (never 0).
    public var state: UInt64

    /// Seeds the generator; a seed of 0 is replaced by a fixed non-zero constant.
    public init(seed: UInt64) {
        self.state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed
    }

    /// The next 32 random bits (xorshift64*, upper half of the product).
    public mutating func next() -> UInt32 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return UInt32(truncatingIfNeeded: (state &* 0x2545_F491_4F6C_DD1D) >> 32)
    }

    /// Uniform in `[0, 1)` with 24 bits of resolution.
    public mutating func uniform() -> Double { Double(next() >> 8) / 16_777_216 }

    /// Uniform in `[lo, hi)`.
    public mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * uniform() }

    /// Two independent standard normals (Box–Muller).
    public mutating func normals() -> (Double, Double) {
        var u1 = uniform()
        while u1 == 0 { u1 = uniform() }
        let u2 = uniform()
        let r = (-2 * Foundation.log(u1)).squareRoot()
        return (r * Foundation.cos(2 * Double.pi * u2), r * Foundation.sin(2 * Double.pi * u2))
    }

    /// `count` standard normals (times `std`, plus `mean`), taken as z1, z2, z1, z2, … from
    /// successive ``normals()`` pairs; with an odd count the last z2 is dropped.
    public mutating func normalArray(count: Int, mean: Double = 0, std: Double = 1) -> [Float] {
        var result = [Float]()
        result.reserveCapacity(count)
        while result.count < count {
            let (z1, z2) = normals()
            result.append(Float(mean + std * z1))
            if result.count < count { result.append(Float(mean + std * z2)) }
        }
        return result
    }

    /// `count` values uniform in `[lo, hi)`.
    public mutating func uniformArray(count: Int, lo: Double = 0, hi: Double = 1) -> [Float] {
        (0..<count).map { _ in Float(uniform(lo, hi)) }
    }
}
