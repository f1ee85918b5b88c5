import TensorGraph

/// `embedding(A, i) + embedding(B, j)`, each gather read only by the add (through at most a
/// reshape), the second broadcast over the leading rows of the first: a transformer's token and
/// position embeddings, one launch instead of two gathers and an add (decoding runs it per token).
struct EmbeddingSumRule: NodeFusionRule {
    func match(_ node: Node, in context: FusionContext) -> Fusion? {
        guard node.op.isAdd, node.inputs.count == 2, node.dtype == .f32, node.shape.rank >= 1 else { return nil }
        for (first, second) in [(node.inputs[0], node.inputs[1]), (node.inputs[1], node.inputs[0])] {
            guard let a = Self.gather(first, in: context), let b = Self.gather(second, in: context), a.embedding != b.embedding,
                  context.node(first).shape == node.shape else { continue }
            let columns = node.shape[-1], outShape = node.shape, secondShape = context.node(second).shape
            guard secondShape.rank <= outShape.rank, Array(outShape.dims.suffix(secondShape.rank)) == secondShape.dims,
                  context.node(a.embedding).shape[-1] == columns, context.node(b.embedding).shape[-1] == columns else { continue }
            let gathers = (a: a.embedding, b: b.embedding)
            return Fusion(root: node.id, absorbed: a.absorbed + b.absorbed,
                          reads: context.node(a.embedding).inputs + context.node(b.embedding).inputs) { lowering in
                try lowering.lowerEmbeddingSum(node, a: gathers.a, b: gathers.b)
            }
        }
        return nil
    }

    /// The embedding node behind `id` (itself, or the input of a reshape of it) and the nodes the
    /// fusion absorbs, when each is read only once.
    static func gather(_ id: NodeID, in context: FusionContext) -> (embedding: NodeID, absorbed: [NodeID])? {
        guard context.isOnlyRead(id) else { return nil }
        let node = context.node(id)
        if node.op == .embedding { return (id, [id]) }
        guard node.op.isReshape, context.isOnlyRead(node.inputs[0]), context.node(node.inputs[0]).op == .embedding else { return nil }
        return (node.inputs[0], [id, node.inputs[0]])
    }
}

extension PlanLowering {
    /// One launch gathering from both tables and adding (``EmbeddingSumRule``).
    func lowerEmbeddingSum(_ node: Node, a: NodeID, b: NodeID) throws {
        let first = graph.node(a), second = graph.node(b)
        let tableA = value(of: first.inputs[0]), indicesA = value(of: first.inputs[1])
        let tableB = value(of: second.inputs[0]), indicesB = value(of: second.inputs[1])
        let vocabA = graph.node(first.inputs[0]).shape[0], vocabB = graph.node(second.inputs[0]).shape[0]
        let dim = node.shape[-1], count = node.shape.count / max(dim, 1), countB = second.shape.count / max(dim, 1)
        let output = newIntermediate(count: node.shape.count)
        valueOfNode[node.id] = output
        let flagA = try newErrorFlag(op: "embedding", indices: indicesA, bound: vocabA)
        let flagB = try newErrorFlag(op: "embedding", indices: indicesB, bound: vocabB)
        ops.append(LoweredOp(label: describe(node) + " of two embeddings", inputs: [tableA, indicesA, tableB, indicesB],
                             output: output) { [unowned self] buffers in
            try self.embedding.encodeSum(tableA: buffers.floats(tableA), indicesA: buffers.ints(indicesA), vocabA: vocabA, flagA: flagA,
                                         tableB: buffers.floats(tableB), indicesB: buffers.ints(indicesB), vocabB: vocabB, flagB: flagB,
                                         countB: countB, output: buffers.floats(output), count: count, dim: dim)
        })
    }
}
