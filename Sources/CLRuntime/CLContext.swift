import COpenCL
import Foundation

/// A context and one in-order command queue on one device: everything that allocates
/// buffers, builds programs and launches kernels goes through it.
///
/// Built programs are kept per context (keyed by family, source and options), so plans and
/// tests that ask for the same program share one build.
public final class CLContext: @unchecked Sendable {
    public let device: Device
    let context: cl_context
    let queue: cl_command_queue
    public let profilingEnabled: Bool
    public let programCache: ProgramCache?

    private let lock = NSLock()
    private let stagingLock = NSLock()
    private var programs: [ProgramKey: CLProgram] = [:]
    /// Host staging of non-blocking uploads, freed once the queue has drained.
    private var staging: [UnsafeMutableRawBufferPointer] = []
    /// Shared with every buffer, which may outlive the context (the count stays readable).
    let allocations = AllocationCount()

    /// Bytes held by this context's live buffers (sub-buffer views not counted twice): what the
    /// process has allocated on the device through it, for leak checks and soak runs.
    public var allocatedBufferBytes: Int { allocations.bytes }

    /// Creates a context and a profiling-enabled in-order queue on `device`.
    /// - Parameter programCache: the on-disk binary cache; `.default` follows `CLGRAPH_PROGRAM_CACHE`.
    public init(device: Device, profiling: Bool = true, programCache: ProgramCache? = .default) throws {
        self.device = device
        self.profilingEnabled = profiling
        self.programCache = programCache
        var status: cl_int = 0
        var deviceID: cl_device_id? = device.id
        guard let context = clCreateContext(nil, 1, &deviceID, nil, nil, &status), status == CL_SUCCESS else {
            throw CLError.api(call: "clCreateContext", code: status, context: device.info.name)
        }
        self.context = context
        do {
            self.queue = try Self.makeQueue(context: context, device: device, profiling: profiling)
        } catch {
            clReleaseContext(context)
            throw error
        }
    }

    /// A context on the device chosen by `selector` (see `OpenCL.selectDevice`).
    public convenience init(selecting selector: String? = nil, profiling: Bool = true) throws {
        try self.init(device: try OpenCL.selectDevice(selector), profiling: profiling)
    }

    deinit {
        clFinish(queue)
        staging.forEach { $0.deallocate() }
        clReleaseCommandQueue(queue)
        clReleaseContext(context)
    }

    /// `clCreateCommandQueueWithProperties` exists from OpenCL 2.0; 1.2 platforms only have
    /// the older call (their dispatch table may lack the new entry), so pick by platform version.
    private static func makeQueue(context: cl_context, device: Device, profiling: Bool) throws -> cl_command_queue {
        var status: cl_int = 0
        let properties = profiling ? cl_command_queue_properties(CL_QUEUE_PROFILING_ENABLE) : 0
        let queue: cl_command_queue?
        if device.info.platformOpenCLVersion.major >= 2 {
            var list: [cl_queue_properties] = [cl_queue_properties(CL_QUEUE_PROPERTIES), cl_queue_properties(properties), 0]
            queue = clCreateCommandQueueWithProperties(context, device.id, &list, &status)
        } else {
            queue = clCreateCommandQueue(context, device.id, properties, &status)
        }
        guard let queue, status == CL_SUCCESS else {
            throw CLError.api(call: "clCreateCommandQueue", code: status, context: device.info.name)
        }
        return queue
    }

    /// Blocks until every enqueued command has finished.
    ///
    /// Frees the host staging of uploads enqueued before the call. Staging is recorded in the same
    /// critical section as its enqueue, so a snapshot taken before `clFinish` holds only uploads
    /// that `clFinish` waits for, even when other threads enqueue on this context meanwhile.
    public func finish() throws {
        stagingLock.lock()
        let drained = staging
        staging.removeAll()
        stagingLock.unlock()
        do {
            try check(clFinish(queue), "clFinish")
        } catch {
            stagingLock.lock()
            staging += drained  // not known to be complete: keep it for a later finish
            stagingLock.unlock()
            throw error
        }
        drained.forEach { $0.deallocate() }
    }

    /// Runs `enqueue` (a non-blocking write reading `memory`) and keeps `memory` until a later
    /// `finish()`; on failure `memory` is freed.
    func enqueueStaged(_ memory: UnsafeMutableRawBufferPointer, _ enqueue: () throws -> Void) throws {
        stagingLock.lock()
        defer { stagingLock.unlock() }
        do {
            try enqueue()
        } catch {
            memory.deallocate()
            throw error
        }
        staging.append(memory)
    }

    /// Enqueues a marker: its event completes once every command enqueued before it has (the queue
    /// is in order), so the host can wait for one run while later runs are queued behind it.
    public func enqueueMarker(label: String) throws -> CLEvent {
        var event: cl_event?
        try check(clEnqueueMarkerWithWaitList(queue, 0, nil, &event), "clEnqueueMarkerWithWaitList", label)
        guard let event else { throw CLError.api(call: "clEnqueueMarkerWithWaitList", code: 0, context: label) }
        return CLEvent(event: event, label: label)
    }

    /// Submits enqueued commands to the device without waiting.
    public func flush() throws { try check(clFlush(queue), "clFlush") }

    // MARK: Programs

    private struct ProgramKey: Hashable { let family: String; let source: String; let options: String }

    /// Builds (or returns the already built) program for `source` with `options`.
    /// - Parameter family: the kernel family name, used in errors and traces.
    public func program(family: String, source: String, options: String = "") throws -> CLProgram {
        let key = ProgramKey(family: family, source: source, options: options)
        lock.lock()
        defer { lock.unlock() }
        if let program = programs[key] { return program }
        let program = try CLProgram(context: self, family: family, source: source, options: options, cache: programCache)
        programs[key] = program
        return program
    }

    /// Forgets the in-process program table (the on-disk cache is untouched). For measuring build times.
    public func dropBuiltPrograms() {
        lock.lock()
        programs.removeAll()
        lock.unlock()
    }
}
