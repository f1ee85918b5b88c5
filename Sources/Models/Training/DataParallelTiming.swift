/// Where a data-parallel rank's step time goes: forward and backward (with the gradients' download
/// into the fused buffer), the all-reduce (with any wait for slower ranks), and the update (the
/// buffer's upload, clipping and AdamW, the weights' copy into the gradient plan).
public struct DataParallelTiming: Sendable, Equatable {
    /// Steps timed.
    public var steps = 0
    /// Seconds in forward and backward, in the all-reduce, and in the update, over `steps`.
    public var gradientSeconds = 0.0, reduceSeconds = 0.0, updateSeconds = 0.0

    public init() {}

    /// Seconds per step in all.
    public var secondsPerStep: Double { steps == 0 ? 0 : (gradientSeconds + reduceSeconds + updateSeconds) / Double(steps) }

    /// The all-reduce's share of the step time.
    public var reduceFraction: Double {
        let total = gradientSeconds + reduceSeconds + updateSeconds
        return total == 0 ? 0 : reduceSeconds / total
    }
}
