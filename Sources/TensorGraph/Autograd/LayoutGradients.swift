/// Gradient rules of slice and concat.

/// The slice's gradient padded back to x's shape with zero constants on either side.
func sliceGradient(x: Tensor, axis: Int, start: Int, end: Int, g: Tensor) throws -> Tensor {
    var parts: [Tensor] = []
    func zeros(_ n: Int) -> Tensor {
        var dims = x.shape.dims
        dims[axis] = n
        return g.graph.constant(0, shape: Shape(dims))
    }
    if start > 0 { parts.append(zeros(start)) }
    parts.append(g)
    if end < x.shape.dims[axis] { parts.append(zeros(x.shape.dims[axis] - end)) }
    return parts.count == 1 ? g : try concat(parts, axis: axis)
}

/// Each part's gradient is its slice of g.
func concatGradient(parts: [Tensor], axis: Int, g: Tensor, needs: [Bool]) throws -> [Tensor?] {
    var offset = 0
    var result: [Tensor?] = []
    for (k, part) in parts.enumerated() {
        let n = part.shape.dims[axis]
        if !needs[k] {
            result.append(nil)
        } else if n == g.shape.dims[axis] {
            result.append(g)
        } else {
            result.append(try g.slice(axis: axis, start: offset, end: offset + n))
        }
        offset += n
    }
    return result
}
