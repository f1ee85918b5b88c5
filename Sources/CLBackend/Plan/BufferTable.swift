import CLRuntime

/// The device buffers of a plan's values, by planned value id: what an op's encoder reads to bind
/// its kernels. Typed accessors throw ``BufferTableError`` when a value has no buffer or one of
/// another element type, so a lowering that disagrees with the memory plan fails with the value
/// named instead of crashing.
struct BufferTable {
    private var buffers: [ValueID: DeviceBuffer] = [:]

    /// The buffer of value `value`, if one is assigned.
    subscript(value: ValueID) -> DeviceBuffer? {
        get { buffers[value] }
        set { buffers[value] = newValue }
    }

    /// The buffer of value `value`.
    func buffer(_ value: ValueID) throws -> DeviceBuffer {
        guard let buffer = buffers[value] else { throw BufferTableError.missing(value: value) }
        return buffer
    }

    /// The f32 buffer of value `value`.
    func floats(_ value: ValueID) throws -> CLBuffer<Float> {
        guard case .f32(let buffer) = try self.buffer(value) else { throw wrongType(value, expected: "f32") }
        return buffer
    }

    /// The i32 buffer of value `value`.
    func ints(_ value: ValueID) throws -> CLBuffer<Int32> {
        guard case .i32(let buffer) = try self.buffer(value) else { throw wrongType(value, expected: "i32") }
        return buffer
    }

    /// The byte buffer (quantized or half-precision weights) of value `value`.
    func bytes(_ value: ValueID) throws -> CLBuffer<UInt8> {
        guard case .bytes(let buffer) = try self.buffer(value) else { throw wrongType(value, expected: "bytes") }
        return buffer
    }

    /// The memory of value `value`, whatever its element type (for copies).
    func memory(_ value: ValueID) throws -> any DeviceMemory { try buffer(value).memory }

    private func wrongType(_ value: ValueID, expected: String) -> BufferTableError {
        .wrongType(value: value, expected: expected, found: buffers[value].map(\.typeName) ?? "none")
    }
}

/// A lowered op asked the ``BufferTable`` for a buffer the memory plan did not give it.
enum BufferTableError: Error, CustomStringConvertible, Equatable {
    /// Value `value` has no buffer.
    case missing(value: ValueID)
    /// Value `value` has a buffer of element type `found`, not `expected`.
    case wrongType(value: ValueID, expected: String, found: String)

    var description: String {
        switch self {
        case .missing(let value):
            return "planned value \(value) has no device buffer: the lowering reads a value the memory plan did not place"
        case let .wrongType(value, expected, found):
            return "planned value \(value) has a \(found) buffer where an op expects \(expected)"
        }
    }
}

extension DeviceBuffer {
    /// The element type's name, for messages.
    var typeName: String {
        switch self {
        case .f32: return "f32"
        case .i32: return "i32"
        case .bytes: return "bytes"
        }
    }
}
