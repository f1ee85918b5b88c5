/// Gradient rules of slice and concat.

/// The slice's gradient padded back to x's shape with zero constants on either side.
func sliceGradient(x: Tensor, axis: Int, start: Int, end: Int, g: Tensor) throws -> Tensor {
    var sum = GradientSum()
    sum.addSlice(axis: axis, start: start, end: end, gradient: g)
    return try sum.total(shape: x.shape)!
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
