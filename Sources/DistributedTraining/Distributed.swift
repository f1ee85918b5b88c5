/// Starting a data-parallel run: over MPI in builds with the `MPI` trait, otherwise not at all.
public enum Distributed {
    /// Whether this build can run data-parallel (it was built with the `MPI` trait).
    public static var isAvailable: Bool {
        #if MPI
        return true
        #else
        return false
        #endif
    }

    /// Joins the ranks `mpirun` started (a process started alone is rank 0 of 1).
    /// - Parameter collectiveTimeout: seconds a gradient all-reduce may wait for the other ranks
    ///   before this process reports them dead and exits.
    /// - Throws: ``DistributedError/notBuilt`` in a build without MPI; ``DistributedError/mpi(call:code:message:)``.
    public static func start(collectiveTimeout: Double) throws -> any ProcessGroup {
        #if MPI
        return try MPIProcessGroup(collectiveTimeout: collectiveTimeout)
        #else
        throw DistributedError.notBuilt
        #endif
    }
}
