import CLRuntime
import TensorGraph

/// A device buffer of one of the graph's element types.
enum DeviceBuffer {
    case f32(CLBuffer<Float>)
    case i32(CLBuffer<Int32>)
    /// A quantized weight in the device layout of `QuantMatmulFamily`, or `f16` weights as halves
    /// (`HalfMatmulFamily`).
    case bytes(CLBuffer<UInt8>)

    var floats: CLBuffer<Float> {
        guard case .f32(let buffer) = self else { preconditionFailure("expected an f32 buffer") }
        return buffer
    }

    var ints: CLBuffer<Int32> {
        guard case .i32(let buffer) = self else { preconditionFailure("expected an i32 buffer") }
        return buffer
    }

    var memory: any DeviceMemory {
        switch self {
        case .f32(let buffer): return buffer
        case .i32(let buffer): return buffer
        case .bytes(let buffer): return buffer
        }
    }

    var byteCount: Int {
        switch self {
        case .f32(let buffer): return buffer.byteCount
        case .i32(let buffer): return buffer.byteCount
        case .bytes(let buffer): return buffer.byteCount
        }
    }

    static func allocate(_ dtype: DType, count: Int, context: CLContext) throws -> DeviceBuffer {
        switch dtype {
        case .i32: return .i32(try CLBuffer<Int32>(context: context, count: count))
        case .q8_0, .q4_0:
            let bytes = QuantMatmulFamily.deviceByteCount(format: dtype.quantFormat!, elements: count)
            return .bytes(try CLBuffer<UInt8>(context: context, count: bytes))
        case .f16:
            return .bytes(try CLBuffer<UInt8>(context: context, count: HalfMatmulFamily.deviceByteCount(elements: count)))
        default: return .f32(try CLBuffer<Float>(context: context, count: count))
        }
    }
}

/// A value of the plan being lowered (an input, variable, constant or intermediate), numbered in
/// the order the lowering creates them.
struct ValueID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The value's position in the lowering's value list.
    let index: Int

    static func < (a: ValueID, b: ValueID) -> Bool { a.index < b.index }
    var description: String { "v\(index)" }
}

extension Array where Element == PlannedValue {
    subscript(id: ValueID) -> PlannedValue {
        get { self[id.index] }
        set { self[id.index] = newValue }
    }
}

/// A tensor value the plan materialises in device memory (several graph nodes may share one:
/// a reshape is the same bytes under another shape).
struct PlannedValue {
    enum Role: Equatable {
        case input(String)
        case variable(String)
        case constant([Float])
        case intermediate
    }

    let id: ValueID
    let count: Int
    let dtype: DType
    let role: Role
    /// A plan output: never shares memory, may carry guard regions.
    var isOutput = false
}

/// One lowered operation: reads some values, writes one, and knows how to encode its launches
/// once buffers are assigned.
struct LoweredOp {
    let label: String
    let inputs: [ValueID]
    let output: ValueID
    /// Further values the same launch writes (a fused elementwise group's extra outputs, the
    /// attention backward's other gradients, the attention forward's saved statistics).
    var extraOutputs: [ValueID] = []
    /// Each output element depends only on the same-position elements of the inputs, so the
    /// output may overwrite an input of its own shape (a generated elementwise kernel).
    var isElementwise = false
    /// For a horizontally fused launch: what each independent part reads and writes. Parts run
    /// side by side, so a part may overwrite only what it alone reads (see `InPlaceAssignments`).
    var segments: [(reads: [ValueID], writes: [ValueID])] = []
    /// Outputs that may take the buffer of one of the op's inputs (output → input): the op then
    /// writes only what changes (a KV-cache append writes its new rows into the cache variable).
    /// `InPlaceAssignments` grants it when the output is assigned back to that very input.
    var sharableInputs: [ValueID: ValueID] = [:]
    let encode: (_ buffers: BufferTable) throws -> [LaunchStep]
}
