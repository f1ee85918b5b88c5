import CLBackend
import CLRuntime
import Foundation
import Testing

@Suite struct ReduceFamilyTests {
    static func reference(_ x: [Float], outer: Int, length: Int, inner: Int, kind: ReductionKind) -> [Double] {
        var out = [Double](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            for i in 0..<inner {
                let values = (0..<length).map { Double(x[(o * length + $0) * inner + i]) }
                switch kind {
                case .sum: out[o * inner + i] = values.reduce(0, +)
                case .mean: out[o * inner + i] = values.reduce(0, +) / Double(length)
                case .max: out[o * inner + i] = values.max()!
                }
            }
        }
        return out
    }

    /// (outer, length, inner): row reductions, strided reductions with inner below/at/above 16, primes.
    static let shapes: [(Int, Int, Int)] = [(1, 1, 1), (1, 7, 1), (13, 257, 1), (3, 1000, 1), (1, 1, 7), (2, 13, 3),
                                            (5, 7, 16), (3, 5, 17), (2, 33, 64), (7, 3, 100), (1, 257, 13), (4, 64, 257)]

    @Test(arguments: [1, 2])
    func reductionsMatchReference(variant: Int) throws {
        let family = ReduceFamily(environment: TestDevice.environment(forcing: ReduceFamily.Variant.number(variant)))
        var random = TestRandom(seed: 31)
        for (outer, length, inner) in Self.shapes {
            for kind in [ReductionKind.sum, .mean, .max] {
                // Sums use data centred on 0.5 so the reference is not near zero (NMSE is relative).
                let x = random.floats(outer * length * inner, -0.5, 1.5)
                let input = try CLBuffer<Float>(context: TestDevice.context, values: x)
                let output = try RowOpsGuarded<Float>(count: outer * inner, sentinel: 4242)
                let steps = try family.encode(input: input, output: output.view, outer: outer, length: length,
                                              inner: inner, kind: kind)
                #expect(steps.allSatisfy { $0.variant.hasPrefix("reduce.\(variant)") })
                try RowOpsTestRun.run(steps)
                withExtendedLifetime(input) {}
                let comment = "variant \(variant) \(kind) [\(outer), \(length), \(inner)]"
                RowOpsTestRun.compare(Self.reference(x, outer: outer, length: length, inner: inner, kind: kind),
                                      try output.read(comment), comment)
            }
        }
    }

    @Test(arguments: [1, 2])
    func maxPropagatesInfinity(variant: Int) throws {
        let family = ReduceFamily(environment: TestDevice.environment(forcing: ReduceFamily.Variant.number(variant)))
        let x: [Float] = [-.infinity, -.infinity, -.infinity, 1, .infinity, -3]
        let input = try CLBuffer<Float>(context: TestDevice.context, values: x)
        let output = try CLBuffer<Float>(context: TestDevice.context, count: 2)
        try RowOpsTestRun.run(try family.encode(input: input, output: output, outer: 2, length: 3, inner: 1, kind: .max))
        withExtendedLifetime(input) {}
        #expect(try output.download() == [-.infinity, .infinity])
    }

    @Test func rejectsEmptyAxis() throws {
        let family = ReduceFamily(environment: TestDevice.environment)
        let buffer = try CLBuffer<Float>(context: TestDevice.context, count: 4)
        #expect(throws: RowOpsError.self) { try family.encode(input: buffer, output: buffer, outer: 2, length: 0, inner: 2, kind: .sum) }
        #expect(try family.encode(input: buffer, output: buffer, outer: 0, length: 0, inner: 2, kind: .max).isEmpty)
    }
}
