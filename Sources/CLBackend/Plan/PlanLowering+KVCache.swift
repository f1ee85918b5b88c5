import CLRuntime
import TensorGraph

/// Lowering of the KV-cache ops: `cacheWrite` and `cachedAttention`, and the decode-step fusion
/// of both caches' appends with the attention that reads them into one launch.
extension PlanLowering {
    /// A `cachedAttention` of one query per sequence whose keys and values are `cacheWrite`s at its
    /// own positions: one launch appends both rows and attends.
    struct DecodeAttention {
        let keysWrite: NodeID, valuesWrite: NodeID
        /// Column slices of a `[B, W]` projection read in place, and their reshapes.
        let absorbed: [NodeID]
        let views: [NodeID: RowsView]
    }

    /// A `[B, H, 1, D]` operand that is `reshape(slice(x [B, W], axis 1, start..<start + H·D))`.
    struct RowsView {
        let source: NodeID
        let offset: Int, sequenceStride: Int, headStride: Int
    }

    func decodeAttentions(live: Set<NodeID>, readers: [NodeID: Int]) -> [NodeID: DecodeAttention] {
        var result: [NodeID: DecodeAttention] = [:]
        for node in graph.nodes where live.contains(node.id) {
            guard case .cachedAttention = node.op, node.shape[2] == 1 else { continue }
            let keys = graph.node(node.inputs[1]), values = graph.node(node.inputs[2]), positions = node.inputs[3]
            guard case .cacheWrite = keys.op, case .cacheWrite = values.op, keys.id != values.id,
                  keys.inputs[2] == positions, values.inputs[2] == positions else { continue }
            var absorbed: [NodeID] = [], views: [NodeID: RowsView] = [:]
            for operand in [node.inputs[0], keys.inputs[1], values.inputs[1]] {
                guard let view = rowsView(operand, readers: readers) else { continue }
                views[operand] = view
                absorbed += [operand, graph.node(operand).inputs[0]]
            }
            result[node.id] = DecodeAttention(keysWrite: keys.id, valuesWrite: values.id, absorbed: absorbed, views: views)
        }
        return result
    }

    /// The in-place reading of a `[B, H, 1, D]` reshape of a column slice, when nothing else reads either.
    private func rowsView(_ id: NodeID, readers: [NodeID: Int]) -> RowsView? {
        let reshape = graph.node(id)
        guard case .reshape = reshape.op, readers[id] == 1, reshape.shape.rank == 4, reshape.shape[2] == 1 else { return nil }
        let slice = graph.node(reshape.inputs[0])
        guard case let .slice(axis, start, _) = slice.op, axis == 1, readers[slice.id] == 1, slice.dtype == .f32 else { return nil }
        let source = graph.node(slice.inputs[0]).shape
        guard source.rank == 2, source[0] == reshape.shape[0] else { return nil }
        return RowsView(source: slice.inputs[0], offset: start, sequenceStride: source[1], headStride: reshape.shape[3])
    }

    /// Nodes the launch reads (for flushing pending elementwise groups first).
    func reads(of fused: DecodeAttention, attention node: Node) -> [NodeID] {
        let keys = graph.node(fused.keysWrite), values = graph.node(fused.valuesWrite)
        return [node.inputs[0], keys.inputs[0], keys.inputs[1], values.inputs[0], values.inputs[1], node.inputs[3]]
            .map { fused.views[$0]?.source ?? $0 }
    }

