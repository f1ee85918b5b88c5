import CLRuntime
import TensorGraph

/// Lowering of the KV-cache ops on their own: `cacheWrite` and `cachedAttention`. A decoding step
/// whose attention reads its own appends is one launch instead (``DecodeAttentionRule``).
extension PlanLowering {
    func lowerCacheWrite(_ node: Node, inputs: [ValueID], output: ValueID, label: String) throws {
        let cache = node.shape, rows = graph.node(node.inputs[1]).shape
        let flag = try newErrorFlag(op: "cacheWrite", indices: inputs[2], bound: cache[2])
        var op = LoweredOp(label: label, inputs: inputs, output: output) { [unowned self] buffers in
            try self.copyUnlessShared(buffers, from: inputs[0], to: output, label: "cacheWrite copy")
                + self.kvCache.encodeWriteRows(cache: buffers.floats(output),
                                               rows: .contiguous(buffers.floats(inputs[1]), heads: rows[1], queries: 1, dim: rows[3]),
                                               positions: buffers.ints(inputs[2]), sequences: cache[0], heads: cache[1],
                                               length: cache[2], dim: cache[3], errorFlag: flag)
        }
        op.sharableInputs = [output: inputs[0]]
        ops.append(op)
    }

    func lowerCachedAttention(_ node: Node, inputs: [ValueID], output: ValueID, scale: Float, label: String) throws {
        let q = graph.node(node.inputs[0]).shape, keys = graph.node(node.inputs[1]).shape, values = graph.node(node.inputs[2]).shape
        let flag = try newErrorFlag(op: "cachedAttention", indices: inputs[3], bound: keys[2])
        ops.append(LoweredOp(label: label, inputs: inputs, output: output) { [unowned self] buffers in
            try self.kvCache.encodeAttention(
                q: .contiguous(buffers.floats(inputs[0]), heads: q[1], queries: q[2], dim: q[3]),
                keys: buffers.floats(inputs[1]), values: buffers.floats(inputs[2]), newRows: nil,
                positions: buffers.ints(inputs[3]), out: buffers.floats(output), sequences: q[0], heads: q[1], queries: q[2],
                length: keys[2], dim: q[3], valueDim: values[3], scale: scale, errorFlag: flag)
        })
    }

    /// A copy of a whole value, skipped when the plan gave both the same buffer (an in-place update).
    func copyUnlessShared(_ buffers: BufferTable, from source: ValueID, to target: ValueID, label: String) throws -> [LaunchStep] {
        let (from, to) = (try buffers.floats(source), try buffers.floats(target))
        if from === to { return [] }
        return try layout.encodeCopy(input: from, output: to, isInt: false, dims: [from.count], inputStrides: [1],
                                     outputStrides: [1], label: label)
    }
}
