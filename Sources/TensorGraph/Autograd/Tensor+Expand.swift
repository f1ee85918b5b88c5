/// Broadcasting a gradient up to a shape, and summing it back down.
extension Tensor {
    /// `self` broadcast (numpy rules) to `target`, e.g. a `[3, 1]` row-sum back to `[3, 5]`.
    ///
    /// Built as `self + 0` with a zero constant of `target`'s shape; an elementwise consumer fuses it.
    /// Returns `self` unchanged when the shape already is `target`.
    /// - Throws: ``GraphError`` when `self` does not broadcast to `target`.
    public func expand(to target: Shape) throws -> Tensor {
        if shape == target { return self }
        guard broadcastShape(shape, target) == target else {
            throw GraphError(op: "expand", shapes: [shape, target], expected: "a shape that broadcasts to \(target)",
                             message: "cannot expand \(shape) to \(target)")
        }
        return try self + graph.constant(0, shape: target)
    }

    /// The inverse of broadcasting: sums `self` over the axes where `target` is 1 or missing, giving
    /// exactly `target`'s shape. Adjacent summed (or kept) axes are merged by a reshape first, so a
    /// bias gradient `[B, T, C] → [C]` is one reduction of `[B·T, C]` over axis 0 (and no reshape after).
    func sumToShape(_ target: Shape) throws -> Tensor {
        if shape == target { return self }
        let rank = shape.rank
        let padded = [Int](repeating: 1, count: rank - target.rank) + target.dims
        // Group adjacent axes by whether they are summed; axes of size 1 on both sides join any group.
        var groups: [(size: Int, summed: Bool)] = []
        for axis in 0..<rank {
            let d = shape.dims[axis]
            if d == 1 { continue }
            let summed = padded[axis] == 1
            if let lastGroup = groups.last, lastGroup.summed == summed {
                groups[groups.count - 1].size *= d
            } else {
                groups.append((d, summed))
            }
        }
        var t = self
        let grouped = Shape(groups.map(\.size))
        if grouped != shape { t = try t.reshape(grouped) }
        // Last axis first, so the remaining axis numbers stay valid without keepDims.
        for (axis, group) in groups.enumerated().reversed() where group.summed {
            t = try t.sum(axis: axis)
        }
        return t.shape == target ? t : try t.reshape(target)
    }
}
