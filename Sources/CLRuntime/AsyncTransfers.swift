import COpenCL

/// The result of a non-blocking read: valid after the context's next `finish()`.
public final class PendingRead<Element: DeviceScalar>: @unchecked Sendable {
    private let storage: UnsafeMutableBufferPointer<Element>

    init(count: Int) {
        storage = .allocate(capacity: Swift.max(count, 1))
        storage.initialize(repeating: .zero)
    }

    deinit { storage.deallocate() }

    var baseAddress: UnsafeMutableRawPointer? { UnsafeMutableRawPointer(storage.baseAddress) }

    /// The values read; call only after `CLContext.finish()`.
    public func values(count: Int) -> [Element] { Array(storage.prefix(count)) }
}

extension CLBuffer {
    /// Enqueues a write of `values` without waiting: the values are staged in host memory the
    /// context keeps until its next `finish()`. Lets a plan run synchronise once, not per input.
    public func enqueueUpload(_ values: [Element], offset: Int = 0) throws {
        guard offset >= 0, offset + values.count <= count else {
            throw CLError.sizeMismatch(operation: "upload",
                                       detail: "elements \(offset)..<\(offset + values.count) are outside a buffer of \(count)")
        }
        guard !values.isEmpty else { return }
        let bytes = values.count * MemoryLayout<Element>.stride
        let staging = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes, alignment: 64)
        values.withUnsafeBytes { staging.copyMemory(from: $0) }
        try context.enqueueStaged(staging) {
            try check(clEnqueueWriteBuffer(context.queue, memoryObject, cl_bool(CL_FALSE), offset * MemoryLayout<Element>.stride,
                                           bytes, staging.baseAddress, 0, nil, nil),
                      "clEnqueueWriteBuffer")
        }
    }

    /// Enqueues a read of `count` elements from `offset` without waiting; the values are
    /// available from the returned object after the context's next `finish()`.
    public func enqueueDownload(offset: Int = 0, count: Int? = nil) throws -> PendingRead<Element> {
        let count = count ?? (self.count - offset)
        guard offset >= 0, count >= 0, offset + count <= self.count else {
            throw CLError.sizeMismatch(operation: "download",
                                       detail: "elements \(offset)..<\(offset + count) are outside a buffer of \(self.count)")
        }
        let pending = PendingRead<Element>(count: count)
        guard count > 0 else { return pending }
        try check(clEnqueueReadBuffer(context.queue, memoryObject, cl_bool(CL_FALSE), offset * MemoryLayout<Element>.stride,
                                      count * MemoryLayout<Element>.stride, pending.baseAddress, 0, nil, nil),
                  "clEnqueueReadBuffer")
        return pending
    }
}
