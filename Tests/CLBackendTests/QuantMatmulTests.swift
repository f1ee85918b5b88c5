import CLBackend
import CLRuntime
import Foundation
import TensorGraph
import Testing

/// Quantized matmul kernels (`quant.cl`) against the host reference (dequantize, then a float64
/// product), on awkward shapes, with guard regions; the device quantize kernel against the host
/// one; and plans that run `linear` with a quantized weight.
@Suite struct QuantMatmulTests {
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 32), (1, 7, 64), (2, 5, 96), (3, 13, 96), (5, 31, 128), (8, 27, 512), (33, 3, 64), (1, 9, 4096),
        (1, 6, 544), (3, 5, 800), // sixteen-block chunks and a vload_half tail
        (9, 33, 160), (40, 70, 224), // four-block chunks and a tail; partial 32-row panels (variant 4)
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

    /// Variants 1, 2 and 4 compute the dequantized product up to float32 summation order; variant 3
    /// quantizes x first (int16 for q8_0, int8 for q4_0) and is held to its own bound.
    @Test(arguments: [QuantFormat.q8_0, .q4_0], [1, 2, 3, 4])
    func kernelMatchesDequantizedReference(format: QuantFormat, variant: Int) throws {
        let context = TestDevice.context
        let family = QuantMatmulFamily(environment: TestDevice.environment)
        var random = TestRandom(seed: 42)
        for (index, s) in Self.shapes.enumerated() {
            let x = random.floats(s.m * s.k)
            let llama = Quantization.quantize(random.floats(s.n * s.k), format: format)
            let w = Quantization.dequantize(llama, format: format)
            let bias = index % 2 == 1 ? random.floats(s.n) : nil
            let expected = reference(x, w, bias, m: s.m, n: s.n, k: s.k)
            let guardCount = max(16, context.device.info.baseAddressAlignmentBytes / 4)
            let parent = try CLBuffer<Float>(context: context, count: s.m * s.n + 2 * guardCount)
            try parent.fill(-7777.25)
            let y = try parent.view(offset: guardCount, count: s.m * s.n)
            let weights = try CLBuffer<UInt8>(context: context, values: QuantMatmulFamily.deviceLayout(llama, format: format))
            let steps = try family.encode(x: try CLBuffer<Float>(context: context, values: x), weights: weights, y: y,
                                          bias: try bias.map { try CLBuffer<Float>(context: context, values: $0) },
                                          format: format, m: s.m, n: s.n, k: s.k, variant: .number(variant))
            for step in steps { try step.enqueue(on: context) }
            try context.finish()
            let all = try parent.download()
            let actual = Array(all[guardCount..<(guardCount + s.m * s.n)])
            let error = nmse(expected, actual)
            let bound = variant == 3 ? QuantMatmulFamily.variant3Bound(format) : 1e-10
            #expect(error < bound, "\(format) variant \(variant) \(s): nmse \(error)")
            let outside = all[..<guardCount] + all[(guardCount + s.m * s.n)...]
            #expect(outside.allSatisfy { $0 == -7777.25 }, "\(format) variant \(variant) \(s): guard overwritten")
        }
    }

    /// Awkward work-item tiles (3 weight rows × 3 rows of x, 5 × 2) leave partial tiles at both edges;
    /// variant 3 also with 1, 2 and 3 work-items (uneven contiguous ranges of row groups).
    @Test(arguments: [QuantFormat.q8_0, .q4_0], [1, 3])
    func oddTilesMatchTheReference(format: QuantFormat, variant: Int) throws {
        let context = TestDevice.context
        var random = TestRandom(seed: 5)
        let bound = variant == 3 ? QuantMatmulFamily.variant3Bound(format) : 1e-10
        for (rows, tile, items) in [(3, 3, nil), (5, 2, nil), (3, 3, 1), (2, 4, 2), (5, 2, 3)] as [(Int, Int, Int?)] {
            if variant == 1 && items != nil { continue }
            let family = QuantMatmulFamily(environment: TestDevice.environment)
            family.rowsPerItem = rows
            family.rowsPerItemBatched = rows
            family.batchTile = tile
            family.workItems = items
            for (m, n, k) in [(1, 7, 64), (7, 11, 96), (4, 13, 32), (5, 17, 544)] {
                let x = random.floats(m * k)
                let llama = Quantization.quantize(random.floats(n * k), format: format)
                let expected = reference(x, Quantization.dequantize(llama, format: format), nil, m: m, n: n, k: k)
                let y = try CLBuffer<Float>(context: context, count: m * n)
                let weights = try CLBuffer<UInt8>(context: context, values: QuantMatmulFamily.deviceLayout(llama, format: format))
                for step in try family.encode(x: try CLBuffer<Float>(context: context, values: x), weights: weights, y: y,
                                              format: format, m: m, n: n, k: k, variant: .number(variant)) {
                    try step.enqueue(on: context)
                }
                let error = nmse(expected, try y.download())
                #expect(error < bound, "\(format) variant \(variant) \(rows)×\(tile), \(items.map(String.init) ?? "auto") items [\(m), \(n), \(k)]: nmse \(error)")
            }
        }
    }

    /// Variant 3 with its launches bounded to a few items: quantize_x and the product then walk
    /// rows / tiles of x strided by the launch's height (how an 8192-row evaluation batch runs).
    @Test(arguments: [QuantFormat.q8_0, .q4_0])
    func boundedLaunchesWalkTilesOfX(format: QuantFormat) throws {
        let context = TestDevice.context
        var random = TestRandom(seed: 23)
        for (maxItems, maxQuantize, items) in [(3, 2, 1), (5, 7, 2), (1, 1, nil)] as [(Int, Int, Int?)] {
            let family = QuantMatmulFamily(environment: TestDevice.environment)
            (family.maxItems, family.maxQuantizeItems, family.workItems) = (maxItems, maxQuantize, items)
            let (m, n, k) = (37, 20, 160)
            let x = random.floats(m * k)
            let llama = Quantization.quantize(random.floats(n * k), format: format)
            let expected = reference(x, Quantization.dequantize(llama, format: format), nil, m: m, n: n, k: k)
            let y = try CLBuffer<Float>(context: context, count: m * n)
            let weights = try CLBuffer<UInt8>(context: context, values: QuantMatmulFamily.deviceLayout(llama, format: format))
            let steps = try family.encode(x: try CLBuffer<Float>(context: context, values: x), weights: weights, y: y,
                                          format: format, m: m, n: n, k: k, variant: .number(3))
            // The launches' heights are bounded (each at most max(1, bound / width)), so items walk rows.
            #expect(steps.count == 2)
            #expect(steps[0].global[1] == max(1, maxQuantize / steps[0].global[0]) && steps[0].global[1] < m)
            #expect(steps[1].global[1] == max(1, maxItems / steps[1].global[0]) && steps[1].global[1] < (m + 3) / 4)
            for step in steps { try step.enqueue(on: context) }
            let error = nmse(expected, try y.download())
            #expect(error < QuantMatmulFamily.variant3Bound(format), "\(format) ≤ \(maxItems) items: nmse \(error)")
        }
    }

    /// CPUs pick variant 4 (dequantize into the GEMM's panels) only for many rows of x and small
    /// weights, otherwise variant 3 or 1 by the device's preferred char vector width; GPUs variant 2.
    @Test func automaticVariantFollowsRowsAndWeightCount() {
        let family = QuantMatmulFamily(environment: TestDevice.environment)
        let cpu = TestDevice.environment.deviceClass == .cpu
        let small = QuantMatmulFamily.smallBatchCPUVariant(TestDevice.context.device.info)
        #expect(family.automaticVariant(m: 8192, n: 384, k: 128) == (cpu ? .dequantizedPanels : .gpu))
        #expect(family.automaticVariant(m: 256, n: 1024, k: 1024) == (cpu ? .dequantizedPanels : .gpu))
        #expect(family.automaticVariant(m: 255, n: 384, k: 128) == (cpu ? small : .gpu))
        #expect(family.automaticVariant(m: 256, n: 4096, k: 4096) == (cpu ? small : .gpu))
        #expect(family.automaticVariant(m: 1, n: 384, k: 128) == (cpu ? small : .gpu))
    }

    /// Variant 3 where the device prefers explicit char vectors (pocl: 16), variant 1 where it
    /// vectorises across work-items (Intel's CPU runtime reports 1), and variant 1 when the width is missing.
    @Test func smallBatchVariantFollowsThePreferredCharWidth() {
        var info = TestDevice.context.device.info
        info.preferredVectorWidths["char"] = 16
        #expect(QuantMatmulFamily.smallBatchCPUVariant(info) == .cpuQuantizedX)
        info.preferredVectorWidths["char"] = 1
        #expect(QuantMatmulFamily.smallBatchCPUVariant(info) == .cpu)
        info.preferredVectorWidths["char"] = nil
        #expect(QuantMatmulFamily.smallBatchCPUVariant(info) == .cpu)
    }

    @Test func encodeRefusesBadSizes() throws {
        let context = TestDevice.context
        let family = QuantMatmulFamily(environment: TestDevice.environment)
        let x = try CLBuffer<Float>(context: context, count: 48)
        let w = try CLBuffer<UInt8>(context: context, count: 64)
        let y = try CLBuffer<Float>(context: context, count: 4)
        #expect(throws: CLError.self) { try family.encode(x: x, weights: w, y: y, format: .q8_0, m: 1, n: 1, k: 48) }
        #expect(throws: CLError.self) { try family.encode(x: x, weights: w, y: y, format: .q8_0, m: 1, n: 4, k: 32) }
    }

    /// The device quantize kernel writes the same bytes as the host reference (then repacked).
    @Test(arguments: [QuantFormat.q8_0, .q4_0])
    func deviceQuantizeMatchesHost(format: QuantFormat) throws {
        let context = TestDevice.context
        let family = QuantMatmulFamily(environment: TestDevice.environment)
        var random = TestRandom(seed: 9)
        let count = 32 * 61
        var values = random.floats(count).enumerated().map { $1 * Float(1 + ($0 / 32) % 7) }
        for j in 64..<96 { values[j] = 0 }  // an all-zero block
        values[130] = 5; values[131] = -5  // a tie for the largest magnitude (q4_0 takes the first)
        let input = try CLBuffer<Float>(context: context, values: values)
        let output = try CLBuffer<UInt8>(context: context, count: QuantMatmulFamily.deviceByteCount(format: format, elements: count))
        for step in try family.encodeQuantize(input: input, output: output, format: format, elements: count) {
            try step.enqueue(on: context)
        }
        try context.finish()
        let device = QuantMatmulFamily.llamaLayout(try output.download(), format: format, elements: count)
        let host = Quantization.quantize(values, format: format)
        let differing = zip(device, host).enumerated().filter { $1.0 != $1.1 }.map(\.offset)
        #expect(differing.isEmpty, "\(differing.count) bytes differ, first at \(differing.first ?? -1)")
    }

    @Test func layoutRoundTrip() {
        var random = TestRandom(seed: 3)
        for format in [QuantFormat.q8_0, .q4_0] {
            let llama = Quantization.quantize(random.floats(32 * 7), format: format)
            let device = QuantMatmulFamily.deviceLayout(llama, format: format)
            #expect(device.count == QuantMatmulFamily.deviceByteCount(format: format, elements: 32 * 7))
            #expect(QuantMatmulFamily.quantOffset(blocks: 7) % 16 == 0)
            #expect(QuantMatmulFamily.llamaLayout(device, format: format, elements: 32 * 7) == llama)
        }
    }

    /// `linear` with a quantized weight (bias fused, x of rank 3) on the OpenCL plan against the
    /// reference backend (within the automatic variant's bound); the variable reads back as the same llama.cpp bytes; f32 data given to a
    /// quantized variable is quantized on the way in.
    @Test(arguments: [QuantFormat.q8_0, .q4_0])
    func planRunsLinearWithQuantizedWeight(format: QuantFormat) throws {
        let g = Graph()
        let x = try g.input("x", [2, 3, 64])
        let w = try g.variable("w", [11, 64], dtype: format.dtype)
        let b = try g.variable("b", [11])
        let y = try linear(x, weight: w, bias: b).tanh()
        var random = TestRandom(seed: 17)
        let weights = try TensorData(shape: [11, 64], floats: random.floats(11 * 64)).quantized(format)
        let bias = TensorData(shape: [11], floats: random.floats(11))
        let feeds = ["x": TensorData(shape: [2, 3, 64], floats: random.floats(2 * 3 * 64))]
        let options = CompileOptions(guardElements: 16)
        let reference = try ReferenceBackend().compile(g, outputs: [y], options: options)
        let plan = try OpenCLBackend(context: TestDevice.context).compile(g, outputs: [y], options: options)
        for p in [reference, plan] as [any Plan] {
            try p.setVariable("w", weights)
            try p.setVariable("b", bias)
        }
        // CPUs run variant 3 (x quantized) by default at these sizes: its bound; else float32 rounding.
        let automatic = QuantMatmulFamily(environment: TestDevice.environment).automaticVariant(m: 6, n: 11, k: 64)
        let bound = automatic == .cpuQuantizedX ? QuantMatmulFamily.variant3Bound(format) : 1e-10
        let expected = try reference.run(feeds)[0].floats
        let actual = try plan.run(feeds)[0].floats
        #expect(nmse(expected, actual) < bound)
        let readBack = try plan.variable("w")
        #expect(readBack == weights)

        try plan.setVariable("w", TensorData(shape: [11, 64], floats: weights.floats))  // f32 → quantized on upload
        #expect(try plan.variable("w") == weights)  // re-quantizing dequantized values is exact for these formats
        #expect(nmse(expected, try plan.run(feeds)[0].floats) < bound)
    }
}
