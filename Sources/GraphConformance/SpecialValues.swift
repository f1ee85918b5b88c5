/// The IEEE special values a ``InputFill/withSpecials(_:count:kinds:)`` input may hold.
public struct SpecialValues: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    /// Creates a set from its raw bits.
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// A quiet NaN.
    public static let nan = SpecialValues(rawValue: 1)
    /// +Inf and −Inf.
    public static let infinities = SpecialValues(rawValue: 2)
    /// ±FLT_MAX (`Float.greatestFiniteMagnitude`): finite inputs whose squares and sums overflow.
    public static let floatMax = SpecialValues(rawValue: 4)
    /// ±denormals (1e-40 and −3e-42): finite inputs that flush-to-zero hardware would zero.
    public static let denormals = SpecialValues(rawValue: 8)
    /// Every kind.
    public static let all: SpecialValues = [.nan, .infinities, .floatMax, .denormals]

    /// The values of the kinds in the set, in a fixed order.
    public var values: [Float] {
        var result: [Float] = []
        if contains(.nan) { result.append(.nan) }
        if contains(.infinities) { result += [.infinity, -.infinity] }
        if contains(.floatMax) { result += [.greatestFiniteMagnitude, -.greatestFiniteMagnitude] }
        if contains(.denormals) { result += [1e-40, -3e-42] }
        return result
    }
}
