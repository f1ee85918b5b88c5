import CLBackend
import CLRuntime
import Foundation
import TensorGraph
import Testing

/// f16-weight matmul kernels (`f16.cl`) against the host reference (the half-rounded weights
/// widened, then a float64 product) on awkward shapes with guard regions, non-finite weights, the
/// choice and refusal of the half-arithmetic variant by the device's fp16 support (a device
/// without it faked from the test device's info), and plans running `linear` with an f16 weight.
@Suite struct HalfMatmulTests {
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (1, 7, 15), (2, 5, 16), (3, 13, 17), (5, 31, 100), (8, 27, 512), (33, 3, 47), (1, 9, 4095), (9, 33, 160),
    ]

    private func reference(_ x: [Float], _ w: [Float], _ bias: [Float]?, m: Int, n: Int, k: Int) -> [Float] {
        var y = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = bias.map { Double($0[j]) } ?? 0
                for p in 0..<k { s += Double(x[i * k + p]) * Double(w[j * k + p]) }
                y[i * n + j] = Float(s)
            }
        }
        return y
    }

    /// The variants the test device runs: 1 and 2 everywhere, 3 where it reports cl_khr_fp16.
    static var offeredVariants: [Int] { TestDevice.context.device.info.supportsFP16 ? [1, 2, 3] : [1, 2] }

    private func run(_ family: HalfMatmulFamily, x: [Float], halves: [UInt8], bias: [Float]?, m: Int, n: Int, k: Int,
                     variant: HalfMatmulFamily.Variant?) throws -> (y: [Float], guardsIntact: Bool, steps: [LaunchStep]) {
        let context = TestDevice.context
        let guardCount = max(16, context.device.info.baseAddressAlignmentBytes / 4)
        let parent = try CLBuffer<Float>(context: context, count: m * n + 2 * guardCount)
        try parent.fill(-7777.25)
        let y = try parent.view(offset: guardCount, count: m * n)
        let steps = try family.encode(x: try CLBuffer<Float>(context: context, values: x),
                                      weights: try CLBuffer<UInt8>(context: context, values: halves), y: y,
                                      bias: try bias.map { try CLBuffer<Float>(context: context, values: $0) },
                                      m: m, n: n, k: k, variant: variant)
        for step in steps { try step.enqueue(on: context) }
        try context.finish()
        let all = try parent.download()
        let outside = all[..<guardCount] + all[(guardCount + m * n)...]
        return (Array(all[guardCount..<(guardCount + m * n)]), outside.allSatisfy { $0 == -7777.25 }, steps)
    }

    /// Variants 1 and 2 compute the product of the half-rounded weights up to float32 summation
    /// order; variant 3 (half products) within its bound.
    @Test(arguments: offeredVariants)
    func kernelMatchesHalfRoundedReference(variant: Int) throws {
        let family = HalfMatmulFamily(environment: TestDevice.environment)
        var random = TestRandom(seed: 41)
        for (index, s) in Self.shapes.enumerated() {
            let x = random.floats(s.m * s.k)
            let halves = Quantization.halfBytes(random.floats(s.n * s.k))
            let bias = index % 2 == 1 ? random.floats(s.n) : nil
            let expected = reference(x, Quantization.floats(halfBytes: halves), bias, m: s.m, n: s.n, k: s.k)
            let result = try run(family, x: x, halves: halves, bias: bias, m: s.m, n: s.n, k: s.k, variant: .number(variant))
            let bound = variant == 3 ? HalfMatmulFamily.halfProductBound : 1e-10
            #expect(nmse(expected, result.y) < bound, "variant \(variant) \(s): nmse \(nmse(expected, result.y))")
            #expect(result.guardsIntact, "variant \(variant) \(s): guard overwritten")
        }
    }

    /// Partial tiles at both edges (3 weight rows × 3 rows of x, 5 × 2, 1 × 1) in variant 1.
    @Test func oddTilesMatchTheReference() throws {
        var random = TestRandom(seed: 6)
        for (rows, tile) in [(3, 3), (5, 2), (1, 1), (2, 4)] {
            let family = HalfMatmulFamily(environment: TestDevice.environment)
            (family.rowsPerItem, family.batchTile) = (rows, tile)
            for (m, n, k) in [(1, 7, 33), (7, 11, 31), (4, 13, 16), (5, 17, 50)] {
                let x = random.floats(m * k)
                let halves = Quantization.halfBytes(random.floats(n * k))
                let expected = reference(x, Quantization.floats(halfBytes: halves), nil, m: m, n: n, k: k)
                let result = try run(family, x: x, halves: halves, bias: nil, m: m, n: n, k: k, variant: .number(1))
                #expect(nmse(expected, result.y) < 1e-10, "\(rows)×\(tile) [\(m), \(n), \(k)]")
                #expect(result.guardsIntact)
            }
        }
    }

    /// A NaN weight makes its output row NaN, a weight past 65504 (stored as ±inf) makes its row
    /// ±inf (NaN where x is 0); the other rows stay finite — exactly where the reference has them.
    @Test(arguments: offeredVariants)
    func nonFiniteWeightsPropagate(variant: Int) throws {
        let (m, n, k) = (3, 6, 37)
        var random = TestRandom(seed: 8)
        var x = random.floats(m * k).map { abs($0) + 0.1 }  // positive, so an inf row stays one sign
        x[2 * k + 4] = 0  // 0 · inf = NaN in row 2's output of the inf column
        var w = random.floats(n * k)
        w[1 * k + 4] = .nan
        w[3 * k + 4] = 1e5
        w[5 * k + 4] = -70000
        let halves = Quantization.halfBytes(w)
        let expected = reference(x, Quantization.floats(halfBytes: halves), nil, m: m, n: n, k: k)
        let actual = try run(HalfMatmulFamily(environment: TestDevice.environment), x: x, halves: halves, bias: nil,
                             m: m, n: n, k: k, variant: .number(variant)).y
        for i in 0..<(m * n) {
            let e = expected[i], a = actual[i]
            if e.isNaN { #expect(a.isNaN, "variant \(variant) y[\(i)] = \(a), expected NaN") }
            else if e.isInfinite { #expect(a == e, "variant \(variant) y[\(i)] = \(a), expected \(e)") }
            else { #expect(a.isFinite && abs(a - e) <= 1e-3 * max(1, abs(e)), "variant \(variant) y[\(i)] = \(a), expected \(e)") }
        }
        #expect(expected[1].isNaN && expected[3] == .infinity && expected[5] == -.infinity && expected[2 * n + 3].isNaN)
    }

    /// The decision: a device with cl_khr_fp16 runs variant 3 when asked or forced; one without
    /// refuses an explicit request with "not offered by this device" and runs the f32 variant when
    /// a plan forces 3. Unknown variant numbers are refused when parsed.
    @Test func halfArithmeticFollowsTheDevicesFP16Support() throws {
        var with = TestDevice.context.device.info, without = with
        with.supportsFP16 = true
        without.supportsFP16 = false
        without.name = "fake-no-fp16"
        for deviceClass in DeviceClass.allCases {
            let automatic: HalfMatmulFamily.Variant = deviceClass == .cpu ? .cpu : .gpu
            #expect(try HalfMatmulFamily.choose(requested: nil, forced: nil, deviceClass: deviceClass, device: without).variant == automatic)
            #expect(try HalfMatmulFamily.choose(requested: .halfProducts, forced: nil, deviceClass: deviceClass, device: with).variant == .halfProducts)
            #expect(try HalfMatmulFamily.choose(requested: nil, forced: .halfProducts, deviceClass: deviceClass, device: with) == (.halfProducts, nil))
            let fallback = try HalfMatmulFamily.choose(requested: nil, forced: .halfProducts, deviceClass: deviceClass, device: without)
            #expect(fallback.variant == automatic && fallback.note?.contains("not offered by this device") == true)
            #expect(try HalfMatmulFamily.choose(requested: .gpu, forced: .halfProducts, deviceClass: deviceClass, device: without).variant == .gpu)
            do {
                _ = try HalfMatmulFamily.choose(requested: .halfProducts, forced: nil, deviceClass: deviceClass, device: without)
                Issue.record("variant 3 without cl_khr_fp16 was not refused")
            } catch let error as CLError {
                let text = error.description
                #expect(text.contains("not offered by this device") && text.contains("fake-no-fp16") && text.contains("cl_khr_fp16"), "\(text)")
            }
        }
        #expect(HalfMatmulFamily.unavailability(of: .cpu, on: without) == nil && HalfMatmulFamily.unavailability(of: .gpu, on: without) == nil)
        #expect(HalfMatmulFamily.unavailability(of: .halfProducts, on: with) == nil
                && HalfMatmulFamily.unavailability(of: .halfProducts, on: without) != nil)
        #expect(throws: KernelVariantError.self) { try HalfMatmulFamily.Variant.numbered(9) }
    }

    /// On the test device itself: explicit variant 3 runs where cl_khr_fp16 is reported and is
    /// refused (CLError) where not; a plan-wide forced 3 always runs, falling back visibly.
    @Test func testDeviceRunsOrRefusesVariant3() throws {
        let (m, n, k) = (2, 3, 20)
        var random = TestRandom(seed: 2)
        let x = random.floats(m * k), halves = Quantization.halfBytes(random.floats(n * k))
        let fp16 = TestDevice.context.device.info.supportsFP16
        let family = HalfMatmulFamily(environment: TestDevice.environment)
        if fp16 {
            #expect(try run(family, x: x, halves: halves, bias: nil, m: m, n: n, k: k, variant: .number(3)).steps[0].variant.hasPrefix("f16.3"))
        } else {
            #expect(throws: CLError.self) { try run(family, x: x, halves: halves, bias: nil, m: m, n: n, k: k, variant: .number(3)) }
        }
        let forced = HalfMatmulFamily(environment: TestDevice.environment(forcing: HalfMatmulFamily.Variant.halfProducts))
        let steps = try run(forced, x: x, halves: halves, bias: nil, m: m, n: n, k: k, variant: nil).steps
        #expect(steps[0].variant.hasPrefix("f16.3") == fp16)
        #expect(steps[0].variant.contains("not offered by this device") == !fp16, "\(steps[0].variant)")
    }

    /// `linear` with an f16 weight (K = 45, bias fused, x of rank 3) on the OpenCL plan against the
    /// reference backend; the variable reads back as the same halves; f32 data given to an f16
    /// variable is rounded on the way in.
    @Test func planRunsLinearWithHalfWeight() throws {
        let g = Graph()
        let x = try g.input("x", [2, 3, 45])
        let w = try g.variable("w", [11, 45], dtype: .f16)
        let b = try g.variable("b", [11])
        let y = try linear(x, weight: w, bias: b).tanh()
        var random = TestRandom(seed: 17)
        let floats = random.floats(11 * 45)
        let weights = try TensorData(shape: [11, 45], floats: floats).quantized(.f16)
        let bias = TensorData(shape: [11], floats: random.floats(11))
        let feeds = ["x": TensorData(shape: [2, 3, 45], floats: random.floats(2 * 3 * 45))]
        let options = CompileOptions(guardElements: 16)
        let reference = try ReferenceBackend().compile(g, outputs: [y], options: options)
        let plan = try OpenCLBackend(context: TestDevice.context).compile(g, outputs: [y], options: options)
        for p in [reference, plan] as [any Plan] {
            try p.setVariable("w", weights)
            try p.setVariable("b", bias)
        }
        let expected = try reference.run(feeds)[0].floats
        #expect(nmse(expected, try plan.run(feeds)[0].floats) < 1e-10)
        #expect(try plan.variable("w") == weights)
        try plan.setVariable("w", TensorData(shape: [11, 45], floats: floats))
        #expect(try plan.variable("w") == weights)
        #expect(nmse(expected, try plan.run(feeds)[0].floats) < 1e-10)
    }

    @Test func encodeRefusesBadSizes() throws {
        let context = TestDevice.context
        let family = HalfMatmulFamily(environment: TestDevice.environment)
        let x = try CLBuffer<Float>(context: context, count: 48)
        let w = try CLBuffer<UInt8>(context: context, count: 64)
        let y = try CLBuffer<Float>(context: context, count: 4)
        #expect(throws: CLError.self) { try family.encode(x: x, weights: w, y: y, m: 1, n: 2, k: 48) }  // W needs 192 bytes
        #expect(throws: CLError.self) { try family.encode(x: x, weights: w, y: y, m: 0, n: 1, k: 8) }
        #expect(throws: CLError.self) { try family.encode(x: x, weights: w, y: y, m: 5, n: 1, k: 8) }  // y holds 4
    }
}
