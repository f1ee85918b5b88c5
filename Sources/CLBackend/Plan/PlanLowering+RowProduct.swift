import CLRuntime
import TensorGraph

/// Lowering of `norm(x)·Wᵀ` for a few rows of x as one launch (`RowProductFamily`): the norm
/// becomes the product's prologue, so a decoding step's norm → linear (+ bias, GELU or residual)
/// needs no launch of its own.
extension PlanLowering {
    /// `matmul(layerNorm|rmsNorm(x), W, transposeB)` with at most `RowProductFamily.maxRows` rows,
    /// an f32 W `[N, K]`, and the norm read by nothing else (training keeps the norm's output for
    /// the backward, so there it runs separately). Returns matmul → norm.
    func normPrologues(live: Set<NodeID>, outputs: Set<NodeID>, readers: [NodeID: Int]) -> [NodeID: NodeID] {
        var result: [NodeID: NodeID] = [:]
        for node in graph.nodes where live.contains(node.id) {
            guard case .matmul(false, true) = node.op else { continue }
            let a = graph.node(node.inputs[0]), w = graph.node(node.inputs[1])
            guard a.shape.rank == 2, w.shape.rank == 2, w.dtype == .f32, a.shape[0] <= RowProductFamily.maxRows,
                  readers[a.id] == 1, !outputs.contains(a.id) else { continue }
            switch a.op {
            case .layerNorm, .rmsNorm: result[node.id] = a.id
            default: continue
            }
        }
        return result
    }

    func lowerNormalizedProduct(_ node: Node, norm: Node, bias: NodeID?, activation: MatmulActivation, aux: NodeID?,
                                producing result: Node) throws {
        try flushPendingGroups(ifReading: norm.inputs)
        let x = value(of: norm.inputs[0]), gain = value(of: norm.inputs[1])
        let shift: Int?, rowNorm: RowProductFamily.Norm
        switch norm.op {
        case .layerNorm(let eps): (shift, rowNorm) = (value(of: norm.inputs[2]), .layerNorm(eps: eps))
        case .rmsNorm(let eps): (shift, rowNorm) = (nil, .rmsNorm(eps: eps))
        default: preconditionFailure("not a norm")
        }
        let weight = value(of: node.inputs[1])
        let biasValue = bias.map { value(of: $0) }, auxValue = aux.map { value(of: $0) }
        let (m, k) = (norm.shape[0], norm.shape[1]), n = node.shape[1]
        let output = newIntermediate(count: node.shape.count)
        valueOfNode[result.id] = output
        let label = describe(norm) + " → " + describe(node) + (bias == nil ? "" : " + bias") + (activation == .none ? "" : " → \(activation)")
        let reads = [x, gain, shift, weight, biasValue, auxValue].compactMap { $0 }
        ops.append(LoweredOp(label: label, inputs: reads, output: output) { [unowned self] buffers in
            try self.rowProduct.encode(x: buffers[x]!.floats, weight: buffers[weight]!.floats, y: buffers[output]!.floats,
                                       m: m, n: n, k: k, norm: rowNorm, gain: buffers[gain]!.floats,
                                       shift: shift.map { buffers[$0]!.floats }, bias: biasValue.map { buffers[$0]!.floats },
                                       activation: activation, aux: auxValue.map { buffers[$0]!.floats })
        })
    }
}
