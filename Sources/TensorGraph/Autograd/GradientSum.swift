/// The contributions to one node's gradient, summed when the sweep reaches the node.
///
/// The gradient of a slice is the upstream gradient padded with zeros to the operand's shape. When
/// several slices of one tensor feed the loss (the query, key and value columns of a fused projection),
/// padding each and adding them writes and reads the zero blocks once per slice; slices along one axis
/// whose ranges do not overlap are instead placed side by side in one concatenation, with zeros only
/// where no slice reads.
struct GradientSum {
    private var dense: [Tensor] = []
    private var slices: [SliceContribution] = []

    private struct SliceContribution {
        let axis: Int, start: Int, end: Int
        let gradient: Tensor
    }

    /// Adds a gradient of the node's shape.
    mutating func add(_ gradient: Tensor) { dense.append(gradient) }

    /// Adds the gradient of `slice(axis, start..<end)` of the node: `gradient` covers that range only.
    mutating func addSlice(axis: Int, start: Int, end: Int, gradient: Tensor) {
        slices.append(SliceContribution(axis: axis, start: start, end: end, gradient: gradient))
    }

    /// The sum, for a node of `shape`.
    func total(shape: Shape) throws -> Tensor? {
        var terms = dense
        for group in disjointGroups() {
            terms.append(try concatenation(of: group, shape: shape))
        }
        guard var sum = terms.first else { return nil }
        for term in terms.dropFirst() { sum = try sum + term }
        return sum
    }

    /// Slices grouped so that each group is along one axis with ranges that do not overlap, in order of start.
    private func disjointGroups() -> [[SliceContribution]] {
        var groups: [[SliceContribution]] = []
        for slice in slices.sorted(by: { ($0.axis, $0.start) < ($1.axis, $1.start) }) {
            if let k = groups.firstIndex(where: { $0.last!.axis == slice.axis && $0.last!.end <= slice.start }) {
                groups[k].append(slice)
            } else {
                groups.append([slice])
            }
        }
        return groups
    }

    private func concatenation(of group: [SliceContribution], shape: Shape) throws -> Tensor {
        let axis = group[0].axis, graph = group[0].gradient.graph
        func zeros(_ n: Int) -> Tensor {
            var dims = shape.dims
            dims[axis] = n
            return graph.constant(0, shape: Shape(dims))
        }
        var parts: [Tensor] = []
        var covered = 0
        for slice in group {
            if slice.start > covered { parts.append(zeros(slice.start - covered)) }
            parts.append(slice.gradient)
            covered = slice.end
        }
        if covered < shape.dims[axis] { parts.append(zeros(shape.dims[axis] - covered)) }
        return parts.count == 1 ? parts[0] : try concat(parts, axis: axis)
    }
}
