import CLBackend
import CLRuntime
import Foundation
import Testing

/// The proportions norm's kernels with a shift and another compression (variants 9, 10) and fused
/// with the residual add (11, 12), against a Double host reference on awkward shapes.
@Suite struct ProportionsNormFamilyTests {
    static func reference(_ x: [Float], _ g: [Float], _ b: [Float]?, rows: Int, cols: Int, eps: Float, c: Double) -> [Double] {
        var out = [Double](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            let row = (0..<cols).map { Double(x[r * cols + $0]) }
            let s = row.reduce(0) { $0 + abs($1) } / Double(cols) + Double(eps)
            for j in 0..<cols { out[r * cols + j] = c * Foundation.tanh(row[j] / s / c) * Double(g[j]) + Double(b?[j] ?? 0) }
        }
        return out
    }

    @Test(arguments: [9, 10])
    func shiftAndCompressionMatchTheReference(variant: Int) throws {
        let family = NormFamily(environment: TestDevice.environment)
        var random = TestRandom(seed: 31)
        let context = TestDevice.context
        for (rows, cols) in NormFamilyTests.awkwardShapes {
            var x = random.floats(rows * cols, -2, 2)
            for i in stride(from: 0, to: x.count, by: 5) { x[i] *= 20 }
            let g = random.floats(cols, 0.5, 1.5), b = random.floats(cols, -0.5, 0.5)
            let output = try RowOpsGuarded<Float>(count: rows * cols, sentinel: -999)
            let xb = try CLBuffer(context: context, values: x), gb = try CLBuffer(context: context, values: g)
            let bb = try CLBuffer(context: context, values: b)
            let steps = try family.encodeProportionsNorm(input: xb, gain: gb, shift: bb, output: output.view, rows: rows, cols: cols,
                                                         eps: 1e-5, compression: 1.5, variant: .number(variant))
            #expect(steps.allSatisfy { $0.variant.hasPrefix("layernorm.\(variant) ") })
            try RowOpsTestRun.run(steps)
            withExtendedLifetime((xb, gb, bb)) {}
            let comment = "proportions norm variant \(variant) [\(rows), \(cols)] +shift c 1.5"
            RowOpsTestRun.compare(Self.reference(x, g, b, rows: rows, cols: cols, eps: 1e-5, c: 1.5), try output.read(comment), comment)
        }
    }

    @Test(arguments: [11, 12], [false, true])
    func residualProportionsNormMatchesTheReference(variant: Int, writeSum: Bool) throws {
        let family = NormFamily(environment: TestDevice.environment)
        var random = TestRandom(seed: 32)
        let context = TestDevice.context
        for (rows, cols) in NormFamilyTests.awkwardShapes {
            let x = random.floats(rows * cols, -2, 3), r = random.floats(rows * cols, -1, 1)
            let g = random.floats(cols, 0.5, 1.5), b = random.floats(cols, -0.5, 0.5)
            let shifted = writeSum   // both kernel forms, with and without the shift
            let output = try RowOpsGuarded<Float>(count: rows * cols, sentinel: -999)
            let sum = try RowOpsGuarded<Float>(count: rows * cols, sentinel: -777)
            let xb = try CLBuffer(context: context, values: x), rb = try CLBuffer(context: context, values: r)
            let gb = try CLBuffer(context: context, values: g), bb = try CLBuffer(context: context, values: b)
            let steps = try family.encodeResidualProportionsNorm(input: xb, residual: rb, gain: gb, shift: shifted ? bb : nil,
                                                                 output: output.view, sum: writeSum ? sum.view : nil,
                                                                 rows: rows, cols: cols, eps: 1e-5, variant: .number(variant))
            #expect(steps.allSatisfy { $0.variant.hasPrefix("layernorm.\(variant) ") })
            try RowOpsTestRun.run(steps)
            withExtendedLifetime((xb, rb, gb, bb)) {}
            let comment = "residual proportions norm variant \(variant) [\(rows), \(cols)] sum \(writeSum)"
            let added = zip(x, r).map { $0 + $1 }
            RowOpsTestRun.compare(Self.reference(added, g, shifted ? b : nil, rows: rows, cols: cols, eps: 1e-5, c: 4),
                                  try output.read(comment), comment)
            let stored = try sum.read(comment)
            if writeSum {
                #expect(stored == added, "sum output differs from x + r: \(comment)")
            } else {
                #expect(stored.allSatisfy { $0 == -777 }, "sum buffer written although not asked: \(comment)")
            }
        }
    }

    @Test func badParametersAreErrors() throws {
        let family = NormFamily(environment: TestDevice.environment)
        let x = try CLBuffer<Float>(context: TestDevice.context, count: 12), g = try CLBuffer<Float>(context: TestDevice.context, count: 4)
        for c: Float in [0, -1, .infinity, .nan] {
            #expect(throws: RowOpsError.self) { try family.encodeProportionsNorm(input: x, gain: g, output: x, rows: 3, cols: 4, eps: 1e-5, compression: c) }
            #expect(throws: RowOpsError.self) { try family.encodeResidualProportionsNorm(input: x, residual: x, gain: g, output: x, rows: 3, cols: 4,
                                                                                         eps: 1e-5, compression: c) }
        }
        #expect(throws: KernelVariantError.self) { try family.encodeResidualProportionsNorm(input: x, residual: x, gain: g, output: x, rows: 3, cols: 4,
                                                                                           eps: 1e-5, variant: .cpuProportions) }
        let short = try CLBuffer<Float>(context: TestDevice.context, count: 3)
        #expect(throws: CLError.self) { try family.encodeProportionsNorm(input: x, gain: g, shift: short, output: x, rows: 3, cols: 4, eps: 1e-5) }
    }
}
