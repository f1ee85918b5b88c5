#if MPI
import CMPI
import Models

/// The ranks of `MPI_COMM_WORLD`. Errors come back as codes (`MPI_ERRORS_RETURN`) and become
/// ``DistributedError``; the gradient sum is one `MPI_Allreduce` in place per step, under a
/// ``CollectiveWatchdog``.
final class MPIProcessGroup: ProcessGroup {
    let rank: Int
    let size: Int
    let localRank: Int
    let localSize: Int
    private let watchdog: CollectiveWatchdog
    private var finalized = false

    /// Elements per `MPI_Allreduce` call (its count is a C int).
    private static let chunk = 1 << 30

    init(collectiveTimeout: Double) throws {
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized == 0 {
            var provided: Int32 = 0
            try Self.check("MPI_Init_thread", MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided))
        }
        let world = cmpi_comm_world()
        try Self.check("MPI_Comm_set_errhandler", MPI_Comm_set_errhandler(world, cmpi_errors_return()))
        var rank: Int32 = 0, size: Int32 = 0
        try Self.check("MPI_Comm_rank", MPI_Comm_rank(world, &rank))
        try Self.check("MPI_Comm_size", MPI_Comm_size(world, &size))
        var local: MPI_Comm?
        try Self.check("MPI_Comm_split_type", MPI_Comm_split_type(world, Int32(MPI_COMM_TYPE_SHARED), rank, cmpi_info_null(), &local))
        var localRank: Int32 = 0, localSize: Int32 = 1
        try Self.check("MPI_Comm_rank", MPI_Comm_rank(local, &localRank))
        try Self.check("MPI_Comm_size", MPI_Comm_size(local, &localSize))
        MPI_Comm_free(&local)
        (self.rank, self.size, self.localRank, self.localSize) = (Int(rank), Int(size), Int(localRank), Int(localSize))
        watchdog = CollectiveWatchdog(timeout: collectiveTimeout, rank: Int(rank))
    }

    func allReduceSum(_ buffer: inout [Float], step: Int) throws {
        guard size > 1 else { return }
        watchdog.arm(step: step)
        defer { watchdog.disarm() }
        try buffer.withUnsafeMutableBufferPointer { elements in
            var start = 0
            while start < elements.count {
                let count = min(Self.chunk, elements.count - start)
                try Self.check("MPI_Allreduce (step \(step), \(elements.count) floats)",
                               MPI_Allreduce(cmpi_in_place(), elements.baseAddress! + start, Int32(count), cmpi_float(), cmpi_sum(), cmpi_comm_world()))
                start += count
            }
        }
    }

    func barrier() throws {
        try Self.check("MPI_Barrier", MPI_Barrier(cmpi_comm_world()))
    }

    func finalize() {
        guard !finalized else { return }
        finalized = true
        MPI_Finalize()
    }

    private static func check(_ call: String, _ code: Int32) throws {
        guard code != Int32(MPI_SUCCESS) else { return }
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &text, &length)
        throw DistributedError.mpi(call: call, code: code, message: String(cString: text))
    }
}
#endif
