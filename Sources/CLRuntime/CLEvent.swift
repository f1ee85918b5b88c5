import COpenCL

/// Device timestamps of one command, in nanoseconds of the device clock.
public struct ProfilingTimes: Sendable, Equatable {
    public var queued: UInt64
    public var submitted: UInt64
    public var started: UInt64
    public var ended: UInt64
    /// Kernel execution time (end − start).
    public var durationNanoseconds: UInt64 { ended &- started }
    public var durationMilliseconds: Double { Double(durationNanoseconds) / 1e6 }
}

/// A command's completion event; carries profiling times when the queue profiles.
public final class CLEvent: @unchecked Sendable {
    let event: cl_event
    public let label: String

    init(event: cl_event, label: String) {
        self.event = event
        self.label = label
    }

    deinit { clReleaseEvent(event) }

    public func wait() throws {
        var handle: cl_event? = event
        try check(clWaitForEvents(1, &handle), "clWaitForEvents", label)
    }

    /// Profiling timestamps; waits for completion first.
    public func profilingTimes() throws -> ProfilingTimes {
        try wait()
        func read(_ query: Int32) throws -> UInt64 {
            var value: cl_ulong = 0
            try check(clGetEventProfilingInfo(event, cl_profiling_info(query), MemoryLayout<cl_ulong>.size, &value, nil),
                      "clGetEventProfilingInfo", label)
            return value
        }
        return ProfilingTimes(
            queued: try read(CL_PROFILING_COMMAND_QUEUED), submitted: try read(CL_PROFILING_COMMAND_SUBMIT),
            started: try read(CL_PROFILING_COMMAND_START), ended: try read(CL_PROFILING_COMMAND_END))
    }
}
