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
        let family = NormFamily(environment: TestDevice.environment(forcing: NormFamily.Variant.number(variant)))
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
        let family = NormFamily(environment: TestDevice.environment(forcing: NormFamily.Variant.number(variant)))
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
        #expect(throws: KernelVariantError.self) { try family.encodeRMSNorm(input: x, gain: g, output: x, rows: 4, cols: 3, eps: 1e-5, variant: .number(5)) }
        #expect(throws: RowOpsError.self) { try family.encodeLayerNorm(input: x, gain: g, bias: g, output: x, rows: 4, cols: 3, eps: -1) }
    }

    // MARK: - Variants 5–10 (one-pass, residual-fused, proportions)

    static let awkwardShapes: [(Int, Int)] = [1, 3, 17].flatMap { rows in [1, 7, 33, 768, 1000].map { (rows, $0) } }

    static func proportionsReference(_ x: [Float], _ g: [Float], rows: Int, cols: Int, eps: Float) -> [Double] {
        var out = [Double](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            let row = (0..<cols).map { Double(x[r * cols + $0]) }
            let inverse = 1 / (row.reduce(0) { $0 + abs($1) } / Double(cols) + Double(eps))
            for j in 0..<cols { out[r * cols + j] = Double(g[j]) * 4 * Foundation.tanh(row[j] * inverse / 4) }
        }
        return out
    }

    @Test(arguments: [5, 6])
    func onePassLayerNormMatchesReference(variant: Int) throws {
        let family = NormFamily(environment: TestDevice.environment)
        var random = TestRandom(seed: 23)
        let context = TestDevice.context
        for (rows, cols) in Self.awkwardShapes {
            let x = random.floats(rows * cols, -1.5, 2.5)
            let g = random.floats(cols, 0.5, 1.5), b = random.floats(cols, -0.5, 0.5)
            let output = try RowOpsGuarded<Float>(count: rows * cols, sentinel: -999)
            let xb = try CLBuffer(context: context, values: x), gb = try CLBuffer(context: context, values: g)
            let bb = try CLBuffer(context: context, values: b)
            let steps = try family.encodeLayerNormOnePass(input: xb, gain: gb, bias: bb, output: output.view,
                                                          rows: rows, cols: cols, eps: 1e-5, variant: .number(variant))
            #expect(steps.allSatisfy { $0.variant.hasPrefix("layernorm.\(variant) ") })
            try RowOpsTestRun.run(steps)
            withExtendedLifetime((xb, gb, bb)) {}
            let comment = "one-pass layernorm variant \(variant) [\(rows), \(cols)]"
            RowOpsTestRun.compare(Self.layerNormReference(x, g, b, rows: rows, cols: cols, eps: 1e-5),
                                  try output.read(comment), comment)
        }
    }

    @Test(arguments: [7, 8], [false, true])
    func residualLayerNormMatchesReference(variant: Int, writeSum: Bool) throws {
        let family = NormFamily(environment: TestDevice.environment)
        var random = TestRandom(seed: 24)
        let context = TestDevice.context
        for (rows, cols) in Self.awkwardShapes {
            let x = random.floats(rows * cols, 1, 3), r = random.floats(rows * cols, -1, 1)
            let g = random.floats(cols, 0.5, 1.5), b = random.floats(cols, -0.5, 0.5)
            let output = try RowOpsGuarded<Float>(count: rows * cols, sentinel: -999)
            let sum = try RowOpsGuarded<Float>(count: rows * cols, sentinel: -777)
            let xb = try CLBuffer(context: context, values: x), rb = try CLBuffer(context: context, values: r)
            let gb = try CLBuffer(context: context, values: g), bb = try CLBuffer(context: context, values: b)
            let steps = try family.encodeResidualLayerNorm(input: xb, residual: rb, gain: gb, bias: bb, output: output.view,
                                                           sum: writeSum ? sum.view : nil, rows: rows, cols: cols, eps: 1e-5,
                                                           variant: .number(variant))
            #expect(steps.allSatisfy { $0.variant.hasPrefix("layernorm.\(variant) ") })
            try RowOpsTestRun.run(steps)
            withExtendedLifetime((xb, rb, gb, bb)) {}
            let comment = "residual layernorm variant \(variant) [\(rows), \(cols)] sum \(writeSum)"
            let added = zip(x, r).map { $0 + $1 }
            RowOpsTestRun.compare(Self.layerNormReference(added, g, b, rows: rows, cols: cols, eps: 1e-5),
                                  try output.read(comment), comment)
            let stored = try sum.read(comment)
            if writeSum {
                #expect(stored == added, "sum output differs from x + r: \(comment)")
            } else {
                #expect(stored.allSatisfy { $0 == -777 }, "sum buffer written although not asked: \(comment)")
            }
        }
    }

    /// The residual stream updated in place (sum aliases input), as a transformer block does it.
    @Test(arguments: [7, 8])
    func residualLayerNormInPlace(variant: Int) throws {
        let family = NormFamily(environment: TestDevice.environment)
        var random = TestRandom(seed: 25)
        let context = TestDevice.context
        let rows = 5, cols = 257
        let x = random.floats(rows * cols), r = random.floats(rows * cols)
        let g = random.floats(cols, 0.5, 1.5), b = random.floats(cols, -0.5, 0.5)
        let xb = try CLBuffer(context: context, values: x), rb = try CLBuffer(context: context, values: r)
        let gb = try CLBuffer(context: context, values: g), bb = try CLBuffer(context: context, values: b)
        let yb = try CLBuffer<Float>(context: context, count: rows * cols)
        try RowOpsTestRun.run(try family.encodeResidualLayerNorm(input: xb, residual: rb, gain: gb, bias: bb, output: yb, sum: xb,
                                                                 rows: rows, cols: cols, eps: 1e-5, variant: .number(variant)))
        let added = zip(x, r).map { $0 + $1 }
        #expect(try xb.download() == added)
        RowOpsTestRun.compare(Self.layerNormReference(added, g, b, rows: rows, cols: cols, eps: 1e-5), try yb.download(),
                              "in-place residual layernorm variant \(variant)")
    }

    @Test(arguments: [9, 10])
    func proportionsNormMatchesReference(variant: Int) throws {
        let family = NormFamily(environment: TestDevice.environment)
        var random = TestRandom(seed: 26)
        let context = TestDevice.context
        for (rows, cols) in Self.awkwardShapes {
            // Mostly small values with a few large ones, so both the linear and the compressed part of tanh run.
            var x = random.floats(rows * cols, -2, 2)
            for i in stride(from: 0, to: x.count, by: 5) { x[i] *= 20 }
            let g = random.floats(cols, 0.5, 1.5)
            let output = try RowOpsGuarded<Float>(count: rows * cols, sentinel: -999)
            let xb = try CLBuffer(context: context, values: x), gb = try CLBuffer(context: context, values: g)
            let steps = try family.encodeProportionsNorm(input: xb, gain: gb, output: output.view, rows: rows, cols: cols,
                                                         eps: 1e-5, variant: .number(variant))
            #expect(steps.allSatisfy { $0.variant.hasPrefix("layernorm.\(variant) ") })
            try RowOpsTestRun.run(steps)
            withExtendedLifetime((xb, gb)) {}
            let comment = "proportions norm variant \(variant) [\(rows), \(cols)]"
            let actual = try output.read(comment)
            RowOpsTestRun.compare(Self.proportionsReference(x, g, rows: rows, cols: cols, eps: 1e-5), actual, comment)
            // |y| < 4|g| always: the soft bound.
            #expect(actual.enumerated().allSatisfy { abs($0.element) <= 4 * g[$0.offset % cols] * 1.0001 }, "\(comment)")
        }
    }

    /// Rows 1e4 + N(0,1): E[x²] − E[x]² cancels in float32, the two-pass and Welford forms do not.
    @Test(arguments: [(1, 5), (3, 6)])
    func onePassCancelsOnOffsetRowsWhereTwoPassDoesNot(pair: (twoPass: Int, onePass: Int)) throws {
        let family = NormFamily(environment: TestDevice.environment)
        var random = TestRandom(seed: 27)
        let context = TestDevice.context
        let rows = 3, cols = 768
        // Sum of 12 uniforms − 6: close enough to N(0,1) for this purpose.
        let x = (0..<(rows * cols)).map { _ in 1e4 + random.floats(12, 0, 1).reduce(0, +) - 6 }
        let g = [Float](repeating: 1, count: cols), b = [Float](repeating: 0, count: cols)
        let xb = try CLBuffer(context: context, values: x), gb = try CLBuffer(context: context, values: g)
        let bb = try CLBuffer(context: context, values: b)
        let reference = Self.layerNormReference(x, g, b, rows: rows, cols: cols, eps: 1e-5).map(Float.init)
        let y2 = try CLBuffer<Float>(context: context, count: rows * cols), y1 = try CLBuffer<Float>(context: context, count: rows * cols)
        try RowOpsTestRun.run(try family.encodeLayerNorm(input: xb, gain: gb, bias: bb, output: y2, rows: rows, cols: cols,
                                                         eps: 1e-5, variant: .number(pair.twoPass)))
        try RowOpsTestRun.run(try family.encodeLayerNormOnePass(input: xb, gain: gb, bias: bb, output: y1, rows: rows, cols: cols,
                                                                eps: 1e-5, variant: .number(pair.onePass)))
        let twoPassError = nmse(reference, try y2.download()), onePassError = nmse(reference, try y1.download())
        #expect(twoPassError < 1e-4, "two-pass variant \(pair.twoPass) nmse \(twoPassError)")
        #expect(onePassError > 1e-2, "one-pass variant \(pair.onePass) nmse \(onePassError): expected cancellation")
        #expect(onePassError > 1000 * twoPassError, "one-pass \(onePassError) vs two-pass \(twoPassError)")
    }

    @Test func extraEntryPointsRejectBadArguments() throws {
        let family = NormFamily(environment: TestDevice.environment)
        let context = TestDevice.context
        let x = try CLBuffer<Float>(context: context, count: 12), g = try CLBuffer<Float>(context: context, count: 4)
        // variant belonging to another entry point
        #expect(throws: KernelVariantError.self) { try family.encodeResidualLayerNorm(input: x, residual: x, gain: g, bias: g, output: x,
                                                                                  rows: 3, cols: 4, eps: 1e-5, variant: .number(5)) }
        #expect(throws: KernelVariantError.self) { try family.encodeProportionsNorm(input: x, gain: g, output: x, rows: 3, cols: 4,
                                                                                eps: 1e-5, variant: .number(1)) }
        #expect(throws: RowOpsError.self) { try family.encodeLayerNormOnePass(input: x, gain: g, bias: g, output: x, rows: 3, cols: 4,
                                                                                 eps: .nan) }
        // sum buffer too small, names the argument
        let small = try CLBuffer<Float>(context: context, count: 11)
        #expect { try family.encodeResidualLayerNorm(input: x, residual: x, gain: g, bias: g, output: x, sum: small,
                                                     rows: 3, cols: 4, eps: 1e-5) } throws: { "\($0)".contains("sum holds 11") }
        #expect(throws: RowOpsError.self) { try family.encodeProportionsNorm(input: x, gain: g, output: x, rows: -1, cols: 4, eps: 1e-5) }
        // plans run 1–4 (layernorm, rmsnorm) and 9, 10 (proportions); the others belong to the extra entry points
        #expect(NormFamily.Variant.planVariants.map(\.rawValue) == [1, 2, 3, 4, 9, 10])
        #expect(NormFamily.Variant.allCases.map(\.rawValue) == Array(1...12))
    }

    /// Every CPU kernel with non-temporal output stores forced on (large outputs use them), on
    /// awkward shapes: unaligned rows must fall back to plain stores, guards must stay intact.
    @Test(arguments: [1, 2, 5, 7, 9, 0])
    func streamingStoresMatchReference(variant: Int) throws {
        let family = NormFamily(environment: TestDevice.environment)
        family.streamingStoreBytes = 0
        var random = TestRandom(seed: 28)
        let context = TestDevice.context
        for (rows, cols) in Self.awkwardShapes {
            let x = random.floats(rows * cols, -1, 2), r = random.floats(rows * cols, -1, 1)
            let g = random.floats(cols, 0.5, 1.5), b = random.floats(cols, -0.5, 0.5)
            let output = try RowOpsGuarded<Float>(count: rows * cols, sentinel: -999)
            let xb = try CLBuffer(context: context, values: x), rb = try CLBuffer(context: context, values: r)
            let gb = try CLBuffer(context: context, values: g), bb = try CLBuffer(context: context, values: b)
            let steps: [LaunchStep]
            let reference: [Double]
            switch variant {
            case 1, 2:
                steps = try family.encodeLayerNorm(input: xb, gain: gb, bias: bb, output: output.view, rows: rows, cols: cols,
                                                   eps: 1e-5, variant: .number(variant))
                reference = Self.layerNormReference(x, g, b, rows: rows, cols: cols, eps: 1e-5)
            case 5:
                steps = try family.encodeLayerNormOnePass(input: xb, gain: gb, bias: bb, output: output.view, rows: rows,
                                                          cols: cols, eps: 1e-5, variant: .number(5))
                reference = Self.layerNormReference(x, g, b, rows: rows, cols: cols, eps: 1e-5)
            case 7:
                steps = try family.encodeResidualLayerNorm(input: xb, residual: rb, gain: gb, bias: bb, output: output.view,
                                                           rows: rows, cols: cols, eps: 1e-5, variant: .number(7))
                reference = Self.layerNormReference(zip(x, r).map { $0 + $1 }, g, b, rows: rows, cols: cols, eps: 1e-5)
            case 9:
                steps = try family.encodeProportionsNorm(input: xb, gain: gb, output: output.view, rows: rows, cols: cols,
                                                         eps: 1e-5, variant: .number(9))
                reference = Self.proportionsReference(x, g, rows: rows, cols: cols, eps: 1e-5)
            default:
                steps = try family.encodeRMSNorm(input: xb, gain: gb, output: output.view, rows: rows, cols: cols, eps: 1e-5,
                                                 variant: .number(1))
                reference = Self.rmsNormReference(x, g, rows: rows, cols: cols, eps: 1e-5)
            }
            try RowOpsTestRun.run(steps)
            withExtendedLifetime((xb, rb, gb, bb)) {}
            let comment = "streaming stores, variant \(variant == 0 ? "rmsnorm.1" : "\(variant)") [\(rows), \(cols)]"
            RowOpsTestRun.compare(reference, try output.read(comment), comment)
        }
    }

    /// Enough rows that each CPU work-item gets several (rows ≥ 32 per compute unit): variants 1, 2
    /// and 9 gather the next row's statistics inside the current row's write loop, so the hand-over between
    /// rows, and a last work-item with a partial chunk of rows, must be right; with and without
    /// streaming stores.
    @Test(arguments: [1, 2, 9], [false, true])
    func multiRowWorkItemsMatchReference(variant: Int, streaming: Bool) throws {
        let family = NormFamily(environment: TestDevice.environment)
        if streaming { family.streamingStoreBytes = 0 }
        var random = TestRandom(seed: 29)
        let context = TestDevice.context
        for (rows, cols) in [(67, 33), (200, 7), (131, 1000), (97, 1), (64, 16), (150, 48)] {
            let x = random.floats(rows * cols, -1, 3)
            let g = random.floats(cols, 0.5, 1.5), b = random.floats(cols, -0.5, 0.5)
            let output = try RowOpsGuarded<Float>(count: rows * cols, sentinel: -999)
            let xb = try CLBuffer(context: context, values: x), gb = try CLBuffer(context: context, values: g)
            let bb = try CLBuffer(context: context, values: b)
            func encode(_ input: CLBuffer<Float>, _ output: CLBuffer<Float>) throws -> [LaunchStep] {
                variant == 9
                    ? try family.encodeProportionsNorm(input: input, gain: gb, output: output, rows: rows, cols: cols, eps: 1e-5)
                    : try family.encodeLayerNorm(input: input, gain: gb, bias: bb, output: output, rows: rows, cols: cols,
                                                 eps: 1e-5, variant: .number(variant))
            }
            let reference = variant == 9 ? Self.proportionsReference(x, g, rows: rows, cols: cols, eps: 1e-5)
                : Self.layerNormReference(x, g, b, rows: rows, cols: cols, eps: 1e-5)
            try RowOpsTestRun.run(try encode(xb, output.view))
            withExtendedLifetime((xb, gb, bb)) {}
            let comment = "variant \(variant) [\(rows), \(cols)] streaming \(streaming)"
            RowOpsTestRun.compare(reference, try output.read(comment), comment)
            // In place (the plan may alias input and output).
            let inPlace = try CLBuffer(context: context, values: x)
            try RowOpsTestRun.run(try encode(inPlace, inPlace))
            RowOpsTestRun.compare(reference, try inPlace.download(), "in place: " + comment)
        }
    }
}
