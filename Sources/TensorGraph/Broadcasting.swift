/// Index helpers shared by every backend: row-major strides and numpy-style broadcasting.

/// Row-major (C order) strides of `shape`, in elements; the last axis has stride 1.
public func contiguousStrides(_ shape: Shape) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.rank)
    var s = 1
    for axis in stride(from: shape.rank - 1, through: 0, by: -1) {
        strides[axis] = s
        s *= shape.dims[axis]
    }
    return strides
}

/// The numpy broadcast of two shapes, or nil when they do not broadcast.
///
/// Shapes are aligned at their last axis; each pair of dimensions must be equal or one of them 1
/// (missing leading axes count as 1). `broadcastShape([3, 1], [4])` is `[3, 4]`.
public func broadcastShape(_ a: Shape, _ b: Shape) -> Shape? {
    let rank = max(a.rank, b.rank)
    var dims = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        let da = i < rank - a.rank ? 1 : a.dims[i - (rank - a.rank)]
        let db = i < rank - b.rank ? 1 : b.dims[i - (rank - b.rank)]
        if da == db || db == 1 { dims[i] = da } else if da == 1 { dims[i] = db } else { return nil }
    }
    return Shape(dims)
}

/// The numpy broadcast of several shapes, or nil when they do not broadcast.
public func broadcastShape(_ shapes: [Shape]) -> Shape? {
    var result: Shape = []
    for s in shapes {
        guard let r = broadcastShape(result, s) else { return nil }
        result = r
    }
    return result
}

/// Strides for reading a tensor of shape `source` as if it had the (broadcast) shape `target`.
///
/// The result has `target.rank` entries: 0 on axes that `source` lacks or where `source` has size 1
/// and `target` does not, the ordinary row-major stride elsewhere. The element of `source` at
/// output multi-index `i` is `Σ i[k] · strides[k]`.
/// - Precondition: `source` broadcasts to `target`.
public func broadcastStrides(from source: Shape, to target: Shape) -> [Int] {
    precondition(source.rank <= target.rank, "cannot broadcast \(source) to \(target)")
    let own = contiguousStrides(source)
    let offset = target.rank - source.rank
    var result = [Int](repeating: 0, count: target.rank)
    for axis in 0..<source.rank {
        let d = source.dims[axis]
        precondition(d == target.dims[axis + offset] || d == 1, "cannot broadcast \(source) to \(target)")
        result[axis + offset] = (d == 1 && target.dims[axis + offset] != 1) ? 0 : own[axis]
    }
    return result
}

/// Maps each linear (row-major) index of a broadcast output to the linear index of one input.
///
/// ```swift
/// let m = BroadcastIndexMap(from: [3, 1], to: [2, 3, 4])
/// m.sourceIndex(5)   // output [0, 1, 1] -> input [1, 0] -> 1
/// ```
public struct BroadcastIndexMap: Sendable, Hashable {
    /// The shape read from.
    public let source: Shape
    /// The broadcast output shape.
    public let target: Shape
    /// Per-output-axis strides into the source (0 where broadcast).
    public let strides: [Int]
    /// True when no broadcasting happens, so `sourceIndex(i) == i`.
    public let isIdentity: Bool

    /// Creates the map. - Precondition: `source` broadcasts to `target`.
    public init(from source: Shape, to target: Shape) {
        self.source = source
        self.target = target
        self.strides = broadcastStrides(from: source, to: target)
        self.isIdentity = source.count == target.count
    }

    /// The source linear index of output linear index `index`.
    public func sourceIndex(_ index: Int) -> Int {
        if isIdentity { return index }
        var rest = index
        var result = 0
        var axis = target.rank - 1
        while axis >= 0 {
            let d = target.dims[axis]
            result += (rest % d) * strides[axis]
            rest /= d
            axis -= 1
        }
        return result
    }
}

/// The multi-index of linear (row-major) index `index` in `shape`.
public func multiIndex(_ index: Int, in shape: Shape) -> [Int] {
    var result = [Int](repeating: 0, count: shape.rank)
    var rest = index
    for axis in stride(from: shape.rank - 1, through: 0, by: -1) {
        result[axis] = rest % shape.dims[axis]
        rest /= shape.dims[axis]
    }
    return result
}

/// The linear (row-major) index of multi-index `index` in `shape`.
public func linearIndex(_ index: [Int], in shape: Shape) -> Int {
    var result = 0
    for axis in 0..<shape.rank { result = result * shape.dims[axis] + index[axis] }
    return result
}
