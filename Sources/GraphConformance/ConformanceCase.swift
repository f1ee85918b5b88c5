import TensorGraph

/// One op × shape check: a graph builder and a random-input generator.
public struct ConformanceCase: Sendable {
    /// The op under test: `"matmul"`, `"softmax"`, `"add"`, …
    public let op: String
    /// The shapes and options, e.g. `"[7, 13]x[13, 257] tB"`.
    public let label: String
    /// The largest normalised mean squared error accepted against the reference.
    public let nmseBound: Double
    /// True for the one large case per op, skipped by `cases(includeLarge: false)`.
    public let isLarge: Bool
    /// Builds inputs and the op on a fresh graph; returns the outputs to compare.
    public let build: @Sendable (Graph) throws -> [Tensor]
    /// Random inputs for the graph's inputs (indices always valid).
    public let feeds: @Sendable (inout XorShiftRandom) -> [String: TensorData]
    /// Values for the graph's variables (e.g. quantized weights), set on both plans before the run.
    public var variables: @Sendable (inout XorShiftRandom) -> [String: TensorData] = { _ in [:] }
    /// A bound that depends on the arithmetic shortcuts the backend may take under the pass's
    /// options (e.g. a kernel variant that rounds activations to half); `nil` from it, or no
    /// closure, means ``nmseBound``.
    public var shortcutBound: (@Sendable (NumericShortcuts) -> Double?)? = nil

    /// The bound this case is held to when the plan may take `shortcuts`.
    public func bound(under shortcuts: NumericShortcuts) -> Double { shortcutBound?(shortcuts) ?? nmseBound }

    /// Creates a case.
    public init(op: String, label: String, nmseBound: Double, isLarge: Bool = false,
                build: @escaping @Sendable (Graph) throws -> [Tensor],
                feeds: @escaping @Sendable (inout XorShiftRandom) -> [String: TensorData]) {
        self.op = op
        self.label = label
        self.nmseBound = nmseBound
        self.isLarge = isLarge
        self.build = build
        self.feeds = feeds
    }
}

/// How a conformance input is filled.
public enum InputFill: Sendable, Hashable {
    /// f32 uniform in `[lo, hi)`.
    case uniform(Double, Double)
    /// f32 whole numbers uniform in `lo...hi` (so equality comparisons and select conditions hit).
    case smallInts(Int, Int)
    /// i32 indices uniform in `0..<bound`.
    case indices(Int)
    /// i32 targets in `0..<classes`, each replaced by `ignore` with probability `ignoreFraction`.
    case targets(Int, ignore: Int32?, ignoreFraction: Double)
    /// An f32 fill with `count` positions, drawn from the seed, replaced by special values: the
    /// ``SpecialValues/values`` of `kinds` in turn, starting at a seeded one (non-finite inputs for
    /// the IEEE conformance cases; at most one value per position).
    indirect case withSpecials(InputFill, count: Int, kinds: SpecialValues)

    /// The dtype the input is declared with.
    public var dtype: DType {
        switch self {
        case .uniform, .smallInts: return .f32
        case .indices, .targets: return .i32
        case .withSpecials(let base, _, _): return base.dtype
        }
    }

    /// Random data of `shape`.
    public func generate(_ shape: Shape, _ rng: inout XorShiftRandom) -> TensorData {
        let n = shape.count
        switch self {
        case .uniform(let lo, let hi):
            return TensorData(shape: shape, floats: rng.uniformArray(count: n, lo: lo, hi: hi))
        case .smallInts(let lo, let hi):
            return TensorData(shape: shape, floats: (0..<n).map { _ in Float(randomInt(&rng, hi - lo + 1) + lo) })
        case .indices(let bound):
            return TensorData(shape: shape, ints: (0..<n).map { _ in Int32(randomInt(&rng, bound)) })
        case .targets(let classes, let ignore, let fraction):
            return TensorData(shape: shape, ints: (0..<n).map { _ in
                let t = Int32(randomInt(&rng, classes))
                if let ignore, rng.uniform() < fraction { return ignore }
                return t
            })
        case .withSpecials(let base, let count, let kinds):
            precondition(base.dtype == .f32, "withSpecials needs an f32 fill, not \(base)")
            var values = base.generate(shape, &rng).floats
            let specials = kinds.values
            guard !specials.isEmpty, n > 0 else { return TensorData(shape: shape, floats: values) }
            var positions = Array(0..<n)
            let first = randomInt(&rng, specials.count)
            for k in 0..<Swift.min(count, n) {
                positions.swapAt(k, k + randomInt(&rng, n - k))
                values[positions[k]] = specials[(first + k) % specials.count]
            }
            return TensorData(shape: shape, floats: values)
        }
    }
}

private func randomInt(_ rng: inout XorShiftRandom, _ bound: Int) -> Int {
    Swift.min(bound - 1, Int(rng.uniform() * Double(bound)))
}

/// A named input of a conformance case.
public struct ConformanceInput: Sendable, Hashable {
    /// The input name.
    public let name: String
    /// Its shape.
    public let shape: Shape
    /// How it is filled.
    public let fill: InputFill
    /// Creates an input description.
    public init(_ name: String, _ shape: Shape, _ fill: InputFill) {
        self.name = name; self.shape = shape; self.fill = fill
    }
}

extension ConformanceCase {
    /// A case whose graph declares `inputs` (in order) and applies `body` to them.
    public init(op: String, label: String, nmseBound: Double, isLarge: Bool = false,
                inputs: [ConformanceInput], body: @escaping @Sendable ([Tensor]) throws -> [Tensor]) {
        self.init(op: op, label: label, nmseBound: nmseBound, isLarge: isLarge,
                  build: { g in
                      let ts = try inputs.map { try g.input($0.name, $0.shape, dtype: $0.fill.dtype) }
                      return try body(ts)
                  },
                  feeds: { rng in
                      var d: [String: TensorData] = [:]
                      for i in inputs { d[i.name] = i.fill.generate(i.shape, &rng) }
                      return d
                  })
    }
}
