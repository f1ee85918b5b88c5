import Foundation
import Testing
import TensorGraph

/// Host q8_0 / q4_0 quantization: llama.cpp's exact byte layout on known blocks, round-trip
/// error bounds, fp16 conversion, and where quantized tensors may appear in a graph.
@Suite struct QuantizationTests {
    private func uniform(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 23) - 1
        }
    }

    /// x = [-127, 1, 2, …, 31]: d = 1 exactly (fp16 0x3C00), q = x.
    @Test func q8_0KnownBlockHasLlamaLayout() {
        var x = (0..<32).map(Float.init)
        x[0] = -127
        let bytes = Quantization.quantize(x, format: .q8_0)
        #expect(bytes.count == 34)
        #expect(bytes[0] == 0x00 && bytes[1] == 0x3C)
        #expect(bytes[2] == 0x81)  // -127 as int8
        #expect(Array(bytes[3...]) == (1..<32).map(UInt8.init))
        #expect(Quantization.dequantize(bytes, format: .q8_0) == x)
    }

    /// x[j] = 2·(j mod 16 − 8): the signed max is -16 (first of largest magnitude), d = -16 / -8 = 2,
    /// q = j mod 16; byte j holds element j (low nibble) and element j + 16 (high nibble).
    @Test func q4_0KnownBlockHasLlamaLayout() {
        let x = (0..<32).map { Float(2 * ($0 % 16 - 8)) }
        let bytes = Quantization.quantize(x, format: .q4_0)
        #expect(bytes.count == 18)
        #expect(bytes[0] == 0x00 && bytes[1] == 0x40)
        #expect(Array(bytes[2...]) == (0..<16).map { UInt8($0 | $0 << 4) })
        #expect(Quantization.dequantize(bytes, format: .q4_0) == x)
    }

    /// q4_0 takes the sign of the largest-magnitude value: a positive max gives a negative d and
    /// clamps the largest value to nibble 0 (value −8·d = max); the rest round half up.
    @Test func q4_0PositiveMaxAndClamp() {
        var x = [Float](repeating: 0, count: 32)
        x[3] = 8  // d = -1
        x[4] = -7.9  // -7.9 / -1 + 8.5 = 16.4 → clamped to 15 → value -1·(15−8) = -7
        x[5] = 0.5  // -0.5 + 8.5 = 8 → 0
        let bytes = Quantization.quantize(x, format: .q4_0)
        #expect(bytes[0] == 0x00 && bytes[1] == 0xBC)  // -1.0 in fp16
        let y = Quantization.dequantize(bytes, format: .q4_0)
        #expect(y[3] == 8)
        #expect(y[4] == -7)
        #expect(y[5] == 0)
        #expect(y[0] == 0)
    }

    @Test func zeroBlocksStayZero() {
        for format in QuantFormat.allCases {
            let bytes = Quantization.quantize([Float](repeating: 0, count: 64), format: format)
            #expect(Quantization.dequantize(bytes, format: format) == [Float](repeating: 0, count: 64))
        }
    }

    /// Each value is within half a step (q8_0) or one step (q4_0, whose top value is clamped) of
    /// its original, plus the fp16 rounding of the scale; NMSE near the uniform-noise prediction.
    @Test(arguments: QuantFormat.allCases)
    func roundTripErrorBounds(format: QuantFormat) {
        let count = 32 * 97
        let x = uniform(count, seed: 7).enumerated().map { $1 * Float(1 + $0 / 32 % 5) }  // block scales vary
        let bytes = Quantization.quantize(x, format: format)
        #expect(bytes.count == format.byteCount(elements: count))
        let y = Quantization.dequantize(bytes, format: format)
        var error = 0.0, power = 0.0
        for b in 0..<(count / 32) {
            let block = x[(b * 32)..<(b * 32 + 32)]
            let amax = block.map(abs).max()!
            let step = format == .q8_0 ? amax / 127 : amax / 8
            let allowed = (format == .q8_0 ? 0.5 : 1.0) * step + amax * 1e-3
            for j in (b * 32)..<(b * 32 + 32) {
                #expect(abs(x[j] - y[j]) <= allowed, "element \(j): \(x[j]) → \(y[j])")
                error += Double(x[j] - y[j]) * Double(x[j] - y[j])
                power += Double(x[j]) * Double(x[j])
            }
        }
        let nmse = error / power
        #expect(nmse < (format == .q8_0 ? 1e-4 : 1e-2), "nmse \(nmse)")
    }

    #if arch(x86_64) || arch(arm64)
    @Test func halfConversionMatchesFloat16() {
        let values: [Float] = [0, -0, 1, -1, 0.1, 65504, 65520, 1e6, 6.1e-5, 5.96e-8, 2.98e-8, 3e-8, 1e-9, 0.33333334, 1 / 127]
            + uniform(500, seed: 3).map { $0 * 100 } + uniform(200, seed: 4).map { $0 * 1e-5 }
        for v in values {
            #expect(Quantization.floatToHalf(v) == Float16(v).bitPattern, "\(v)")
            let h = Float16(v)
            if h.isFinite { #expect(Quantization.halfToFloat(h.bitPattern) == Float(h), "\(v)") }
        }
    }
    #endif

    @Test func tensorDataQuantizesAndDequantizes() throws {
        let x = uniform(64 * 3, seed: 11)
        let data = TensorData(shape: [3, 64], floats: x)
        let q = try data.quantized(.q8_0)
        #expect(q.dtype == .q8_0)
        #expect(q.quantizedBytes?.bytes.count == 3 * 2 * 34)
        #expect(q.floats.count == 192)
        #expect(throws: QuantizationError.self) { try TensorData(shape: [2, 48], floats: [Float](repeating: 1, count: 96)).quantized(.q4_0) }
    }

    @Test func graphRefusesQuantizedOperandsElsewhere() throws {
        let g = Graph()
        let x = try g.input("x", [3, 64])
        let w = try g.variable("w", [5, 64], dtype: .q8_0)
        let y = try linear(x, weight: w, bias: nil)
        #expect(y.shape == [3, 5] && y.dtype == .f32)
        #expect(throws: GraphError.self) { try x.matmul(w) }  // not transposed
        #expect(throws: GraphError.self) { try w + w }
        #expect(throws: GraphError.self) { try w.reshape([320]) }
        #expect(throws: GraphError.self) { try w.softmax(axis: -1) }
        #expect(throws: GraphError.self) { try g.input("q", [2, 32], dtype: .q4_0) }
        do {
            _ = try g.variable("bad", [4, 48], dtype: .q4_0)
            Issue.record("K = 48 was accepted")
        } catch let error as GraphError {
            #expect("\(error)".contains("multiple of 32"), "\(error)")
        }
    }

    /// The reference backend dequantizes, then runs the float matmul.
    @Test func referenceBackendDequantizes() throws {
        let g = Graph()
        let x = try g.input("x", [2, 64])
        let w = try g.variable("w", [3, 64], dtype: .q4_0)
        let y = try linear(x, weight: w, bias: nil)
        let plan = try ReferenceBackend().compile(g, outputs: [y], options: CompileOptions())
        let weights = TensorData(shape: [3, 64], floats: uniform(192, seed: 5))
        let quantized = try weights.quantized(.q4_0)
        try plan.setVariable("w", quantized)
        #expect(throws: PlanError.self) { try plan.setVariable("w", weights) }
        let xs = uniform(128, seed: 6)
        let out = try plan.run(["x": TensorData(shape: [2, 64], floats: xs)])[0].floats
        let dequantized = quantized.floats
        for i in 0..<2 {
            for j in 0..<3 {
                var s = 0.0
                for p in 0..<64 { s += Double(xs[i * 64 + p]) * Double(dequantized[j * 64 + p]) }
                #expect(abs(Float(s) - out[i * 3 + j]) < 1e-5)
            }
        }
    }
}
