import TensorGraph

/// Where the elements of a layout op's result lie in the buffer it was derived from: an offset and
/// per-axis strides (in elements). Slices, permutes and reshapes compose into one view, so a chain
/// of them is one strided copy.
struct StridedView: Equatable {
    var offset: Int
    var dims: [Int]
    var strides: [Int]

    /// A whole contiguous, row-major tensor.
    init(contiguous dims: [Int]) {
        self.init(offset: 0, dims: dims, strides: LayoutFamily.strides(dims))
    }

    init(offset: Int, dims: [Int], strides: [Int]) {
        self.offset = offset
        self.dims = dims
        self.strides = strides
    }

    /// The view after `op` (a slice, permute or reshape to `shape`), or nil when the op is another
    /// kind or the reshape merges axes that are not contiguous with each other in this view.
    func applying(_ op: Op, producing shape: Shape) -> StridedView? {
        switch op {
        case let .slice(axis, start, _):
            var view = self
            view.offset += start * strides[axis]
            view.dims[axis] = shape[axis]
            return view
        case .permute(let axes):
            return StridedView(offset: offset, dims: axes.map { dims[$0] }, strides: axes.map { strides[$0] })
        case .reshape:
            return reshaped(shape.dims)
        default:
            return nil
        }
    }

    /// The same elements seen as `newDims` in row-major order: axes split freely; axes merge only
    /// when each one's stride is the next one's stride times its length (axes of length 1 take any
    /// stride).
    func reshaped(_ newDims: [Int]) -> StridedView? {
        let old = zip(dims, strides).filter { $0.0 != 1 }
        var newStrides = [Int](repeating: 0, count: newDims.count)
        var i = 0, j = 0
        while i < old.count || j < newDims.count {
            if j < newDims.count, newDims[j] == 1 {
                j += 1
                continue
            }
            guard i < old.count, j < newDims.count else { return nil }
            // The smallest runs of old and new axes with equal products.
            var oldEnd = i + 1, newEnd = j + 1
            var oldProduct = old[i].0, newProduct = newDims[j]
            while oldProduct != newProduct {
                if oldProduct < newProduct {
                    guard oldEnd < old.count else { return nil }
                    oldProduct *= old[oldEnd].0
                    oldEnd += 1
                } else {
                    guard newEnd < newDims.count else { return nil }
                    newProduct *= newDims[newEnd]
                    newEnd += 1
                }
            }
            for k in i..<(oldEnd - 1) where old[k].1 != old[k + 1].1 * old[k + 1].0 { return nil }
            var running = old[oldEnd - 1].1
            for k in stride(from: newEnd - 1, through: j, by: -1) {
                newStrides[k] = running
                running *= newDims[k]
            }
            (i, j) = (oldEnd, newEnd)
        }
        return StridedView(offset: offset, dims: newDims, strides: newStrides)
    }
}
