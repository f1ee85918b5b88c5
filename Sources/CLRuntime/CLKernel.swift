import COpenCL

/// A kernel argument: a buffer, a scalar, or a size of local memory.
public enum KernelArgument {
    case buffer(any DeviceMemory)
    /// A null `__global` pointer: for an optional output the kernel checks before writing.
    case noBuffer
    case int32(Int32)
    /// An OpenCL `int4`.
    case int32x4(SIMD4<Int32>)
    case uint32(UInt32)
    case int64(Int64)
    case float(Float)
    case localBytes(Int)
}

/// Values that convert to a kernel argument, so `setArguments(a, b, Int32(n))` reads naturally.
public protocol KernelArgumentConvertible { var kernelArgument: KernelArgument { get } }
extension Int32: KernelArgumentConvertible { public var kernelArgument: KernelArgument { .int32(self) } }
extension UInt32: KernelArgumentConvertible { public var kernelArgument: KernelArgument { .uint32(self) } }
extension Int64: KernelArgumentConvertible { public var kernelArgument: KernelArgument { .int64(self) } }
extension Float: KernelArgumentConvertible { public var kernelArgument: KernelArgument { .float(self) } }
extension CLBuffer: KernelArgumentConvertible { public var kernelArgument: KernelArgument { .buffer(self) } }
extension KernelArgument: KernelArgumentConvertible { public var kernelArgument: KernelArgument { self } }

/// One kernel of a built program, with its arguments.
public final class CLKernel: @unchecked Sendable {
    let kernel: cl_kernel
    public let program: CLProgram
    public let name: String
    /// Buffers bound as arguments, kept alive as long as the kernel: OpenCL does not retain
    /// memory objects passed to clSetKernelArg, so a buffer freed while bound would leave the
    /// kernel pointing at released memory.
    private var boundMemory: [Int: any DeviceMemory] = [:]

    init(kernel: cl_kernel, program: CLProgram, name: String) {
        self.kernel = kernel
        self.program = program
        self.name = name
    }

    deinit { clReleaseKernel(kernel) }

    /// Sets argument `index`.
    public func setArgument(_ index: Int, _ argument: KernelArgument) throws {
        let status: cl_int
        switch argument {
        case .buffer(let memory):
            var object: cl_mem? = memory.memoryObject
            status = clSetKernelArg(kernel, cl_uint(index), MemoryLayout<cl_mem>.size, &object)
            if status == CL_SUCCESS { boundMemory[index] = memory }
        case .noBuffer: status = clSetKernelArg(kernel, cl_uint(index), MemoryLayout<cl_mem>.size, nil)
        case .int32(var value): status = clSetKernelArg(kernel, cl_uint(index), 4, &value)
        case .int32x4(var value): status = clSetKernelArg(kernel, cl_uint(index), MemoryLayout<SIMD4<Int32>>.size, &value)
        case .uint32(var value): status = clSetKernelArg(kernel, cl_uint(index), 4, &value)
        case .int64(var value): status = clSetKernelArg(kernel, cl_uint(index), 8, &value)
        case .float(var value): status = clSetKernelArg(kernel, cl_uint(index), 4, &value)
        case .localBytes(let bytes): status = clSetKernelArg(kernel, cl_uint(index), bytes, nil)
        }
        try check(status, "clSetKernelArg", "\(program.family).\(name) argument \(index)")
        if case .buffer = argument {} else { boundMemory[index] = nil }
    }

    /// Sets all arguments in order.
    public func setArguments(_ arguments: any KernelArgumentConvertible...) throws {
        try setArguments(arguments)
    }

    public func setArguments(_ arguments: [any KernelArgumentConvertible]) throws {
        for (index, argument) in arguments.enumerated() { try setArgument(index, argument.kernelArgument) }
    }

    /// The largest work-group this kernel can launch with on its device.
    public var maxWorkGroupSize: Int {
        var size = 0
        var device: cl_device_id? = program.context.device.id
        _ = clGetKernelWorkGroupInfo(kernel, device, cl_kernel_work_group_info(CL_KERNEL_WORK_GROUP_SIZE),
                                     MemoryLayout<Int>.size, &size, nil)
        device = nil
        return size
    }
}

extension CLContext {
    /// Enqueues `kernel` over `global` work-items in work-groups of `local` (nil: the driver picks).
    /// Returns an event only when `event` is true (events cost a little per launch).
    @discardableResult
    public func enqueue(_ kernel: CLKernel, global: [Int], local: [Int]? = nil, event: Bool = false) throws -> CLEvent? {
        precondition((1...3).contains(global.count), "1 to 3 dimensions")
        if let local { precondition(local.count == global.count, "local and global sizes must have the same rank") }
        if global.contains(0) { return nil }
        var eventHandle: cl_event?
        let localSizes = local ?? []
        let status: cl_int = withUnsafeMutablePointer(to: &eventHandle) { eventPointer in
            global.withUnsafeBufferPointer { globalPointer in
                localSizes.withUnsafeBufferPointer { localPointer in
                    clEnqueueNDRangeKernel(queue, kernel.kernel, cl_uint(global.count), nil, globalPointer.baseAddress,
                                           local == nil ? nil : localPointer.baseAddress, 0, nil,
                                           event ? eventPointer : nil)
                }
            }
        }
        try check(status, "clEnqueueNDRangeKernel",
                  "\(kernel.program.family).\(kernel.name) global \(global) local \(local.map { "\($0)" } ?? "auto")")
        return eventHandle.map { CLEvent(event: $0, label: kernel.name) }
    }
}
