import CLRuntime
import TensorGraph

extension PlanLowering {
    /// One matmul launch with what `fusion` folds into it; the result is the value of `result` (the
    /// last node of the fused pattern). Quantized weights take `QuantMatmulFamily`/`HalfMatmulFamily`,
    /// a norm prologue `RowProductFamily`, everything else `MatmulFamily`.
    func lowerMatmul(_ fusion: MatmulFusion, producing result: Node) throws {
        let node = graph.node(fusion.matmul)
        guard case let .matmul(transposeA, transposeB) = node.op else { preconditionFailure("a matmul fusion without a matmul") }
        let (bias, activation, aux) = (fusion.bias, fusion.activation, fusion.aux)
        if graph.node(node.inputs[1]).dtype.isQuantized { return lowerQuantizedMatmul(node, bias: bias, producing: result) }
        if let norm = fusion.norm {
            return lowerNormalizedProduct(node, norm: graph.node(norm), bias: bias, activation: activation, aux: aux, producing: result)
        }
        let inputs = node.inputs.map { value(of: $0) }
        let biasValue = bias.map { value(of: $0) }
        // geluStoringInput's aux is the pre-activation's own value, which this launch writes.
        let storedInput = fusion.storedInput.map { stored -> ValueID in
            let id = newIntermediate(count: graph.node(stored).shape.count)
            valueOfNode[stored] = id
            return id
        }
        let auxValue = storedInput ?? aux.map { value(of: $0) }
        let a = graph.node(node.inputs[0]).shape, b = graph.node(node.inputs[1]).shape
        let shape = node.shape
        let m = shape[-2], n = shape[-1]
        let k = transposeA ? a[-2] : a[-1]
        let batch = shape.count / max(m * n, 1)
        let matmulShape = MatmulShape(batch: batch, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB,
                                      broadcastB: b.rank == 2 && batch > 1)
        let output = newIntermediate(count: shape.count)
        valueOfNode[result.id] = output
        let label = describe(node) + (bias == nil ? "" : " + bias") + (activation == .none ? "" : " → \(activation)")
        let reads = inputs + [biasValue, storedInput == nil ? auxValue : nil].compactMap { $0 }
        ops.append(LoweredOp(label: label, inputs: reads, output: output,
                             extraOutputs: storedInput.map { [$0] } ?? []) { [unowned self] buffers in
            try self.matmul.encode(a: buffers.floats(inputs[0]), b: buffers.floats(inputs[1]), c: buffers.floats(output),
                                   shape: matmulShape, bias: biasValue.map { try buffers.floats($0) }, activation: activation,
                                   aux: auxValue.map { try buffers.floats($0) })
        })
    }
}
