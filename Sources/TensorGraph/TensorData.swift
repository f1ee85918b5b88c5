/// Concrete host data for one tensor: a shape and f32 or i32 elements in row-major order, or
/// llama.cpp-layout quantized blocks (see ``QuantFormat``).
public struct TensorData: Equatable, Sendable {
    /// The elements, by dtype.
    public enum Storage: Equatable, Sendable {
        case f32([Float])
        case i32([Int32])
        /// Blocks of 32 along the last axis, in llama.cpp's byte layout.
        case quantized(QuantFormat, bytes: [UInt8])
    }
    /// The shape.
    public var shape: Shape
    /// The elements.
    public var storage: Storage

    /// f32 data. - Precondition: `floats.count == shape.count`.
    public init(shape: Shape, floats: [Float]) {
        precondition(floats.count == shape.count, "TensorData: \(floats.count) values for shape \(shape) (\(shape.count) elements)")
        self.shape = shape
        self.storage = .f32(floats)
    }

    /// i32 data. - Precondition: `ints.count == shape.count`.
    public init(shape: Shape, ints: [Int32]) {
        precondition(ints.count == shape.count, "TensorData: \(ints.count) values for shape \(shape) (\(shape.count) elements)")
        self.shape = shape
        self.storage = .i32(ints)
    }

    /// A scalar (shape `[]`).
    public init(scalar: Float) { self.init(shape: [], floats: [scalar]) }

    /// The element type.
    public var dtype: DType {
        switch storage {
        case .f32: return .f32
        case .i32: return .i32
        case .quantized(let format, _): return format.dtype
        }
    }

    /// The elements as floats (i32 converted, quantized blocks dequantized).
    public var floats: [Float] {
        switch storage {
        case .f32(let f): return f
        case .i32(let i): return i.map(Float.init)
        case .quantized(let format, let bytes): return Quantization.dequantize(bytes, format: format)
        }
    }

    /// The elements as ints (f32 truncated toward zero; non-finite values become 0).
    public var ints: [Int32] {
        switch storage {
        case .i32(let i): return i
        case .quantized: return floats.map { Int32($0.rounded(.towardZero)) }
        case .f32(let f):
            return f.map { $0.isFinite ? Int32(clamping: Int64($0.clamped(-2.2e9, 2.2e9))) : 0 }
        }
    }

    /// Number of elements.
    public var count: Int { shape.count }
}

private extension Float {
    func clamped(_ lo: Float, _ hi: Float) -> Float { Swift.min(Swift.max(self, lo), hi) }
}
