import COpenCL

/// Element types a device buffer can hold: plain values with a fixed layout.
public protocol DeviceScalar: Sendable {
    static var zero: Self { get }
}
extension Float: DeviceScalar { public static var zero: Float { 0 } }
extension Int32: DeviceScalar { public static var zero: Int32 { 0 } }
extension UInt32: DeviceScalar { public static var zero: UInt32 { 0 } }
extension UInt16: DeviceScalar { public static var zero: UInt16 { 0 } }
extension UInt8: DeviceScalar { public static var zero: UInt8 { 0 } }
extension Int8: DeviceScalar { public static var zero: Int8 { 0 } }

/// Anything that can be passed to a kernel as a `__global` pointer.
public protocol DeviceMemory: AnyObject {
    var memoryObject: cl_mem { get }
    var byteCount: Int { get }
}

/// A device buffer of `count` elements of `Element`. Transfers are bounds-checked on the host:
/// a range outside the buffer is a `CLError.sizeMismatch`, never a driver crash.
public final class CLBuffer<Element: DeviceScalar>: DeviceMemory, @unchecked Sendable {
    public let count: Int
    public let memoryObject: cl_mem
    public unowned let context: CLContext
    /// The buffer a sub-buffer views, kept alive as long as the view.
    public let parent: (any DeviceMemory)?
    /// Element offset of a sub-buffer inside its parent (0 for a plain buffer).
    public let offsetInParent: Int
    /// Device bytes this buffer allocated (0 for a view, whose memory its parent holds).
    private let allocatedBytes: Int
    private let allocations: AllocationCount

    public var byteCount: Int { count * MemoryLayout<Element>.stride }

    /// Allocates an uninitialised buffer of `count` elements (at least one).
    public init(context: CLContext, count: Int) throws {
        precondition(count >= 0, "buffer element count must be non-negative")
        self.context = context
        self.count = count
        self.parent = nil
        self.offsetInParent = 0
        let bytes = Swift.max(count, 1) * MemoryLayout<Element>.stride
        if bytes > context.device.info.maxAllocationBytes {
            throw CLError.allocationTooLarge(
                bytes: bytes, maxAllocation: context.device.info.maxAllocationBytes, device: context.device.info.name)
        }
        var status: cl_int = 0
        guard let memory = clCreateBuffer(context.context, cl_mem_flags(CL_MEM_READ_WRITE), bytes, nil, &status),
              status == CL_SUCCESS
        else { throw CLError.api(call: "clCreateBuffer", code: status, context: "\(bytes) bytes") }
        self.memoryObject = memory
        self.allocatedBytes = bytes
        self.allocations = context.allocations
        allocations.add(bytes)
    }

    /// Allocates a buffer holding a copy of `values`.
    public convenience init(context: CLContext, values: [Element]) throws {
        try self.init(context: context, count: values.count)
        try upload(values)
    }

    private init(context: CLContext, memoryObject: cl_mem, count: Int, parent: any DeviceMemory, offset: Int) {
        self.context = context
        self.memoryObject = memoryObject
        self.count = count
        self.parent = parent
        self.offsetInParent = offset
        self.allocatedBytes = 0
        self.allocations = context.allocations
    }

    deinit {
        clReleaseMemObject(memoryObject)
        allocations.add(-allocatedBytes)
    }

    /// A view of `count` elements from `offset`, sharing this buffer's memory. The origin must
    /// be aligned to `DeviceInfo.baseAddressAlignmentBytes`. Guard regions around plan outputs use it:
    /// a kernel that writes past its view lands in the parent, where the guard is checked.
    public func view(offset: Int, count: Int) throws -> CLBuffer<Element> {
        try checkRange("view", offset: offset, count: count)
        let stride = MemoryLayout<Element>.stride
        var region = cl_buffer_region(origin: offset * stride, size: Swift.max(count, 1) * stride)
        var status: cl_int = 0
        guard let memory = clCreateSubBuffer(memoryObject, cl_mem_flags(CL_MEM_READ_WRITE),
                                             cl_buffer_create_type(CL_BUFFER_CREATE_TYPE_REGION), &region, &status),
              status == CL_SUCCESS
        else {
            throw CLError.api(call: "clCreateSubBuffer", code: status,
                              context: "origin \(offset * stride) bytes, alignment \(context.device.info.baseAddressAlignmentBytes)")
        }
        return CLBuffer(context: context, memoryObject: memory, count: count, parent: self, offset: offset)
    }

    private func checkRange(_ operation: String, offset: Int, count: Int) throws {
        guard offset >= 0, count >= 0, offset + count <= self.count else {
            throw CLError.sizeMismatch(
                operation: operation,
                detail: "elements \(offset)..<\(offset + count) are outside a buffer of \(self.count)")
        }
    }

    /// Copies `values` into the buffer starting at element `offset`; waits for completion.
    public func upload(_ values: [Element], offset: Int = 0) throws {
        try checkRange("upload", offset: offset, count: values.count)
        guard !values.isEmpty else { return }
        let stride = MemoryLayout<Element>.stride
        try values.withUnsafeBytes { raw in
            try check(
                clEnqueueWriteBuffer(context.queue, memoryObject, cl_bool(CL_TRUE), offset * stride, raw.count,
                                     raw.baseAddress, 0, nil, nil),
                "clEnqueueWriteBuffer")
        }
    }

    /// Reads `count` elements starting at `offset` (default: the whole buffer); waits for completion.
    public func download(offset: Int = 0, count: Int? = nil) throws -> [Element] {
        let count = count ?? (self.count - offset)
        try checkRange("download", offset: offset, count: count)
        var values = [Element](repeating: .zero, count: count)
        guard count > 0 else { return values }
        let stride = MemoryLayout<Element>.stride
        try values.withUnsafeMutableBytes { raw in
            try check(
                clEnqueueReadBuffer(context.queue, memoryObject, cl_bool(CL_TRUE), offset * stride, raw.count,
                                    raw.baseAddress, 0, nil, nil),
                "clEnqueueReadBuffer")
        }
        return values
    }

    /// Enqueues a device-side copy of `count` elements from `source` (no host round trip).
    public func copy(from source: CLBuffer<Element>, sourceOffset: Int = 0, offset: Int = 0, count: Int? = nil) throws {
        let count = count ?? Swift.min(source.count - sourceOffset, self.count - offset)
        try source.checkRange("copy (source)", offset: sourceOffset, count: count)
        try checkRange("copy (destination)", offset: offset, count: count)
        guard count > 0 else { return }
        let stride = MemoryLayout<Element>.stride
        try check(
            clEnqueueCopyBuffer(context.queue, source.memoryObject, memoryObject, sourceOffset * stride, offset * stride,
                                count * stride, 0, nil, nil),
            "clEnqueueCopyBuffer")
    }

    /// Enqueues a fill of `count` elements from `offset` with `value`.
    public func fill(_ value: Element, offset: Int = 0, count: Int? = nil) throws {
        let count = count ?? (self.count - offset)
        try checkRange("fill", offset: offset, count: count)
        guard count > 0 else { return }
        let stride = MemoryLayout<Element>.stride
        try withUnsafeBytes(of: value) { pattern in
            try check(
                clEnqueueFillBuffer(context.queue, memoryObject, pattern.baseAddress, stride, offset * stride,
                                    count * stride, 0, nil, nil),
                "clEnqueueFillBuffer")
        }
    }
}
