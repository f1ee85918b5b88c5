/// Reductions and softmax along one axis.
extension Tensor {
    /// Sum along `axis` (negative counts from the end).
    public func sum(axis: Int, keepDims: Bool = false) throws -> Tensor {
        try graph.apply(.reduce(.sum, axis: axis, keepDims: keepDims), [self])
    }
    /// Mean along `axis` (negative counts from the end).
    public func mean(axis: Int, keepDims: Bool = false) throws -> Tensor {
        try graph.apply(.reduce(.mean, axis: axis, keepDims: keepDims), [self])
    }
    /// Maximum along `axis` (negative counts from the end).
    public func max(axis: Int, keepDims: Bool = false) throws -> Tensor {
        try graph.apply(.reduce(.max, axis: axis, keepDims: keepDims), [self])
    }
    /// The index of the largest element along the last axis (i32, the last axis dropped); ties give
    /// the first index, a NaN counts as the largest value.
    public func argmax() throws -> Tensor {
        try graph.apply(.argmax, [self])
    }
    /// Softmax along `axis` (default: the last).
    public func softmax(axis: Int = -1) throws -> Tensor {
        try graph.apply(.softmax(axis: axis), [self])
    }
    /// Log-softmax along `axis` (default: the last).
    public func logSoftmax(axis: Int = -1) throws -> Tensor {
        try graph.apply(.logSoftmax(axis: axis), [self])
    }
}