    func lowerDecodeAttention(_ node: Node, _ fused: DecodeAttention) throws {
        guard case .cachedAttention(let scale) = node.op else { preconditionFailure("not a cachedAttention") }
        let keysNode = graph.node(fused.keysWrite), valuesNode = graph.node(fused.valuesWrite)
        let (keyCache, valueCache) = (value(of: keysNode.inputs[0]), value(of: valuesNode.inputs[0]))
        let positions = value(of: node.inputs[3])
        func operand(_ id: NodeID) -> (value: Int, rows: (CLBuffer<Float>) -> KVCacheFamily.Rows) {
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
        var op = LoweredOp(label: describe(node) + " appending its keys and values",
                           inputs: [q.value, newKeys.value, newValues.value, keyCache, valueCache, positions], output: output) {
            [unowned self] buffers in
            var steps = try self.copyUnlessShared(buffers, from: keyCache, to: keysOut, label: "cacheWrite copy")
            steps += try self.copyUnlessShared(buffers, from: valueCache, to: valuesOut, label: "cacheWrite copy")
            return steps + (try self.kvCache.encodeAttention(
                q: q.rows(buffers[q.value]!.floats), keys: buffers[keysOut]!.floats, values: buffers[valuesOut]!.floats,
                newRows: (newKeys.rows(buffers[newKeys.value]!.floats), newValues.rows(buffers[newValues.value]!.floats)),
                positions: buffers[positions]!.ints, out: buffers[output]!.floats, sequences: dims.sequences, heads: dims.heads,
                queries: 1, length: dims.length, dim: dims.dim, valueDim: dims.valueDim, scale: scale, errorFlag: flag))
        }
        op.extraOutputs = [keysOut, valuesOut]
        op.sharableInputs = [keysOut: keyCache, valuesOut: valueCache]
        ops.append(op)
    }

    func lowerCacheWrite(_ node: Node, inputs: [Int], output: Int, label: String) throws {
        let cache = node.shape, rows = graph.node(node.inputs[1]).shape
        let flag = try newErrorFlag(op: "cacheWrite", indices: inputs[2], bound: cache[2])
        var op = LoweredOp(label: label, inputs: inputs, output: output) { [unowned self] buffers in
            try self.copyUnlessShared(buffers, from: inputs[0], to: output, label: "cacheWrite copy")
                + self.kvCache.encodeWriteRows(cache: buffers[output]!.floats,
                                               rows: .contiguous(buffers[inputs[1]]!.floats, heads: rows[1], queries: 1, dim: rows[3]),
                                               positions: buffers[inputs[2]]!.ints, sequences: cache[0], heads: cache[1],
                                               length: cache[2], dim: cache[3], errorFlag: flag)
        }
        op.sharableInputs = [output: inputs[0]]
        ops.append(op)
    }

    func lowerCachedAttention(_ node: Node, inputs: [Int], output: Int, scale: Float, label: String) throws {
        let q = graph.node(node.inputs[0]).shape, keys = graph.node(node.inputs[1]).shape, values = graph.node(node.inputs[2]).shape
        let flag = try newErrorFlag(op: "cachedAttention", indices: inputs[3], bound: keys[2])
        ops.append(LoweredOp(label: label, inputs: inputs, output: output) { [unowned self] buffers in
            try self.kvCache.encodeAttention(
                q: .contiguous(buffers[inputs[0]]!.floats, heads: q[1], queries: q[2], dim: q[3]),
                keys: buffers[inputs[1]]!.floats, values: buffers[inputs[2]]!.floats, newRows: nil,
                positions: buffers[inputs[3]]!.ints, out: buffers[output]!.floats, sequences: q[0], heads: q[1], queries: q[2],
                length: keys[2], dim: q[3], valueDim: values[3], scale: scale, errorFlag: flag)
        })
    }

    /// A copy of a whole value, skipped when the plan gave both the same buffer (an in-place update).
    private func copyUnlessShared(_ buffers: [Int: DeviceBuffer], from source: Int, to target: Int, label: String) throws -> [LaunchStep] {
        let (from, to) = (buffers[source]!.floats, buffers[target]!.floats)
        if from === to { return [] }
        return try layout.encodeCopy(input: from, output: to, isInt: false, dims: [from.count], inputStrides: [1],
                                     outputStrides: [1], label: label)
    }
}
