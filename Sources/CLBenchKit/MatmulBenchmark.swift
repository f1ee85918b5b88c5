import CLBackend
import CLRuntime
import Foundation

/// `clbench matmul`: every matmul variant on one shape, validated against a float64 product.
///
/// Numbered variants run with their device-class defaults; when the device's tuning cache holds
/// a winner for the shape's class, a `matmul.tuned` row runs that configuration beside them.
public enum MatmulBenchmark {
    /// Rows validated exactly (float64) per check; all rows when the product is small.
    static let sampledRows = 48

    public static func cases(context: CLContext, m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool,
                             variants: [MatmulFamily.Variant], tuned: MatmulTuningTable? = nil) throws -> [BenchmarkCase] {
        let environment = FamilyEnvironment(context: context)
        let shape = MatmulShape(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
        let operands = try Operands(context: context, shape: shape)

        // nil: a numbered variant with its defaults; else the tuned configuration.
        var runs: [(variant: MatmulFamily.Variant, tuning: MatmulTuning?)] = variants.map { ($0, nil) }
        let winner = tuned?.winner(for: shape)
        if let winner { runs.append((winner.tuning.variant, winner.tuning)) }
        return try runs.map { run in
            let family = MatmulFamily(environment: environment)
            family.tuned = nil
            family.tuning = run.tuning
            let name = run.tuning == nil ? run.variant.name : "matmul.tuned"
            let description = (run.tuning.map { "tuned for \(winner!.key): \($0)" } ?? run.variant.summary)
                + (operands.rows.count < m ? " (validated on \(operands.rows.count) sampled rows)" : "")
            return try operands.benchmarkCase(name: name, description: description, family: family, variant: run.variant)
        }
    }

    /// One case per shape running what a plan would run for it (the tuned winner from `tuned`, exact
    /// shape first, else the defaults), all measured in the same interleaved rounds, so a model's
    /// products can be compared with a reference shape (`clbench matmul --model`).
    public static func automaticCases(context: CLContext, shapes: [(name: String, shape: MatmulShape)],
                                      tuned: MatmulTuningTable?) throws -> [BenchmarkCase] {
        let environment = FamilyEnvironment(context: context)
        return try shapes.map { name, shape in
            let family = MatmulFamily(environment: environment)
            family.tuned = tuned
            let resolved = family.resolvedTuning(for: shape)
            var result = try Operands(context: context, shape: shape)
                .benchmarkCase(name: name, description: "\(shape.description): \(resolved.source) \(resolved.tuning)",
                               family: family, variant: nil)
            result.extra["transpose_a"] = shape.transposeA ? 1 : 0
            result.extra["transpose_b"] = shape.transposeB ? 1 : 0
            return result
        }
    }

    /// Seeded random A and B on the device and the float64 reference of the rows validated.
    private struct Operands {
        let context: CLContext
        let shape: MatmulShape
        let a: CLBuffer<Float>, b: CLBuffer<Float>
        let rows: [Int]
        let reference: [Double]

        init(context: CLContext, shape: MatmulShape) throws {
            let (m, n, k) = (shape.m, shape.n, shape.k)
            var random = SplitMix(seed: UInt64(m * 1_000_003 + n * 1009 + k))
            let aValues = (0..<(m * k)).map { _ in random.uniform() }
            let bValues = (0..<(k * n)).map { _ in random.uniform() }
            self.context = context
            self.shape = shape
            a = try CLBuffer<Float>(context: context, values: aValues)
            b = try CLBuffer<Float>(context: context, values: bValues)
            rows = m * n * k <= 1 << 24 ? Array(0..<m) : sampleRows(m)
            reference = referenceRows(rows, a: aValues, b: bValues, shape: shape)
        }

        /// A case running `family` (a numbered `variant`, or its automatic choice) into its own C.
        func benchmarkCase(name: String, description: String, family: MatmulFamily, variant: MatmulFamily.Variant?) throws -> BenchmarkCase {
            let (m, n, k) = (shape.m, shape.n, shape.k)
            let c = try CLBuffer<Float>(context: context, count: m * n)
            let steps = try family.encode(a: a, b: b, c: c, shape: shape, variant: variant)
            let (context, rows, reference) = (self.context, self.rows, self.reference)
            return BenchmarkCase(
                variant: name, description: description, flops: 2.0 * Double(m) * Double(n) * Double(k),
                bytes: 4.0 * Double(m * k + k * n + m * n), roofline: .compute,
                extra: ["m": Double(m), "n": Double(n), "k": Double(k), "launches": Double(steps.count)],
                enqueue: { _ = family; return try steps.map { try $0.enqueue(on: context, event: true) } },
                validate: {
                    var actual: [Float] = []
                    for row in rows { actual += try c.download(offset: row * n, count: n) }
                    // K-term float32 sums: error grows like sqrt(K)·ulp; 1e-10 is far above that and far below a wrong result.
                    return ValidationOutcome(reference: reference, actual: actual, bound: 1e-10)
                })
        }
    }

    private static func sampleRows(_ m: Int) -> [Int] {
        let stride = max(1, m / sampledRows)
        return Array(Set((0..<sampledRows).map { min(m - 1, $0 * stride + ($0 % 3)) } + [0, m - 1])).sorted()
    }

    /// C rows in float64 for the given rows.
    static func referenceRows(_ rows: [Int], a: [Float], b: [Float], shape s: MatmulShape) -> [Double] {
        var result: [Double] = []
        result.reserveCapacity(rows.count * s.n)
        var row = [Double](repeating: 0, count: s.n)
        for i in rows {
            for j in 0..<s.n { row[j] = 0 }
            for p in 0..<s.k {
                let aValue = Double(s.transposeA ? a[p * s.m + i] : a[i * s.k + p])
                if s.transposeB {
                    for j in 0..<s.n { row[j] += aValue * Double(b[j * s.k + p]) }
                } else {
                    let base = p * s.n
                    for j in 0..<s.n { row[j] += aValue * Double(b[base + j]) }
                }
            }
            result += row
        }
        return result
    }
}

/// A small seeded generator for benchmark data (uniform in [-1, 1)).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
}
