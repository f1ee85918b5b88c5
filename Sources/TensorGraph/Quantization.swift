/// Reduced-precision weight formats — llama.cpp block quantization (`q8_0`, `q4_0`) and IEEE half
/// precision (`f16`) — their sizes, and the host quantize / dequantize that every device kernel is
/// checked against.
///
/// `q8_0` and `q4_0` cut the last axis into blocks of 32 values; each block stores an fp16 scale `d`
/// followed by its quantized values (llama.cpp's `block_q8_0` / `block_q4_0`, little-endian):
/// - `q8_0`: `d = max|x| / 127`, `q = round(x / d)` as int8 (34 bytes per block).
/// - `q4_0`: `d = m / -8` where `m` is the signed value of largest magnitude,
///   `q = min(15, trunc(x / d + 8.5))`, stored as nibbles: byte `j` holds element `j` in its low
///   and element `j + 16` in its high nibble (18 bytes per block). Value = `d · (q − 8)`.
///
/// `f16` stores each value as IEEE binary16 bits (2 bytes, little-endian, ggml's `GGML_TYPE_F16`
/// and safetensors' `F16`), rounded to nearest even: no scale, no blocks, any K. Values beyond
/// ±65504 become ±infinity, magnitudes below 2⁻²⁴ keep what subnormals can hold, NaN stays NaN.
public enum QuantFormat: String, Sendable, Hashable, Codable, CaseIterable {
    case q8_0
    case q4_0
    case f16

    /// Values per block along the last axis: 32 for `q8_0` / `q4_0`, 1 for `f16` (any K).
    public var blockSize: Int { self == .f16 ? 1 : 32 }

    /// The matching ``DType``.
    public var dtype: DType {
        switch self {
        case .q8_0: return .q8_0
        case .q4_0: return .q4_0
        case .f16: return .f16
        }
    }

    /// Bytes of one block: the fp16 scale plus the quants (`f16`: the one value's 2 bytes).
    public var blockBytes: Int { self == .f16 ? 2 : 2 + quantBytesPerBlock }

    /// Bytes of quantized values per block (32 for `q8_0`, 16 for `q4_0`, 2 for `f16`).
    public var quantBytesPerBlock: Int {
        switch self {
        case .q8_0: return 32
        case .q4_0: return 16
        case .f16: return 2
        }
    }

    /// Bytes that `elements` values occupy (`elements` a multiple of ``blockSize``).
    public func byteCount(elements: Int) -> Int { elements / blockSize * blockBytes }
}

