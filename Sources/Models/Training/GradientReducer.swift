/// The collective of data-parallel training: every rank passes a buffer of the same length and
/// gets back the element-wise sum over all ranks. An MPI communicator is one; a single process is
/// ``SingleRankReducer``.
public protocol GradientReducer: AnyObject {
    /// This process's rank, `0..<size`.
    var rank: Int { get }
    /// The number of ranks.
    var size: Int { get }
    /// Replaces `buffer` by the element-wise sum of every rank's `buffer` (in place). `step` names
    /// the training step in errors.
    func allReduceSum(_ buffer: inout [Float], step: Int) throws
}

/// One rank alone: the sum over ranks is the buffer itself.
public final class SingleRankReducer: GradientReducer {
    public let rank = 0
    public let size = 1

    public init() {}

    public func allReduceSum(_ buffer: inout [Float], step: Int) throws {}
}
