import CLRuntime
import TensorGraph

/// Lowering of `norm(x)·Wᵀ` for a few rows of x as one launch (`RowProductFamily`): the norm
/// becomes the product's prologue (``NormPrologueRule``), so a decoding step's norm → linear
/// (+ bias, GELU or residual) needs no launch for the norm.
extension PlanLowering {
    /// `result` (the last node of the fused pattern) as `norm`'s rows times the matmul `node`'s
    /// Wᵀ, with `bias`, `activation` and `aux` applied as in ``MatmulFamily``.
    func lowerNormalizedProduct(_ node: Node, norm: Node, bias: NodeID?, activation: MatmulActivation, aux: NodeID?,
                                producing result: Node) {
        let x = value(of: norm.inputs[0]), gain = value(of: norm.inputs[1])
        let shift: ValueID?, rowNorm: RowProductFamily.Norm
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
            try self.rowProduct.encode(x: buffers.floats(x), weight: buffers.floats(weight), y: buffers.floats(output),
                                       m: m, n: n, k: k, norm: rowNorm, gain: buffers.floats(gain),
                                       shift: shift.map { try buffers.floats($0) }, bias: biasValue.map { try buffers.floats($0) },
                                       activation: activation, aux: auxValue.map { try buffers.floats($0) })
        })
    }
}
