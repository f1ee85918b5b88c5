import TensorGraph

/// The tensors of a set that hold NaN or ±Inf, with how many of each: what a checkpoint load warns
/// about and what stops training before a checkpoint of such weights is written.
public struct NonFiniteValues: Sendable, Equatable, CustomStringConvertible {
    /// One tensor's non-finite values.
    public struct Entry: Sendable, Equatable {
        /// The tensor's name.
        public var name: String
        /// How many elements are NaN, +Inf and −Inf, of `count`.
        public var nan: Int, positiveInfinity: Int, negativeInfinity: Int, count: Int

        /// Memberwise.
        public init(name: String, nan: Int, positiveInfinity: Int, negativeInfinity: Int, count: Int) {
            (self.name, self.nan, self.positiveInfinity, self.negativeInfinity, self.count) = (name, nan, positiveInfinity, negativeInfinity, count)
        }
    }

    /// The tensors with at least one non-finite element, sorted by name.
    public let entries: [Entry]

    /// Scans `tensors` (quantized ones through their dequantized values; i32 tensors are finite).
    public init(_ tensors: [String: TensorData]) {
        var entries: [Entry] = []
        for (name, value) in tensors where value.dtype != .i32 {
            var entry = Entry(name: name, nan: 0, positiveInfinity: 0, negativeInfinity: 0, count: value.count)
            for x in value.floats where !x.isFinite {
                if x.isNaN { entry.nan += 1 } else if x > 0 { entry.positiveInfinity += 1 } else { entry.negativeInfinity += 1 }
            }
            if entry.nan + entry.positiveInfinity + entry.negativeInfinity > 0 { entries.append(entry) }
        }
        self.entries = entries.sorted { $0.name < $1.name }
    }

    /// Whether every value is finite.
    public var isEmpty: Bool { entries.isEmpty }

    /// `'embedding.weight' (3 +Inf of 1296), 'hidden.weight' (1536 NaN of 73728)`: the first four
    /// tensors, then how many more.
    public var description: String {
        let shown = entries.prefix(4).map { entry in
            let parts = [(entry.nan, "NaN"), (entry.positiveInfinity, "+Inf"), (entry.negativeInfinity, "-Inf")]
                .filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }
            return "'\(entry.name)' (\(parts.joined(separator: ", ")) of \(entry.count))"
        }.joined(separator: ", ")
        return entries.count > 4 ? shown + " and \(entries.count - 4) more tensors" : shown
    }

    /// `NaN`, `+Inf` or `-Inf` for a non-finite value, else its decimal form.
    public static func describe(_ value: Double) -> String {
        value.isNaN ? "NaN" : value == .infinity ? "+Inf" : value == -.infinity ? "-Inf" : "\(value)"
    }
}
