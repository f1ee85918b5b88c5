import CLBackend
import CLRuntime
import Foundation
import Testing

/// Plain double-precision reference: C[b] = A[b]·B[b] (+ bias).
private func referenceMatmul(_ a: [Float], _ b: [Float], _ bias: [Float]?, _ s: MatmulShape,
                             activation: MatmulActivation = .none) -> [Float] {
    var c = [Float](repeating: 0, count: s.batch * s.m * s.n)
    for bt in 0..<s.batch {
        let aBase = bt * s.m * s.k, bBase = s.broadcastB ? 0 : bt * s.k * s.n, cBase = bt * s.m * s.n
        for i in 0..<s.m {
            for j in 0..<s.n {
                var sum = bias.map { Double($0[j]) } ?? 0
                for p in 0..<s.k {
                    let av = s.transposeA ? a[aBase + p * s.m + i] : a[aBase + i * s.k + p]
                    let bv = s.transposeB ? b[bBase + j * s.k + p] : b[bBase + p * s.n + j]
                    sum += Double(av) * Double(bv)
                }
                c[cBase + i * s.n + j] = Float(apply(activation, sum))
            }
        }
    }
    return c
}

/// The exact function of each epilogue, in double.
private func apply(_ activation: MatmulActivation, _ x: Double) -> Double {
    switch activation {
    case .none: return x
    case .tanh: return Foundation.tanh(x)
    case .gelu, .geluStoringInput: return 0.5 * x * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
    case .sigmoid: return 1 / (1 + Foundation.exp(-x))
    case .relu: return max(x, 0)
    case .tanhBackward, .residual, .geluBackward: preconditionFailure("needs aux")
    }
}

/// gelu′(x) of the tanh form, in double.
private func geluSlope(_ x: Double) -> Double {
    let c = (2 / Double.pi).squareRoot(), t = Foundation.tanh(c * (x + 0.044715 * x * x * x))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
}

/// A buffer of `count` elements viewed inside a larger one, with sentinel guards on both sides.
private struct GuardedOutput {
    static let sentinel: Float = -7777.25
    let parent: CLBuffer<Float>
    let view: CLBuffer<Float>
    let guardCount: Int
    let count: Int

    init(context: CLContext, count: Int) throws {
        // The view origin must sit on the device's base-address alignment.
        guardCount = max(16, context.device.info.baseAddressAlignmentBytes / 4)
        self.count = count
        parent = try CLBuffer<Float>(context: context, count: count + 2 * guardCount)
        try parent.upload([Float](repeating: Self.sentinel, count: count + 2 * guardCount))
        view = try parent.view(offset: guardCount, count: count)
    }

    /// The output and whether every guard element is untouched.
    func read() throws -> (values: [Float], guardsIntact: Bool) {
        let all = try parent.download()
        let before = all[0..<guardCount], after = all[(guardCount + count)...]
        let intact = before.allSatisfy { $0 == Self.sentinel } && after.allSatisfy { $0 == Self.sentinel }
        return (Array(all[guardCount..<(guardCount + count)]), intact)
    }
}

private struct MatmulCase: CustomStringConvertible, Sendable {
    var shape: MatmulShape
    var bias: Bool
    var description: String {
        "b\(shape.batch) \(shape.m)x\(shape.n)x\(shape.k) tA\(shape.transposeA ? 1 : 0) tB\(shape.transposeB ? 1 : 0)"
            + "\(shape.broadcastB ? " shared-B" : "")\(bias ? " bias" : "")"
    }
}

