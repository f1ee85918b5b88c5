/// The element type of a tensor.
///
/// Only `f32` and `i32` exist today; `i32` is reserved for token indices and
/// classification targets (inputs to ``Op/embedding`` and ``Op/crossEntropy(ignoreIndex:)``).
/// There is room for `f16`, `q8_0` and `q4_0` later.
public enum DType: String, Sendable, Hashable, Codable {
    /// 32-bit IEEE float.
    case f32
    /// 32-bit signed integer.
    case i32

    /// Size of one element in bytes.
    public var byteSize: Int { 4 }
}
