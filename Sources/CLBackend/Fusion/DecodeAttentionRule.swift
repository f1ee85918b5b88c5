import CLRuntime
import TensorGraph

/// A decoding step's attention: `cachedAttention` of one query per sequence whose keys and values
/// are `cacheWrite`s at its own positions. One launch appends both rows to the caches and attends;
/// q and the new rows that are `[B, H, 1, D]` reshapes of column slices of a `[B, W]` projection
/// (the QKV product) are read where they lie, so the slices and reshapes need no launch either.
struct DecodeAttentionRule: NodeFusionRule {
    func match(_ node: Node, in context: FusionContext) -> Fusion? {
        guard case .cachedAttention(let scale) = node.op, node.shape[2] == 1 else { return nil }
        let keys = context.node(node.inputs[1]), values = context.node(node.inputs[2]), positions = node.inputs[3]
        guard keys.op.isCacheWrite, values.op.isCacheWrite, keys.id != values.id,
              keys.inputs[2] == positions, values.inputs[2] == positions else { return nil }
        var views: [NodeID: DecodeAttention.RowsView] = [:], viewNodes: [NodeID] = []
        for operand in [node.inputs[0], keys.inputs[1], values.inputs[1]] {
            guard let view = Self.rowsView(operand, in: context) else { continue }
            views[operand] = view
            viewNodes += [operand, context.node(operand).inputs[0]]
        }
        let fused = DecodeAttention(scale: scale, keysWrite: keys.id, valuesWrite: values.id, views: views)
        let reads = [node.inputs[0], keys.inputs[0], keys.inputs[1], values.inputs[0], values.inputs[1], positions]
            .map { views[$0]?.source ?? $0 }
        return Fusion(root: node.id, absorbed: [keys.id, values.id] + viewNodes, reads: reads) { lowering in
            try lowering.lowerDecodeAttention(lowering.graph.node(node.id), fused)
        }
    }

    /// The in-place reading of a `[B, H, 1, D]` reshape of a column slice, when nothing else reads either.
    static func rowsView(_ id: NodeID, in context: FusionContext) -> DecodeAttention.RowsView? {
        let reshape = context.node(id)
        guard reshape.op.isReshape, context.readerCount(of: id) == 1, reshape.shape.rank == 4, reshape.shape[2] == 1
        else { return nil }
        let slice = context.node(reshape.inputs[0])
        guard case let .slice(axis, start, _) = slice.op, axis == 1, context.readerCount(of: slice.id) == 1,
              slice.dtype == .f32 else { return nil }
        let source = context.node(slice.inputs[0]).shape
        guard source.rank == 2, source[0] == reshape.shape[0] else { return nil }
        return DecodeAttention.RowsView(source: slice.inputs[0], offset: start, sequenceStride: source[1],
                                        headStride: reshape.shape[3])
    }
}

/// What ``DecodeAttentionRule`` matched: the attention's scale, its two cache appends, and the
/// operands it reads in place.
struct DecodeAttention {
    /// A `[B, H, 1, D]` operand that is `reshape(slice(x [B, W], axis 1, start..<start + H·D))`.
    struct RowsView {
        let source: NodeID
        let offset: Int, sequenceStride: Int, headStride: Int
    }

    let scale: Float
    let keysWrite: NodeID, valuesWrite: NodeID
    /// Operand (the reshape node) → where its rows lie in the projection.
    let views: [NodeID: RowsView]
}

extension PlanLowering {
    /// One launch appending the new key and value rows to the caches (after copying each cache
    /// into the output value, unless the plan gave both one buffer) and attending over them.
    func lowerDecodeAttention(_ node: Node, _ fused: DecodeAttention) throws {
        let keysNode = graph.node(fused.keysWrite), valuesNode = graph.node(fused.valuesWrite)
        let (keyCache, valueCache) = (value(of: keysNode.inputs[0]), value(of: valuesNode.inputs[0]))
        let positions = value(of: node.inputs[3])
        func operand(_ id: NodeID) -> (value: ValueID, rows: (CLBuffer<Float>) -> KVCacheFamily.Rows) {
            let shape = graph.node(id).shape
            if let view = fused.views[id] {
                return (value(of: view.source), { KVCacheFamily.Rows(buffer: $0, offset: view.offset, sequenceStride: view.sequenceStride,
                                                                     headStride: view.headStride, queryStride: view.headStride) })
            }
            return (value(of: id), { .contiguous($0, heads: shape[1], queries: shape[2], dim: shape[3]) })
        }
        let q = operand(node.inputs[0]), newKeys = operand(keysNode.inputs[1]), newValues = operand(valuesNode.inputs[1])
        let output = newIntermediate(count: node.shape.count)
        let keysOut = newIntermediate(count: keysNode.shape.count), valuesOut = newIntermediate(count: valuesNode.shape.count)
        (valueOfNode[node.id], valueOfNode[keysNode.id], valueOfNode[valuesNode.id]) = (output, keysOut, valuesOut)
        let cache = keysNode.shape
        let flag = try newErrorFlag(op: "cachedAttention", indices: positions, bound: cache[2])
        let dims = (sequences: cache[0], heads: cache[1], length: cache[2], dim: cache[3], valueDim: valuesNode.shape[3])
        let scale = fused.scale
        var op = LoweredOp(label: describe(node) + " appending its keys and values",
                           inputs: [q.value, newKeys.value, newValues.value, keyCache, valueCache, positions], output: output) {
            [unowned self] buffers in
            var steps = try self.copyUnlessShared(buffers, from: keyCache, to: keysOut, label: "cacheWrite copy")
            steps += try self.copyUnlessShared(buffers, from: valueCache, to: valuesOut, label: "cacheWrite copy")
            return steps + (try self.kvCache.encodeAttention(
                q: q.rows(try buffers.floats(q.value)), keys: try buffers.floats(keysOut), values: try buffers.floats(valuesOut),
                newRows: (newKeys.rows(try buffers.floats(newKeys.value)), newValues.rows(try buffers.floats(newValues.value))),
                positions: try buffers.ints(positions), out: try buffers.floats(output), sequences: dims.sequences,
                heads: dims.heads, queries: 1, length: dims.length, dim: dims.dim, valueDim: dims.valueDim, scale: scale,
                errorFlag: flag))
        }
        op.extraOutputs = [keysOut, valuesOut]
        op.sharableInputs = [keysOut: keyCache, valuesOut: valueCache]
        ops.append(op)
    }
}
