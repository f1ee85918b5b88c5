import Testing
import TensorGraph

/// The host f16 reference: binary16 conversion against Swift's `Float16` (an independent
/// implementation) over every half and over edge floats, the f16 byte layout on awkward sizes, and
/// where f16 weights may appear in a graph.
@Suite struct HalfPrecisionTests {
    /// Every one of the 65536 halves widens to the float `Float16` gives (NaN to a NaN of the same sign).
    @Test func everyHalfWidensExactly() {
        for bits in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: bits)), actual = Quantization.halfToFloat(bits)
            if expected.isNaN {
                #expect(actual.isNaN && actual.sign == expected.sign, "0x\(String(bits, radix: 16))")
            } else {
                #expect(actual.bitPattern == expected.bitPattern, "0x\(String(bits, radix: 16)): \(actual) vs \(expected)")
            }
        }
    }

    /// Rounding to nearest even at the edges: the largest half, the overflow threshold 65520 (a tie
    /// that rounds up to inf), subnormals and their ties, signed zero, inf and NaN.
    @Test func edgeFloatsRoundLikeFloat16() {
        let cases: [(Float, UInt16)] = [
            (65504, 0x7BFF), (65519.99, 0x7BFF), (65520, 0x7C00), (1e6, 0x7C00), (-1e6, 0xFC00), (.infinity, 0x7C00),
            (-.infinity, 0xFC00), (0x1p-24, 0x0001), (0x1p-25, 0x0000), (0x1.8p-25, 0x0001), (0x1.8p-24, 0x0002),
            (0x1p-14, 0x0400), (0x1.ffcp-15, 0x0400), (-0.0, 0x8000), (1e-10, 0x0000), (-1e-10, 0x8000), (1, 0x3C00),
            (1 + 0x1p-11, 0x3C00), (1 + 0x1.8p-11, 0x3C01), (1 + 0x1p-10 + 0x1p-11, 0x3C02),
        ]
        for (value, bits) in cases {
            #expect(Quantization.floatToHalf(value) == bits, "\(value): 0x\(String(Quantization.floatToHalf(value), radix: 16))")
            #expect(Float16(value).bitPattern == bits, "the table itself: \(value)")
        }
        for nan in [Float.nan, -Float.nan, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFFC1_2345)] {
            let h = Quantization.floatToHalf(nan)
            #expect(h & 0x7C00 == 0x7C00 && h & 0x03FF != 0, "NaN 0x\(String(nan.bitPattern, radix: 16)) → 0x\(String(h, radix: 16))")
            #expect(Quantization.halfToFloat(h).isNaN)
        }
    }

    /// A million random float bit patterns (every exponent, so subnormal, overflow and NaN inputs
    /// included) round to the same half as `Float16(_:)`.
    @Test func randomFloatsRoundLikeFloat16() {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        for _ in 0..<1_000_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let value = Float(bitPattern: UInt32(truncatingIfNeeded: state >> 32))
            let expected = Float16(value).bitPattern, actual = Quantization.floatToHalf(value)
            if value.isNaN { #expect(Float16(bitPattern: actual).isNaN) } else {
                #expect(actual == expected, "\(value) (0x\(String(value.bitPattern, radix: 16))): 0x\(String(actual, radix: 16)) vs 0x\(String(expected, radix: 16))")
            }
        }
    }

    /// `quantized(.f16)` on awkward shapes: 2 bytes per value little-endian, any last axis, values
    /// read back as the half-rounded floats; dequantize inverts the bytes.
    @Test(arguments: [[1] as [Int], [1, 1], [3, 7], [2, 5, 17], [4, 33]])
    func f16TensorRoundTripsOnAwkwardShapes(dims: [Int]) throws {
        let shape = Shape(dims)
        let values: [Float] = (0..<shape.count).map { (i: Int) -> Float in
            let v = Float(i) * 0.37 - 3.3
            return i % 3 == 0 ? v + 70000 : v  // every third past half's range: ±inf
        }
        let half = try TensorData(shape: shape, floats: values).quantized(.f16)
        #expect(half.dtype == .f16)
        let bytes = try #require(half.quantizedBytes?.bytes)
        #expect(bytes.count == shape.count * 2 && QuantFormat.f16.byteCount(elements: shape.count) == bytes.count)
        #expect(bytes[0] == UInt8(Float16(values[0]).bitPattern & 0xFF) && bytes[1] == UInt8(Float16(values[0]).bitPattern >> 8))
        let rounded: [UInt32] = values.map { (v: Float) -> UInt32 in Float(Float16(v)).bitPattern }
        #expect(half.floats.map { $0.bitPattern } == rounded)
        #expect(Quantization.quantize(half.floats, format: .f16) == bytes)  // halves survive a second rounding unchanged
    }

    /// f16 weights take any K (no blocks), only as variables and only as B of x·Wᵀ.
    @Test func f16WeightsInGraphs() throws {
        let g = Graph()
        let x = try g.input("x", [2, 13])
        let w = try g.variable("w", [5, 13], dtype: .f16)
        #expect(try linear(x, weight: w, bias: nil).shape == [2, 5])
        #expect(throws: GraphError.self) { try g.input("h", [2, 13], dtype: .f16) }
        #expect(throws: GraphError.self) { try x.matmul(try g.variable("v", [13, 5], dtype: .f16)) }
        #expect(DType.f16.byteSize == 2 && DType.f16.isQuantized && DType.f16.quantFormat == .f16)
    }
}
