import CLRuntime
import TensorGraph

/// Lowering of single ops, each through its kernel family: the nodes no fusion rule claimed.
extension PlanLowering {
    /// Lowers `node` on its own, through its op's kernel family.
    /// - Throws: ``PlanError/unsupported(op:detail:)`` for an op with no lowering here.
    func lowerOp(_ node: Node) throws {
        if node.op.isMatmul { return try lowerMatmul(MatmulFusion(matmul: node.id), producing: node) }
        if node.op.isAttentionGrad { return try lowerAttentionBackward([node.id]) }
        if node.op.isLayerNormGrad { return try lowerLayerNormBackward([node.id]) }
        if case .concat = node.op { return lowerConcat(node, reading: [:]) }
        if case .attention = node.op { return try lowerAttention(node, operandViews: [:]) }
        if node.op.isLayoutView, !node.op.isReshape {
            let input = graph.node(node.inputs[0])
            let view = StridedView(contiguous: input.shape.dims).applying(node.op, producing: node.shape)!
            return lowerLayoutCopy(node, reading: LayoutChain(base: input.id, view: view, nodes: []))
        }
        let inputs = node.inputs.map { value(of: $0) }
        let inputShapes = node.inputs.map { graph.node($0).shape }
        let label = describe(node)
        let shape = node.shape
        func emit(_ output: ValueID, _ reads: [ValueID], _ encode: @escaping (BufferTable) throws -> [LaunchStep]) {
            ops.append(LoweredOp(label: label, inputs: reads, output: output, encode: encode))
        }
        let output = newIntermediate(count: shape.count, dtype: node.dtype)
        valueOfNode[node.id] = output

        switch node.op {
        case let .reduce(kind, axis, _):
            let dims = inputShapes[0].dims
            let outer = dims[..<axis].reduce(1, *), length = dims[axis], inner = dims[(axis + 1)...].reduce(1, *)
            let reduction: ReductionKind = kind == .sum ? .sum : kind == .mean ? .mean : .max
            emit(output, inputs) { [unowned self] buffers in
                try self.reduce.encode(input: buffers.floats(inputs[0]), output: buffers.floats(output), outer: outer,
                                       length: length, inner: inner, kind: reduction)
            }

        case .softmax(let axis), .logSoftmax(let axis):
            lowerSoftmax(input: inputs[0], output: output, shape: inputShapes[0], axis: axis, log: node.op.isLogSoftmax,
                         label: label)

        case .layerNorm(let eps):
            let cols = shape[-1], rows = shape.count / max(cols, 1)
            emit(output, inputs) { [unowned self] buffers in
                try self.norm.encodeLayerNorm(input: buffers.floats(inputs[0]), gain: buffers.floats(inputs[1]),
                                              bias: buffers.floats(inputs[2]), output: buffers.floats(output),
                                              rows: rows, cols: cols, eps: eps)
            }

        case .rmsNorm(let eps):
            let cols = shape[-1], rows = shape.count / max(cols, 1)
            emit(output, inputs) { [unowned self] buffers in
                try self.norm.encodeRMSNorm(input: buffers.floats(inputs[0]), gain: buffers.floats(inputs[1]),
                                            output: buffers.floats(output), rows: rows, cols: cols, eps: eps)
            }

        case .proportionsNorm(let eps, let compression):
            let cols = shape[-1], rows = shape.count / max(cols, 1)
            emit(output, inputs) { [unowned self] buffers in
                try self.norm.encodeProportionsNorm(input: buffers.floats(inputs[0]), gain: buffers.floats(inputs[1]),
                                                    shift: inputs.count > 2 ? buffers.floats(inputs[2]) : nil,
                                                    output: buffers.floats(output), rows: rows, cols: cols, eps: eps,
                                                    compression: compression)
            }

        case .embedding:
            let table = inputShapes[0], count = inputShapes[1].count
            let flag = try newErrorFlag(op: "embedding", indices: inputs[1], bound: table[0])
            emit(output, inputs) { [unowned self] buffers in
                try self.embedding.encode(table: buffers.floats(inputs[0]), indices: buffers.ints(inputs[1]),
                                          output: buffers.floats(output), count: count, vocab: table[0], dim: table[1],
                                          errorFlag: flag)
            }

        case .crossEntropy(let ignoreIndex):
            let logits = inputShapes[0]
            let flag = try newErrorFlag(op: "crossEntropy", indices: inputs[1], bound: logits[1])
            emit(output, inputs) { [unowned self] buffers in
                try self.crossEntropy.encode(logits: buffers.floats(inputs[0]), targets: buffers.ints(inputs[1]),
                                             loss: buffers.floats(output), rows: logits[0], classes: logits[1],
                                             ignoreIndex: ignoreIndex, errorFlag: flag)
            }

        case .embeddingGrad(let vocabularySize):
            let count = inputShapes[0].count, dim = shape[1]
            let flag = try newErrorFlag(op: "embeddingGrad", indices: inputs[0], bound: vocabularySize)
            emit(output, inputs) { [unowned self] buffers in
                try self.embedding.encodeGrad(indices: buffers.ints(inputs[0]), gradOutput: buffers.floats(inputs[1]),
                                              gradTable: buffers.floats(output), count: count, vocab: vocabularySize,
                                              dim: dim, errorFlag: flag)
            }

        case .argmax:
            let length = inputShapes[0][-1], rows = shape.count
            emit(output, inputs) { [unowned self] buffers in
                try self.reduce.encodeArgmax(input: buffers.floats(inputs[0]), output: buffers.ints(output), rows: rows, length: length)
            }

        case .dropoutMask(_, let keep, let salt):
            emit(output, inputs) { [unowned self] buffers in
                try self.dropout.encodeMask(seed: buffers.ints(inputs[0]), output: buffers.floats(output), count: shape.count,
                                            keep: keep, salt: salt)
            }

        case .crossEntropyGrad(let ignoreIndex):
            let logits = inputShapes[0]
            let flag = try newErrorFlag(op: "crossEntropyGrad", indices: inputs[1], bound: logits[1])
            emit(output, inputs) { [unowned self] buffers in
                try self.crossEntropy.encodeGrad(logits: buffers.floats(inputs[0]), targets: buffers.ints(inputs[1]),
                                                 upstream: buffers.floats(inputs[2]), grad: buffers.floats(output),
                                                 rows: logits[0], classes: logits[1], ignoreIndex: ignoreIndex, errorFlag: flag)
            }

        case .cacheWrite:
            try lowerCacheWrite(node, inputs: inputs, output: output, label: label)

        case .cachedAttention(let scale):
            try lowerCachedAttention(node, inputs: inputs, output: output, scale: scale, label: label)

        case .input, .variable, .constant, .reshape, .matmul, .attention, .attentionGrad, .layerNormGrad, .concat, .permute, .slice,
             .unary, .binary, .powScalar, .compare, .select:
            // Lowered by the walk itself, by a fusion (every live elementwise node is in a group),
            // or above: reaching here means the node came to the wrong lowering.
            throw PlanError.unsupported(op: node.op.label, detail: "the OpenCL backend lowers this op only as part of a fusion or an alias")
        }
    }

