import Models

/// The ranks of a data-parallel run, as the launcher (`mpirun`) started them: this process's
/// place among them and the collective that sums gradients.
public protocol ProcessGroup: GradientReducer {
    /// This process's rank among the ranks on its machine (picks its device).
    var localRank: Int { get }
    /// Ranks on this machine.
    var localSize: Int { get }
    /// Waits until every rank has called it.
    func barrier() throws
    /// Leaves the group; every rank calls it once, after its last collective.
    func finalize()
}

/// Why a data-parallel run could not start or went on.
public enum DistributedError: Error, CustomStringConvertible, Equatable {
    /// This build has no MPI (built without the `MPI` trait).
    case notBuilt
    /// An MPI call failed: the call, its error code and MPI's message.
    case mpi(call: String, code: Int32, message: String)

    public var description: String {
        switch self {
        case .notBuilt:
            return "--distributed needs MPI, and this clmodel was built without it: install Open MPI "
                + "(apt-get install libopenmpi-dev openmpi-bin) and rebuild with the MPI trait "
                + "(swift build -c release --traits MPI --build-path .build-mpi), then launch with mpirun -np N"
        case .mpi(let call, let code, let message):
            return "\(call) failed with MPI error \(code): \(message)"
        }
    }
}
