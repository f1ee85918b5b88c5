import CLRuntime
import TensorGraph

extension PlanLowering {
    /// The ``Op/layerNormGrad(eps:operand:)`` nodes of one layer norm (as ``LayerNormBackwardRule``
    /// groups them), lowered together: one op writing each node's value (dx, dgain, dbias) in two
    /// launches. With `addingTo`, dx is not written: `sum`'s value is `addend + dx`.
    func lowerLayerNormBackward(_ group: [NodeID], addingTo residual: (sum: NodeID, addend: NodeID)? = nil) throws {
        let node = graph.node(group[0])
        guard case .layerNormGrad(let eps, _) = node.op else { preconditionFailure("not a layerNormGrad") }
        var values: [LayerNormOperand: ValueID] = [:]
        for sibling in group.map(graph.node) {
            guard case .layerNormGrad(_, let operand) = sibling.op else { preconditionFailure("not a layerNormGrad") }
            let value = values[operand] ?? newIntermediate(count: sibling.shape.count)
            values[operand] = value
            valueOfNode[sibling.id] = value
        }
        if let residual, let dx = values[.input] { valueOfNode[residual.sum] = dx }
        let inputs = node.inputs.map { value(of: $0) } + (residual.map { [value(of: $0.addend)] } ?? [])
        let x = graph.node(node.inputs[0]).shape
        let cols = x[-1], rows = x.count / max(cols, 1)
        let outputs = LayerNormOperand.allCases.compactMap { values[$0] }
        let label = describe(node) + " (" + LayerNormOperand.allCases.filter { values[$0] != nil }
            .map { "d" + $0.rawValue }.joined(separator: ", ") + ")" + (residual == nil ? "" : " + residual")
        let (dxValue, dgainValue, dbiasValue) = (values[.input], values[.gain], values[.bias])
        ops.append(LoweredOp(label: label, inputs: inputs, output: outputs[0],
                             extraOutputs: Array(outputs.dropFirst())) { [unowned self] buffers in
            try self.layerNormBackward.encode(
                x: buffers.floats(inputs[0]), gain: buffers.floats(inputs[1]), dy: buffers.floats(inputs[2]),
                dx: dxValue.map { try buffers.floats($0) }, dgain: dgainValue.map { try buffers.floats($0) },
                dbias: dbiasValue.map { try buffers.floats($0) }, addend: residual == nil ? nil : try buffers.floats(inputs[3]),
                rows: rows, cols: cols, eps: eps, label: label)
        })
    }
}
