/// The element type of a tensor.
///
/// `i32` is reserved for token indices and classification targets (inputs to ``Op/embedding``
/// and ``Op/crossEntropy(ignoreIndex:)``). `q8_0` and `q4_0` are llama.cpp block-quantized
/// weights (see ``QuantFormat``): only variables may have them, and only as B of
/// `matmul(transposeB: true)` / ``linear(_:weight:bias:)``.
public enum DType: String, Sendable, Hashable, Codable {
    /// 32-bit IEEE float.
    case f32
    /// 32-bit signed integer.
    case i32
    /// Blocks of 32 along the last axis: an fp16 scale and 32 int8 values (34 bytes per block).
    case q8_0
    /// Blocks of 32 along the last axis: an fp16 scale and 32 4-bit values (18 bytes per block).
    case q4_0

    /// Size of one element in bytes (for quantized types, rounded up to 1: use
    /// ``QuantFormat/byteCount(elements:)`` for their exact size).
    public var byteSize: Int {
        switch self {
        case .f32, .i32: return 4
        case .q8_0, .q4_0: return 1
        }
    }

    /// The block format of a quantized dtype, `nil` for `f32` and `i32`.
    public var quantFormat: QuantFormat? { QuantFormat(rawValue: rawValue) }

    /// Whether this is a block-quantized weight type.
    public var isQuantized: Bool { quantFormat != nil }
}
