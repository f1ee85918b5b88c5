/// llama.cpp block quantization (`q8_0`, `q4_0`): formats, sizes, and the host quantize /
/// dequantize that every device kernel is checked against.
///
/// Both formats cut the last axis into blocks of 32 values; each block stores an fp16 scale `d`
/// followed by its quantized values (llama.cpp's `block_q8_0` / `block_q4_0`, little-endian):
/// - `q8_0`: `d = max|x| / 127`, `q = round(x / d)` as int8 (34 bytes per block).
/// - `q4_0`: `d = m / -8` where `m` is the signed value of largest magnitude,
///   `q = min(15, trunc(x / d + 8.5))`, stored as nibbles: byte `j` holds element `j` in its low
///   and element `j + 16` in its high nibble (18 bytes per block). Value = `d · (q − 8)`.
public enum QuantFormat: String, Sendable, Hashable, Codable, CaseIterable {
    case q8_0
    case q4_0

    /// Values per block (along the last axis).
    public static let blockSize = 32

    /// The matching ``DType``.
    public var dtype: DType { self == .q8_0 ? .q8_0 : .q4_0 }

    /// Bytes of one block: the fp16 scale plus the quants.
    public var blockBytes: Int { 2 + quantBytesPerBlock }

    /// Bytes of quantized values per block (32 for `q8_0`, 16 for `q4_0`).
    public var quantBytesPerBlock: Int { self == .q8_0 ? 32 : 16 }

    /// Bytes that `elements` values occupy (`elements` a multiple of 32).
    public func byteCount(elements: Int) -> Int { elements / Self.blockSize * blockBytes }
}

/// Errors from quantizing or wrapping quantized data.
public struct QuantizationError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Host reference for block quantization.
public enum Quantization {
    /// Quantizes row-major `values` whose count is a multiple of 32 (blocks run along the last axis,
    /// so the last axis must be a multiple of 32 too), in llama.cpp's byte layout.
    /// - Precondition: `values.count % 32 == 0`.
    public static func quantize(_ values: [Float], format: QuantFormat) -> [UInt8] {
        precondition(values.count % QuantFormat.blockSize == 0, "quantize: \(values.count) values is not a multiple of 32")
        let blocks = values.count / QuantFormat.blockSize
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

    /// Dequantizes llama.cpp-layout blocks to floats (32 per block).
    /// - Precondition: `bytes.count` is a whole number of blocks.
    public static func dequantize(_ bytes: [UInt8], format: QuantFormat) -> [Float] {
        precondition(bytes.count % format.blockBytes == 0, "dequantize: \(bytes.count) bytes is not a whole number of \(format.rawValue) blocks")
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
            }
        }
        return out
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
    /// Quantized data in llama.cpp's layout for a tensor of logical `shape` (last axis a multiple of 32).
    /// - Precondition: `bytes.count == format.byteCount(elements: shape.count)` and the last axis is a multiple of 32.
    public init(shape: Shape, format: QuantFormat, bytes: [UInt8]) {
        precondition(shape.rank >= 1 && shape[-1] % QuantFormat.blockSize == 0,
                     "TensorData: \(format.rawValue) shape \(shape) needs a last axis that is a multiple of 32")
        precondition(bytes.count == format.byteCount(elements: shape.count),
                     "TensorData: \(bytes.count) bytes for \(format.rawValue) shape \(shape) (\(format.byteCount(elements: shape.count)) expected)")
        self.shape = shape
        self.storage = .quantized(format, bytes: bytes)
    }

    /// Quantizes f32 data along its last axis.
    /// - Throws: ``QuantizationError`` when the data is not f32 or its last axis is not a multiple of 32.
    public func quantized(_ format: QuantFormat) throws -> TensorData {
        guard case .f32(let values) = storage else {
            throw QuantizationError("quantize to \(format.rawValue): expected f32 data, got \(dtype.rawValue) \(shape)")
        }
        guard shape.rank >= 1, shape[-1] % QuantFormat.blockSize == 0 else {
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