/// Errors from quantizing or wrapping quantized data.
public struct QuantizationError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Host reference for block quantization.
public enum Quantization {
    /// Quantizes row-major `values` whose count is a multiple of the format's block size (blocks run
    /// along the last axis, so the last axis must be a multiple of it too), in llama.cpp's byte layout.
    /// - Precondition: `values.count % format.blockSize == 0`.
    public static func quantize(_ values: [Float], format: QuantFormat) -> [UInt8] {
        precondition(values.count % format.blockSize == 0, "quantize: \(values.count) values is not a multiple of \(format.blockSize)")
        if format == .f16 { return halfBytes(values) }
        let blocks = values.count / format.blockSize
        var out = [UInt8](repeating: 0, count: blocks * format.blockBytes)
        values.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                for b in 0..<blocks {
                    let xb = b * 32, yb = b * format.blockBytes
                    switch format {
                    case .q8_0:
                        var amax: Float = 0
                        for j in 0..<32 { amax = Swift.max(amax, abs(x[xb + j])) }
                        let d = amax / 127
                        let id: Float = d != 0 ? 1 / d : 0
                        writeHalf(d, to: y, at: yb)
                        for j in 0..<32 {
                            let q = (x[xb + j] * id).rounded(.toNearestOrAwayFromZero)
                            y[yb + 2 + j] = UInt8(bitPattern: Int8(Swift.max(-128, Swift.min(127, q))))
                        }
                    case .q4_0:
                        var amax: Float = 0, signedMax: Float = 0
                        for j in 0..<32 where abs(x[xb + j]) > amax {
                            amax = abs(x[xb + j])
                            signedMax = x[xb + j]
                        }
                        let d = signedMax / -8
                        let id: Float = d != 0 ? 1 / d : 0
                        writeHalf(d, to: y, at: yb)
                        for j in 0..<16 {
                            let lo = nibble(x[xb + j] * id), hi = nibble(x[xb + j + 16] * id)
                            y[yb + 2 + j] = lo | (hi << 4)
                        }
                    case .f16:
                        preconditionFailure("f16 has no blocks")
                    }
                }
            }
        }
        return out
    }

    /// llama.cpp: `MIN(15, (int8_t)(x + 8.5f))` — truncation toward zero.
    private static func nibble(_ scaled: Float) -> UInt8 {
        let v = (scaled + 8.5).rounded(.towardZero)
        guard v.isFinite else { return 8 }
        return UInt8(Swift.max(0, Swift.min(15, v)))
    }

    /// Dequantizes llama.cpp-layout blocks to floats (32 per block; `f16`: one per 2 bytes).
    /// - Precondition: `bytes.count` is a whole number of blocks.
    public static func dequantize(_ bytes: [UInt8], format: QuantFormat) -> [Float] {
        precondition(bytes.count % format.blockBytes == 0, "dequantize: \(bytes.count) bytes is not a whole number of \(format.rawValue) blocks")
        if format == .f16 { return floats(halfBytes: bytes) }
        let blocks = bytes.count / format.blockBytes
        var out = [Float](repeating: 0, count: blocks * 32)
        for b in 0..<blocks {
            let yb = b * format.blockBytes, xb = b * 32
            let d = halfToFloat(UInt16(bytes[yb]) | UInt16(bytes[yb + 1]) << 8)
            switch format {
            case .q8_0:
                for j in 0..<32 { out[xb + j] = d * Float(Int8(bitPattern: bytes[yb + 2 + j])) }
            case .q4_0:
                for j in 0..<16 {
                    let q = bytes[yb + 2 + j]
                    out[xb + j] = d * Float(Int(q & 0x0F) - 8)
                    out[xb + j + 16] = d * Float(Int(q >> 4) - 8)
                }
            case .f16:
                preconditionFailure("f16 has no blocks")
            }
        }
        return out
    }

    /// Little-endian IEEE binary16 bytes of `values` (``floatToHalf(_:)`` each).
    public static func halfBytes(_ values: [Float]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: values.count * 2)
        out.withUnsafeMutableBufferPointer { y in
            for (i, v) in values.enumerated() {
                let h = floatToHalf(v)
                y[2 * i] = UInt8(h & 0xFF)
                y[2 * i + 1] = UInt8(h >> 8)
            }
        }
        return out
    }

    /// The floats of little-endian IEEE binary16 bytes (exact: every half is a float).
    /// - Precondition: `bytes.count` is even.
    public static func floats(halfBytes bytes: [UInt8]) -> [Float] {
        precondition(bytes.count % 2 == 0, "floats(halfBytes:): \(bytes.count) bytes is not a whole number of halves")
        return (0..<bytes.count / 2).map { halfToFloat(UInt16(bytes[2 * $0]) | UInt16(bytes[2 * $0 + 1]) << 8) }
    }

    private static func writeHalf(_ value: Float, to buffer: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        let h = floatToHalf(value)
        buffer[offset] = UInt8(h & 0xFF)
        buffer[offset + 1] = UInt8(h >> 8)
    }

    /// IEEE binary16 bits of `value`, rounded to nearest even (as llama.cpp's `GGML_FP32_TO_FP16`).
    public static func floatToHalf(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        var mantissa = bits & 0x7F_FFFF
        if exponent == 0xFF { return sign | 0x7C00 | (mantissa != 0 ? 0x200 : 0) }
        var e = exponent - 127 + 15
        if e >= 0x1F { return sign | 0x7C00 }
        if e <= 0 {
            // Subnormal half (or zero): shift the implicit bit in, round to nearest even.
            if e < -10 { return sign }
            mantissa |= 0x80_0000
            let shift = UInt32(14 - e)
            var half = mantissa >> shift
            let remainder = mantissa & ((1 << shift) - 1), halfway = UInt32(1) << (shift - 1)
            if remainder > halfway || (remainder == halfway && half & 1 == 1) { half += 1 }
            return sign | UInt16(half)
        }
        var half = UInt32(e) << 10 | mantissa >> 13
        let remainder = mantissa & 0x1FFF
        if remainder > 0x1000 || (remainder == 0x1000 && half & 1 == 1) { half += 1 }  // may carry into the exponent: correct
        e = Int(half >> 10)
        if e >= 0x1F { return sign | 0x7C00 }
        return sign | UInt16(half)
    }

    /// The float value of IEEE binary16 bits.
    public static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = Int((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {
            return (sign != 0 ? -1 : 1) * Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
        }
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13) }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | mantissa << 13)
    }
}

extension TensorData {
    /// Quantized data in llama.cpp's layout for a tensor of logical `shape` (last axis a multiple of
    /// the format's block size: 32, or 1 for `f16`).
    /// - Precondition: `bytes.count == format.byteCount(elements: shape.count)` and the last axis is a multiple of the block size.
    public init(shape: Shape, format: QuantFormat, bytes: [UInt8]) {
        precondition(shape.rank >= 1 && shape[-1] % format.blockSize == 0,
                     "TensorData: \(format.rawValue) shape \(shape) needs a last axis that is a multiple of \(format.blockSize)")
        precondition(bytes.count == format.byteCount(elements: shape.count),
                     "TensorData: \(bytes.count) bytes for \(format.rawValue) shape \(shape) (\(format.byteCount(elements: shape.count)) expected)")
        self.shape = shape
        self.storage = .quantized(format, bytes: bytes)
    }

    /// Quantizes f32 data along its last axis (`f16`: rounds each value to half precision).
    /// - Throws: ``QuantizationError`` when the data is not f32, or its last axis is not a multiple
    ///   of the format's block size (32 for `q8_0` / `q4_0`).
    public func quantized(_ format: QuantFormat) throws -> TensorData {
        guard case .f32(let values) = storage else {
            throw QuantizationError("quantize to \(format.rawValue): expected f32 data, got \(dtype.rawValue) \(shape)")
        }
        guard shape.rank >= 1, shape[-1] % format.blockSize == 0 else {
            throw QuantizationError("quantize to \(format.rawValue): the last axis of \(shape) must be a multiple of 32 (blocks of 32 run along it)")
        }
        return TensorData(shape: shape, format: format, bytes: Quantization.quantize(values, format: format))
    }

    /// The raw llama.cpp-layout bytes when quantized, else `nil`.
    public var quantizedBytes: (format: QuantFormat, bytes: [UInt8])? {
        if case .quantized(let format, let bytes) = storage { return (format, bytes) }
        return nil
    }
}
