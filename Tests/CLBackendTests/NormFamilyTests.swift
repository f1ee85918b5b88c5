import CLBackend
import CLRuntime
import Foundation
import Testing

@Suite struct NormFamilyTests {
    static let shapes: [(Int, Int)] = [(1, 1), (1, 7), (3, 13), (5, 257), (7, 100), (13, 33), (4, 17), (2, 1000), (37, 768)]

    static func layerNormReference(_ x: [Float], _ g: [Float], _ b: [Float], rows: Int, cols: Int, eps: Float) -> [Double] {
        var out = [Double](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            let row = (0..<cols).map { Double(x[r * cols + $0]) }
            let mean = row.reduce(0, +) / Double(cols)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(cols)
            let rstd = 1 / (variance + Double(eps)).squareRoot()
            for j in 0..<cols { out[r * cols + j] = (row[j] - mean) * rstd * Double(g[j]) + Double(b[j]) }
        }
        return out
    }

    static func rmsNormReference(_ x: [Float], _ g: [Float], rows: Int, cols: Int, eps: Float) -> [Double] {
        var out = [Double](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            let row = (0..<cols).map { Double(x[r * cols + $0]) }
            let scale = 1 / (row.reduce(0) { $0 + $1 * $1 } / Double(cols) + Double(eps)).squareRoot()
            for j in 0..<cols { out[r * cols + j] = row[j] * scale * Double(g[j]) }
        }
        return out
    }

    @Test(arguments: [1, 2, 3, 4])
    func layerNormMatchesReference(variant: Int) throws {
        let family = NormFamily(environment: TestDevice.environment(forcing: ["layernorm": variant]))
        var random = TestRandom(seed: 21)
        for (rows, cols) in Self.shapes {
            // An offset mean (3.0) makes a one-pass sum-of-squares lose digits; two-pass and Welford must not.
            let x = random.floats(rows * cols, 2, 4)
            let g = random.floats(cols, 0.5, 1.5), b = random.floats(cols, -0.5, 0.5)
            let context = TestDevice.context
            let output = try RowOpsGuarded<Float>(count: rows * cols, sentinel: -999)
            // Steps do not retain buffers (kernel arguments are raw cl_mem): keep them alive in locals.
            let xb = try CLBuffer(context: context, values: x), gb = try CLBuffer(context: context, values: g)
            let bb = try CLBuffer(context: context, values: b)
            let steps = try family.encodeLayerNorm(input: xb, gain: gb, bias: bb, output: output.view,
                                                   rows: rows, cols: cols, eps: 1e-5)
            #expect(steps.allSatisfy { $0.variant.hasPrefix("layernorm.\(variant)") })
            try RowOpsTestRun.run(steps)
            withExtendedLifetime((xb, gb, bb)) {}
            let comment = "layernorm variant \(variant) [\(rows), \(cols)]"
            // cols == 1 gives x - mean = 0 exactly: output is the bias, compared the same way.
            RowOpsTestRun.compare(Self.layerNormReference(x, g, b, rows: rows, cols: cols, eps: 1e-5),
                                  try output.read(comment), comment)
        }
    }

    @Test(arguments: [1, 2, 3, 4])
    func rmsNormMatchesReference(variant: Int) throws {
        let family = NormFamily(environment: TestDevice.environment(forcing: ["layernorm": variant]))
        var random = TestRandom(seed: 22)
        for (rows, cols) in Self.shapes {
            let x = random.floats(rows * cols, -2, 2)
            let g = random.floats(cols, 0.5, 1.5)
            let context = TestDevice.context
            let output = try RowOpsGuarded<Float>(count: rows * cols, sentinel: -999)
            let xb = try CLBuffer(context: context, values: x), gb = try CLBuffer(context: context, values: g)
            let steps = try family.encodeRMSNorm(input: xb, gain: gb, output: output.view, rows: rows, cols: cols, eps: 1e-6)
            try RowOpsTestRun.run(steps)
            withExtendedLifetime((xb, gb)) {}
            let comment = "rmsnorm variant \(variant) [\(rows), \(cols)]"
            RowOpsTestRun.compare(Self.rmsNormReference(x, g, rows: rows, cols: cols, eps: 1e-6),
                                  try output.read(comment), comment)
        }
    }

    @Test func rejectsBadArguments() throws {
        let family = NormFamily(environment: TestDevice.environment)
        let context = TestDevice.context
        let x = try CLBuffer<Float>(context: context, count: 12), g = try CLBuffer<Float>(context: context, count: 3)
        #expect(throws: CLError.self) { try family.encodeRMSNorm(input: x, gain: g, output: x, rows: 3, cols: 4, eps: 1e-5) }
        #expect(throws: RowOpsError.self) { try family.encodeRMSNorm(input: x, gain: g, output: x, rows: 4, cols: 3, eps: 1e-5, variant: 5) }
        #expect(throws: RowOpsError.self) { try family.encodeLayerNorm(input: x, gain: g, bias: g, output: x, rows: 4, cols: 3, eps: -1) }
    }
}