    /// A concatenation as one strided copy per part into its place. A part with a chain in `chains`
    /// (absorbed by ``ConcatOfViewsRule``) is copied from the chain's start through its view.
    func lowerConcat(_ node: Node, reading chains: [NodeID: LayoutChain]) {
        let output = newIntermediate(count: node.shape.count, dtype: node.dtype)
        valueOfNode[node.id] = output
        let copies = ConcatOfViewsRule.regions(of: node, in: graph).map { part, region in
            guard let chain = chains[part] else { return (value(of: part), StridedView(contiguous: region.dims), region) }
            return (value(of: chain.base), chain.view, region.reshaped(chain.view.dims)!)
        }
        emitCopies(of: node, copies, into: output)
    }

    /// A slice or permute read through `chain` (absorbed by ``LayoutChainRule``): one strided copy
    /// from the chain's start.
    func lowerLayoutCopy(_ node: Node, reading chain: LayoutChain) {
        let output = newIntermediate(count: node.shape.count, dtype: node.dtype)
        valueOfNode[node.id] = output
        emitCopies(of: node, [(value(of: chain.base), chain.view, StridedView(contiguous: node.shape.dims))], into: output)
    }

    /// One op copying each source view to its place in `output`.
    private func emitCopies(of node: Node, _ copies: [(value: ValueID, source: StridedView, destination: StridedView)],
                            into output: ValueID) {
        let isInt = node.dtype == .i32
        let label = describe(node)
        ops.append(LoweredOp(label: label, inputs: copies.map(\.value), output: output) { [unowned self] buffers in
            try copies.flatMap { copy in
                try self.layout.encodeCopy(input: buffers.memory(copy.value), output: buffers.memory(output), isInt: isInt,
                                           dims: copy.source.dims, inputStrides: copy.source.strides,
                                           outputStrides: copy.destination.strides, inputOffset: copy.source.offset,
                                           outputOffset: copy.destination.offset, label: label)
            }
        })
    }
}
