import TensorGraph

/// The outcome of one ``ConformanceCase``.
public struct ConformanceResult: Sendable {
    /// The op under test.
    public let op: String
    /// The case label.
    public let label: String
    /// The worst NMSE over the case's outputs (infinity when it could not be computed).
    public let nmse: Double
    /// The case's bound.
    public let bound: Double
    /// True when the backend produced NaN/Inf where the reference did not (or vice versa).
    public let nonFiniteMismatch: Bool
    /// Why the case could not be compared (build, compile or run error, shape mismatch).
    public let error: String?
    /// No error, no non-finite mismatch, and `nmse <= bound`.
    public var passed: Bool { error == nil && !nonFiniteMismatch && nmse <= bound }

    /// Creates a result.
    public init(op: String, label: String, nmse: Double, bound: Double, nonFiniteMismatch: Bool, error: String?) {
        self.op = op; self.label = label; self.nmse = nmse; self.bound = bound
        self.nonFiniteMismatch = nonFiniteMismatch; self.error = error
    }
}

/// Runs conformance cases on a backend against ``ReferenceBackend``.
public enum ConformanceRunner {
    /// Runs every case on `backend` with `options` and compares each output with ReferenceBackend on the same inputs.
    ///
    /// Case `i` draws its inputs from `XorShiftRandom(seed: seed &+ UInt64(i))`, so a case's inputs
    /// do not depend on which cases ran before it in the same list.
    public static func run(_ cases: [ConformanceCase], on backend: any Backend, options: CompileOptions, seed: UInt64 = 1234) -> [ConformanceResult] {
        cases.enumerated().map { i, c in runOne(c, on: backend, options: options, seed: seed &+ UInt64(i)) }
    }

    /// Runs one case with inputs drawn from `XorShiftRandom(seed: seed)`.
    public static func runOne(_ c: ConformanceCase, on backend: any Backend, options: CompileOptions, seed: UInt64) -> ConformanceResult {
        let bound = c.bound(under: backend.numericShortcuts(under: options))
        func failure(_ message: String) -> ConformanceResult {
            ConformanceResult(op: c.op, label: c.label, nmse: .infinity, bound: bound, nonFiniteMismatch: false, error: message)
        }
        let graph = Graph()
        let outputs: [Tensor]
        do { outputs = try c.build(graph) } catch { return failure("build: \(error)") }
        var rng = XorShiftRandom(seed: seed)
        let feeds = c.feeds(&rng)
        let variables = c.variables(&rng)
        func compile(_ backend: any Backend, _ options: CompileOptions) throws -> any Plan {
            let plan = try backend.compile(graph, outputs: outputs, options: options)
            for (name, value) in variables { try plan.setVariable(name, value) }
            return plan
        }
        let expected: [TensorData]
        do {
            expected = try compile(ReferenceBackend(), CompileOptions()).run(feeds)
        } catch { return failure("reference: \(error)") }
        let actual: [TensorData]
        do {
            actual = try compile(backend, options).run(feeds)
        } catch { return failure("\(backend.name): \(error)") }
        guard actual.count == expected.count else {
            return failure("\(backend.name) returned \(actual.count) outputs, expected \(expected.count)")
        }
        var worst = 0.0
        var nonFinite = false
        for (k, (e, a)) in zip(expected, actual).enumerated() {
            guard e.shape == a.shape else { return failure("output \(k): shape \(a.shape), expected \(e.shape)") }
            let ef = e.floats, af = a.floats
            nonFinite = nonFinite || nonFiniteMismatch(reference: ef, actual: af)
            worst = Swift.max(worst, nmse(reference: ef, actual: af))
        }
        return ConformanceResult(op: c.op, label: c.label, nmse: worst, bound: bound, nonFiniteMismatch: nonFinite, error: nil)
    }

    /// Normalised mean squared error `Σ(a−b)²/Σa²` (a the reference); `Σ(a−b)²` when `Σa² == 0`.
    ///
    /// Positions where the reference is not finite are left out (see ``nonFiniteMismatch(reference:actual:)``);
    /// a non-finite actual value where the reference is finite makes the result infinite.
    public static func nmse(reference: [Float], actual: [Float]) -> Double {
        precondition(reference.count == actual.count, "nmse: \(reference.count) vs \(actual.count) values")
        var num = 0.0, den = 0.0
        for (r, a) in zip(reference, actual) where r.isFinite {
            let d = Double(a) - Double(r)
            num += d * d
            den += Double(r) * Double(r)
        }
        if num.isNaN { return .infinity }
        return den == 0 ? num : num / den
    }

    /// True when some position is non-finite in one array but not identically so in the other
    /// (NaN matches NaN, +Inf matches +Inf, -Inf matches -Inf).
    public static func nonFiniteMismatch(reference: [Float], actual: [Float]) -> Bool {
        for (r, a) in zip(reference, actual) where !r.isFinite || !a.isFinite {
            if r.isNaN && a.isNaN { continue }
            if r != a { return true }
        }
        return false
    }
}
