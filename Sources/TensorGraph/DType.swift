/// The element type of a tensor.
///
/// `i32` is reserved for token indices and classification targets (inputs to ``Op/embedding``
/// and ``Op/crossEntropy(ignoreIndex:)``). `q8_0` and `q4_0` are llama.cpp block-quantized
/// weights and `f16` half-precision weights (see ``QuantFormat``): only variables may have them,
/// and only as B of `matmul(transposeB: true)` / ``linear(_:weight:bias:)``; products read them
/// with float32 arithmetic.
public enum DType: String, Sendable, Hashable, Codable {
    /// 32-bit IEEE float.
    case f32
    /// 32-bit signed integer.
    case i32
    /// Blocks of 32 along the last axis: an fp16 scale and 32 int8 values (34 bytes per block).
    case q8_0
    /// Blocks of 32 along the last axis: an fp16 scale and 32 4-bit values (18 bytes per block).
    case q4_0
    /// IEEE binary16 weights (2 bytes each, any K).
    case f16

    /// Size of one element in bytes (for block-quantized types, rounded up to 1: use
    /// ``QuantFormat/byteCount(elements:)`` for their exact size).
    public var byteSize: Int {
        switch self {
        case .f32, .i32: return 4
        case .f16: return 2
        case .q8_0, .q4_0: return 1
        }
    }

    /// The weight format of a reduced-precision dtype, `nil` for `f32` and `i32`.
    public var quantFormat: QuantFormat? { QuantFormat(rawValue: rawValue) }

    /// Whether this is a reduced-precision weight type (block-quantized or `f16`).
    public var isQuantized: Bool { quantFormat != nil }
}