/// Runs one product through `family` and checks it against the reference and the guards.
private func check(_ family: MatmulFamily, _ testCase: MatmulCase, variant: MatmulFamily.Variant?, seed: UInt64,
                   activation: MatmulActivation = .none, bound: Double = 1e-7) throws {
    let context = TestDevice.context
    let s = testCase.shape
    var random = TestRandom(seed: seed)
    let aValues = random.floats(s.aCount)
    let bValues = random.floats(s.bCount)
    let biasValues = testCase.bias ? random.floats(s.n) : nil
    let a = try CLBuffer<Float>(context: context, values: aValues)
    let b = try CLBuffer<Float>(context: context, values: bValues)
    let bias = try biasValues.map { try CLBuffer<Float>(context: context, values: $0) }
    let c = try GuardedOutput(context: context, count: s.cCount)

    let steps = try family.encode(a: a, b: b, c: c.view, shape: s, bias: bias, activation: activation, variant: variant)
    #expect(!steps.isEmpty)
    // Run twice: a plan runs its steps many times, and the second run must not see the first's C.
    for _ in 0..<2 {
        for step in steps { try step.enqueue(on: context) }
    }
    try context.finish()
    let (values, intact) = try c.read()
    let expected = referenceMatmul(aValues, bValues, biasValues, s, activation: activation)
    let error = nmse(expected, values)
    // fp32 accumulation over K ≤ 300 terms: relative error ~1e-7, NMSE ~1e-13; 1e-7 is loose.
    #expect(error < bound, "variant \(variant.map(String.init) ?? "auto") \(testCase) \(activation): nmse \(error)")
    #expect(intact, "variant \(variant.map(String.init) ?? "auto") \(testCase): wrote outside C")
    #expect(!values.contains { $0.isNaN || $0.isInfinite }, "\(testCase): NaN/Inf")
    for step in steps { #expect(step.flops >= 0 && step.bytes > 0) }
}

/// Shapes every variant × layout runs: 1, primes, non-multiples of 8/16/32/64, GEMV (m = 1),
/// n = 1, k = 1, K past the variant-2 K block (partial sums through C), batches with and
/// without a shared B, bias on and off.
private func cases(transposeA: Bool, transposeB: Bool) -> [MatmulCase] {
    let sizes: [(batch: Int, m: Int, n: Int, k: Int, shared: Bool, bias: Bool)] = [
        (1, 1, 1, 1, false, false),
        (1, 1, 1, 1, false, true),
        (1, 7, 13, 5, false, false),
        (1, 7, 13, 5, false, true),
        (1, 257, 33, 65, false, true),
        (1, 1, 100, 37, false, false),   // GEMV
        (1, 1, 67, 300, false, true),    // GEMV, K blocked
        (1, 45, 1, 19, false, true),     // n = 1
        (1, 9, 40, 1, false, false),     // k = 1
        (1, 37, 67, 300, false, true),   // K > 128: several K blocks
        (1, 64, 64, 64, false, false),
        (3, 10, 20, 17, false, true),    // batched, own B
        (3, 10, 20, 17, true, false),    // batched, shared B
        (2, 33, 47, 129, true, true),
    ]
    return sizes.map {
        MatmulCase(shape: MatmulShape(batch: $0.batch, m: $0.m, n: $0.n, k: $0.k, transposeA: transposeA,
                                      transposeB: transposeB, broadcastB: $0.shared), bias: $0.bias)
    }
}

@Suite("MatmulFamily")
struct MatmulFamilyTests {
    static let layouts: [(Bool, Bool)] = [(false, false), (true, false), (false, true), (true, true)]

    @Test("every variant × layout against the double reference", arguments: [1, 2, 3], [0, 1, 2, 3])
    func variantLayout(variant: Int, layout: Int) throws {
        let (tA, tB) = Self.layouts[layout]
        let family = MatmulFamily(environment: TestDevice.environment)
        for (index, testCase) in cases(transposeA: tA, transposeB: tB).enumerated() {
            try check(family, testCase, variant: .number(variant), seed: UInt64(100 * variant + 10 * layout + index + 1))
        }
    }

    @Test("variant 2 with B always packed and never packed", arguments: [1, Int.max], [0, 1, 2, 3])
    func packedAndDirect(packMinRows: Int, layout: Int) throws {
        let (tA, tB) = Self.layouts[layout]
        let family = MatmulFamily(environment: TestDevice.environment)
        family.packMinRows = packMinRows
        family.packMinRowsTransposedB = packMinRows
        for (index, testCase) in cases(transposeA: tA, transposeB: tB).enumerated() {
            try check(family, testCase, variant: .number(2), seed: UInt64(1000 + 10 * layout + index))
        }
    }

    @Test("variant 2 transposing B [N, K] per work-item (inline path), K blocks clamped to the private slice",
          arguments: [128, 400])
    func inlineTransposedB(kBlock: Int) throws {
        var tuning = MatmulTuning.defaults(for: .cpu)
        (tuning.inlineTransposeB, tuning.packMinRowsTransposedB, tuning.kBlock) = (true, 1, kBlock)
        let family = MatmulFamily(environment: TestDevice.environment)
        family.tuning = tuning
        for tA in [false, true] {
            for (index, testCase) in (cases(transposeA: tA, transposeB: true)
                                      + [MatmulCase(shape: MatmulShape(m: 20, n: 45, k: 333, transposeA: tA, transposeB: true), bias: true)])
                .enumerated() {
                try check(family, testCase, variant: .number(2), seed: UInt64(3000 + 100 * kBlock + 10 * index + (tA ? 1 : 0)))
            }
        }
    }

    @Test("activation epilogues on every variant and path (after the bias, on the last K block only)",
          arguments: [1, 2, 3])
    func activationEpilogue(variant: Int) throws {
        let family = MatmulFamily(environment: TestDevice.environment)
        // Packed (37 rows), dot (5 rows, B [N, K]), direct (5 rows, B [K, N]); K 300 crosses K blocks.
        let shapes = [MatmulShape(m: 37, n: 45, k: 300), MatmulShape(m: 5, n: 19, k: 33, transposeB: true),
                      MatmulShape(m: 5, n: 70, k: 13), MatmulShape(m: 37, n: 27, k: 129, transposeA: true, transposeB: true),
                      MatmulShape(m: 3, n: 4, k: 0)]
        for (index, shape) in shapes.enumerated() {
            for activation in MatmulActivation.allCases where activation != .none && !activation.readsAux && !activation.writesAux {
                try check(family, MatmulCase(shape: shape, bias: index % 2 == 0), variant: .number(variant),
                          seed: UInt64(500 + 10 * index) + UInt64(activation.rawValue), activation: activation)
            }
        }
    }

    @Test("aux epilogues: tanh backward C·(1 − y²), residual C + y and gelu backward C·gelu′(y), y read from aux, every variant and path",
          arguments: [1, 2, 3], [MatmulActivation.tanhBackward, .residual, .geluBackward])
    func auxEpilogue(variant: Int, activation: MatmulActivation) throws {
        let context = TestDevice.context
        let family = MatmulFamily(environment: TestDevice.environment)
        let shapes = [MatmulShape(m: 37, n: 45, k: 300), MatmulShape(m: 5, n: 19, k: 33, transposeB: true),
                      MatmulShape(m: 128, n: 512, k: 27), MatmulShape(batch: 3, m: 7, n: 13, k: 5),
                      MatmulShape(m: 1, n: 37, k: 130, transposeB: true)]
        for (index, s) in shapes.enumerated() {
            var random = TestRandom(seed: UInt64(900 + index))
            let aValues = random.floats(s.aCount), bValues = random.floats(s.bCount), yValues = random.floats(s.cCount)
            let a = try CLBuffer<Float>(context: context, values: aValues)
            let b = try CLBuffer<Float>(context: context, values: bValues)
            let y = try CLBuffer<Float>(context: context, values: yValues)
            let c = try GuardedOutput(context: context, count: s.cCount)
            let steps = try family.encode(a: a, b: b, c: c.view, shape: s, activation: activation, aux: y, variant: .number(variant))
            for step in steps { try step.enqueue(on: context) }
            try context.finish()
            let (values, intact) = try c.read()
            let expected = zip(referenceMatmul(aValues, bValues, nil, s), yValues).map { c, y in
                switch activation {
                case .residual: return c + y
                case .geluBackward: return Float(Double(c) * geluSlope(Double(y)))
                default: return c * (1 - y * y)
                }
            }
            #expect(nmse(expected, values) < 1e-7, "variant \(variant) \(s)")
            #expect(intact, "variant \(variant) \(s): wrote outside C")
        }
        // Without an aux matrix the epilogue is refused, not run on garbage.
        let buffer = try CLBuffer<Float>(context: context, count: 64)
        #expect(throws: CLError.self) {
            _ = try family.encode(a: buffer, b: buffer, c: buffer, shape: MatmulShape(m: 4, n: 4, k: 4), activation: activation)
        }
    }

    @Test("gelu storing its input: C (after the bias) to aux and gelu(C) to c, every variant and path", arguments: [1, 2, 3])
    func geluStoringInput(variant: Int) throws {
        let context = TestDevice.context
        let family = MatmulFamily(environment: TestDevice.environment)
        let shapes = [MatmulShape(m: 37, n: 45, k: 300), MatmulShape(m: 5, n: 19, k: 33, transposeB: true),
                      MatmulShape(m: 128, n: 512, k: 27), MatmulShape(batch: 3, m: 7, n: 13, k: 5),
                      MatmulShape(m: 1, n: 37, k: 130, transposeB: true), MatmulShape(m: 97, n: 66, k: 64, transposeB: true)]
        for (index, s) in shapes.enumerated() {
            var random = TestRandom(seed: UInt64(950 + index))
            let aValues = random.floats(s.aCount), bValues = random.floats(s.bCount), biasValues = random.floats(s.n)
            let a = try CLBuffer<Float>(context: context, values: aValues)
            let b = try CLBuffer<Float>(context: context, values: bValues)
            let bias = try CLBuffer<Float>(context: context, values: biasValues)
            let c = try GuardedOutput(context: context, count: s.cCount), pre = try GuardedOutput(context: context, count: s.cCount)
            let steps = try family.encode(a: a, b: b, c: c.view, shape: s, bias: bias, activation: .geluStoringInput,
                                          aux: pre.view, variant: .number(variant))
            for step in steps { try step.enqueue(on: context) }
            try context.finish()
            let (values, intact) = try c.read(), (stored, preIntact) = try pre.read()
            let expectedPre = referenceMatmul(aValues, bValues, biasValues, s)
            #expect(nmse(expectedPre, stored) < 1e-10, "variant \(variant) \(s): pre-activation")
            #expect(nmse(expectedPre.map { Float(apply(.gelu, Double($0))) }, values) < 1e-7, "variant \(variant) \(s): gelu")
            #expect(intact && preIntact, "variant \(variant) \(s): wrote outside C or aux")
        }
    }

    @Test("a larger product, variant 2 and 3", arguments: [2, 3])
    func larger(variant: Int) throws {
        let family = MatmulFamily(environment: TestDevice.environment)
        for (tA, tB) in Self.layouts {
            let shape = MatmulShape(m: 131, n: 200, k: 260, transposeA: tA, transposeB: tB)
            try check(family, MatmulCase(shape: shape, bias: true), variant: .number(variant), seed: 77)
        }
    }

    @Test("variant 2 with other tile macros (TM 4, KB 16) and row tiles per item")
    func otherTiles() throws {
        let family = MatmulFamily(environment: TestDevice.environment)
        family.rowsPerTile = 4
        family.kBlock = 16
        family.rowTilesPerItem = 3
        family.packMinRows = 4
        family.packMinRowsTransposedB = 4
        for (tA, tB) in Self.layouts {
            for testCase in [MatmulCase(shape: MatmulShape(m: 29, n: 70, k: 53, transposeA: tA, transposeB: tB), bias: true),
                             MatmulCase(shape: MatmulShape(batch: 2, m: 3, n: 33, k: 17, transposeA: tA, transposeB: tB,
                                                           broadcastB: true), bias: false)] {
                try check(family, testCase, variant: .number(2), seed: 5)
            }
        }
    }

    @Test("variant 3 with another tile geometry")
    func otherGPUTiles() throws {
        let family = MatmulFamily(environment: TestDevice.environment)
        family.gpuTile = (tsm: 32, tsn: 16, tsk: 8, wptm: 2, wptn: 2)
        for (tA, tB) in Self.layouts {
            try check(family, MatmulCase(shape: MatmulShape(batch: 2, m: 45, n: 37, k: 29, transposeA: tA, transposeB: tB),
                                         bias: true), variant: .number(3), seed: 9)
        }
    }

    @Test("forced and automatic variants")
    func variantChoice() throws {
        let shape = MatmulShape(m: 17, n: 19, k: 23, transposeB: true)
        for forced in [1, 2, 3] {
            let family = MatmulFamily(environment: TestDevice.environment(forcing: MatmulFamily.Variant.number(forced)))
            #expect(family.automaticVariant(for: shape).rawValue == forced)
            try check(family, MatmulCase(shape: shape, bias: false), variant: nil, seed: 3)
        }
        let automatic = MatmulFamily(environment: TestDevice.environment)
        let expected: MatmulFamily.Variant = TestDevice.environment.deviceClass == .cpu ? .cpuRegisterBlocked : .gpuTiled
        #expect(automatic.automaticVariant(for: shape) == expected)
        #expect(MatmulFamily.Variant.allCases.map(\.rawValue) == [1, 2, 3])
    }

    @Test("k = 0 gives the bias; empty shapes give no steps")
    func degenerate() throws {
        let context = TestDevice.context
        let family = MatmulFamily(environment: TestDevice.environment)
        let a = try CLBuffer<Float>(context: context, count: 1)
        let bias = try CLBuffer<Float>(context: context, values: [1, 2, 3])
        let c = try CLBuffer<Float>(context: context, values: [9, 9, 9, 9, 9, 9])
        let steps = try family.encode(a: a, b: a, c: c, shape: MatmulShape(m: 2, n: 3, k: 0), bias: bias, variant: .number(2))
        for step in steps { try step.enqueue(on: context) }
        #expect(try c.download() == [1, 2, 3, 1, 2, 3])
        let b = try CLBuffer<Float>(context: context, count: 12)
        #expect(try family.encode(a: a, b: b, c: c, shape: MatmulShape(m: 0, n: 3, k: 4)).isEmpty)
    }

    @Test("too-small buffers and unknown variants throw")
    func errors() throws {
        let context = TestDevice.context
        let family = MatmulFamily(environment: TestDevice.environment)
        let small = try CLBuffer<Float>(context: context, count: 5)
        let big = try CLBuffer<Float>(context: context, count: 100)
        #expect(throws: CLError.self) {
            try family.encode(a: small, b: big, c: big, shape: MatmulShape(m: 2, n: 3, k: 4))
        }
        #expect(throws: CLError.self) {
            try family.encode(a: big, b: big, c: big, shape: MatmulShape(m: 2, n: 3, k: 4), bias: small.view(offset: 0, count: 2))
        }
        #expect(throws: KernelVariantError.self) { try MatmulFamily.Variant.numbered(9) }
    }

    @Test("variant 2's packed-B scratch lives exactly as long as its steps")
    func scratchLifetime() throws {
        let context = TestDevice.context
        var random = TestRandom(seed: 11)
        let shape = MatmulShape(m: 9, n: 35, k: 20, transposeB: true)
        let aValues = random.floats(shape.aCount), bValues = random.floats(shape.bCount)
        let a = try CLBuffer<Float>(context: context, values: aValues)
        let b = try CLBuffer<Float>(context: context, values: bValues)
        let c = try CLBuffer<Float>(context: context, count: shape.cCount)
        // The family goes away right after encode: the steps alone must keep the scratch alive.
        var steps: [LaunchStep]? = try MatmulFamily(environment: TestDevice.environment)
            .encode(a: a, b: b, c: c, shape: shape, variant: .number(2))
        // Churn allocations so a freed scratch would likely be reused and overwritten.
        let junk = try (0..<4).map { _ in try CLBuffer<Float>(context: context, values: [Float](repeating: 1e9, count: 2048)) }
        for step in steps! { try step.enqueue(on: context) }
        try context.finish()
        #expect(nmse(referenceMatmul(aValues, bValues, nil, shape), try c.download()) < 1e-7)
        _ = junk
        steps = nil
        #expect(steps == nil)
    }
}

