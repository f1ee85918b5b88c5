/// How a ``Parameter`` gets its starting values, drawn from a seeded ``XorShiftRandom`` so that
/// every backend and every run starts from the same numbers.
public enum Initializer: Sendable, Hashable {
    /// Every element `value` (no random draws).
    case constant(Float)
    /// Normal with mean 0 and standard deviation `std` (``XorShiftRandom/normalArray(count:mean:std:)``).
    case normal(std: Double)
    /// Uniform in `[−bound, bound)` (``XorShiftRandom/uniformArray(count:lo:hi:)``).
    case uniform(bound: Double)

    /// All zeros.
    public static let zeros = Initializer.constant(0)
    /// All ones.
    public static let ones = Initializer.constant(1)

    /// `count` values, drawn from `random` in row-major order.
    public func values(count: Int, random: inout XorShiftRandom) -> [Float] {
        switch self {
        case .constant(let value): return [Float](repeating: value, count: count)
        case .normal(let std): return random.normalArray(count: count, std: std)
        case .uniform(let bound): return random.uniformArray(count: count, lo: -bound, hi: bound)
        }
    }
}
