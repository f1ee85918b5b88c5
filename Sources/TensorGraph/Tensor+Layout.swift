/// Data movement: reshape, permute, transpose, slice, concat.
extension Tensor {
    /// The same elements in a new shape; at most one dimension may be `-1` (inferred).
    /// The only op besides embedding/crossEntropy that accepts i32 tensors.
    public func reshape(_ shape: Shape) throws -> Tensor { try graph.apply(.reshape(shape), [self]) }

    /// Reorders axes: output axis `i` is input axis `axes[i]` (negative axes count from the end).
    public func permute(_ axes: [Int]) throws -> Tensor { try graph.apply(.permute(axes), [self]) }

    /// Swaps the last two axes.
    public func transposed() throws -> Tensor {
        let r = shape.rank
        guard r >= 2 else {
            throw GraphError(op: "permute", shapes: [shape], expected: "an operand of rank 2 or more",
                             message: "cannot transpose \(shape)")
        }
        var axes = Array(0..<r)
        axes.swapAt(r - 1, r - 2)
        return try permute(axes)
    }

    /// The half-open range `start..<end` along `axis`.
    public func slice(axis: Int, start: Int, end: Int) throws -> Tensor {
        try graph.apply(.slice(axis: axis, start: start, end: end), [self])
    }
}

/// Concatenates tensors along `axis`; all other dimensions must match.
public func concat(_ tensors: [Tensor], axis: Int) throws -> Tensor {
    guard let first = tensors.first else {
        throw GraphError(op: "concat", shapes: [], expected: "at least one operand", message: "nothing to concatenate")
    }
    return try first.graph.apply(.concat(axis: axis), tensors)
}