/// A short timing check, off by default: `MATMUL_BENCH=1 swift test -c release --filter MatmulBench`.
/// Profiling-event times of every step summed per run, after warm-up; prints min and median GFLOP/s.
@Suite("MatmulBench", .enabled(if: ProcessInfo.processInfo.environment["MATMUL_BENCH"] != nil))
struct MatmulBench {
    @Test func timing() throws {
        let environment = ProcessInfo.processInfo.environment
        let context = TestDevice.context
        let family = MatmulFamily(environment: TestDevice.environment)
        if let v = environment["MATMUL_TM"].flatMap(Int.init) { family.rowsPerTile = v }
        if let v = environment["MATMUL_KB"].flatMap(Int.init) { family.kBlock = v }
        if let v = environment["MATMUL_RT"].flatMap(Int.init) { family.rowTilesPerItem = v }
        if let v = environment["MATMUL_PACKMIN"].flatMap(Int.init) { family.packMinRows = v }
        if let v = environment["MATMUL_PACKMIN_TB"].flatMap(Int.init) { family.packMinRowsTransposedB = v }
        let variants = (environment["MATMUL_VARIANTS"] ?? "2").split(separator: ",").compactMap { Int($0) }
        let runs = environment["MATMUL_RUNS"].flatMap(Int.init) ?? 10
        // MATMUL_SHAPES="m,n,k,tA,tB,batch;..." overrides the default shapes.
        var shapes = [MatmulShape(m: 1024, n: 1024, k: 1024),
                      MatmulShape(m: 128, n: 512, k: 144, transposeB: true),
                      MatmulShape(m: 128, n: 27, k: 512)]
        if let list = environment["MATMUL_SHAPES"] {
            shapes = list.split(separator: ";").map { item in
                var v = [1, 1, 1, 0, 0, 1]
                for (i, x) in item.split(separator: ",").compactMap({ Int($0) }).prefix(6).enumerated() { v[i] = x }
                return MatmulShape(batch: v[5], m: v[0], n: v[1], k: v[2], transposeA: v[3] != 0, transposeB: v[4] != 0)
            }
        }
        for shape in shapes {
            var random = TestRandom(seed: 1)
            let a = try CLBuffer<Float>(context: context, values: random.floats(shape.aCount))
            let b = try CLBuffer<Float>(context: context, values: random.floats(shape.bCount))
            let c = try CLBuffer<Float>(context: context, count: shape.cCount)
            for variant in variants {
                let steps = try family.encode(a: a, b: b, c: c, shape: shape, variant: .number(variant))
                let flops = steps.reduce(0) { $0 + $1.flops }
                for _ in 0..<3 { for step in steps { try step.enqueue(on: context) } }
                try context.finish()
                var totals: [Double] = [], parts = [Double](repeating: 0, count: steps.count)
                for _ in 0..<runs {
                    let events = try steps.map { try $0.enqueue(on: context, event: true)! }
                    try context.finish()
                    let times = try events.map { try $0.profilingTimes().durationMilliseconds }
                    for (i, t) in times.enumerated() { parts[i] += t / Double(runs) }
                    totals.append(times.reduce(0, +))
                }
                totals.sort()
                let median = totals[totals.count / 2]
                print(String(format: "BENCH v%d %@: min %.3f ms (%.1f GFLOP/s), median %.3f ms (%.1f GFLOP/s); mean per step %@",
                             variant, "\(shape.batch)x\(shape.m)x\(shape.n)x\(shape.k) tA\(shape.transposeA ? 1 : 0) tB\(shape.transposeB ? 1 : 0)", totals[0],
                             flops / totals[0] / 1e6, median, flops / median / 1e6,
                             parts.map { String(format: "%.3f", $0) }.joined(separator: "+")))
            }
        }
    }
}
