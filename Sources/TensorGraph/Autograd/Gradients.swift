/// Reverse-mode automatic differentiation: extends a graph with the backward of a scalar loss.

/// d(loss)/d(x) for each x in `wrt`, appended to loss's graph as ordinary nodes (so a backend compiles
/// forward + backward (+ optimizer) into one plan). `loss` must have one element. A tensor in `wrt` the loss
/// does not depend on gets a zero tensor of its shape.
///
/// The sweep visits, in reverse topological order, only the nodes that `loss` depends on *and* that
/// depend on some tensor in `wrt`; everything else (i32 indices and targets, constants, inputs not in
/// `wrt`, comparisons) gets no gradient work. Several contributions to one node are summed with `+`
/// (slices of one tensor that do not overlap are joined into one concatenation first, see
/// ``GradientSum``); a single contribution is used as is. The seed is a constant 1 of loss's shape.
///
/// ```swift
/// let loss = try crossEntropy(logits: linear(h, weight: w, bias: b), targets: y)
/// let grads = try gradients(of: loss, wrt: [w, b])   // [dloss/dw, dloss/db]
/// ```
/// - Throws: ``GraphError`` (op `"gradients"`) when `loss` has more than one element, a tensor is from
///   another graph or is i32, or a path from `wrt` to `loss` runs through an op without a gradient rule
///   (``Op/embeddingGrad(vocabularySize:)``, ``Op/crossEntropyGrad(ignoreIndex:)``).
public func gradients(of loss: Tensor, wrt: [Tensor]) throws -> [Tensor] {
    let graph = loss.graph
    let lossNode = loss.node
    guard lossNode.shape.count == 1, lossNode.dtype == .f32 else {
        throw GraphError(op: "gradients", shapes: [lossNode.shape],
                         expected: "an f32 loss with exactly one element",
                         message: "cannot differentiate \(lossNode.op.name) \(lossNode.shape) (\(lossNode.dtype.rawValue))")
    }
    for (i, x) in wrt.enumerated() {
        guard x.graph === graph else {
            throw GraphError(op: "gradients", shapes: [x.shape], expected: "every wrt tensor in the loss's graph",
                             message: "wrt[\(i)] belongs to a different graph")
        }
        guard x.dtype == .f32 else {
            throw GraphError(op: "gradients", shapes: [x.shape], expected: "f32 tensors (i32 indices and targets have no gradient)",
                             message: "wrt[\(i)] \(x.node.op.name) \(x.shape) is \(x.dtype.rawValue)")
        }
    }

    let last = loss.id.index
    let nodes = Array(graph.nodes[0...last])   // the backward appends after these; never revisit them
    let wrtSet = Set(wrt.map(\.id.index))

    // Forward: which nodes a wrt tensor can influence through differentiable edges.
    var influenced = [Bool](repeating: false, count: last + 1)
    for node in nodes {
        let i = node.id.index
        if wrtSet.contains(i) { influenced[i] = true; continue }
        guard node.dtype == .f32, propagates(node.op) else { continue }
        influenced[i] = node.inputs.contains { influenced[$0.index] }
    }
    // Backward: which of those the loss depends on.
    var needed = [Bool](repeating: false, count: last + 1)
    needed[last] = influenced[last]
    for i in stride(from: last, through: 0, by: -1) where needed[i] {
        for input in nodes[i].inputs where influenced[input.index] { needed[input.index] = true }
    }

    var sums: [Int: GradientSum] = [:]
    if needed[last] { sums[last, default: GradientSum()].add(graph.constant(1, shape: lossNode.shape)) }
    var wrtGradients: [Int: Tensor] = [:]
    for i in stride(from: last, through: 0, by: -1) where needed[i] {
        let node = nodes[i]
        guard let g = try sums.removeValue(forKey: i)?.total(shape: node.shape) else { continue }
        if wrtSet.contains(i) { wrtGradients[i] = g }
        guard !node.inputs.isEmpty else { continue }
        let needs = node.inputs.map { needed[$0.index] }
        guard needs.contains(true) else { continue }
        if case .slice(let axis, let start, let end) = node.op {
            sums[node.inputs[0].index, default: GradientSum()].addSlice(axis: axis, start: start, end: end, gradient: g)
            continue
        }
        let contributions = try vectorJacobianProduct(node, inputs: node.inputs.map(graph.tensor),
                                                      output: graph.tensor(node.id), gradient: g, needs: needs)
        for (k, input) in node.inputs.enumerated() where needs[k] {
            guard let c = contributions[k] else { continue }
            guard c.shape == nodes[input.index].shape else {
                throw GraphError(op: "gradients", shapes: [c.shape, nodes[input.index].shape],
                                 expected: "a gradient of the operand's shape",
                                 message: "internal: \(node.op.name) rule produced \(c.shape) for operand \(k)")
            }
            sums[input.index, default: GradientSum()].add(c)
        }
    }
    return wrt.map { wrtGradients[$0.id.index] ?? graph.constant(0, shape: $0.shape) }
}

/// Whether gradients flow through `op` at all (comparisons are piecewise constant).
private func propagates(_ op: Op) -> Bool {
    switch op {
    case .input, .variable, .constant, .compare: return false
    default: return true
    }
}
