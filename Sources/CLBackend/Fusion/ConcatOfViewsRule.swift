import TensorGraph

/// A concatenation whose parts include chains of slices, permutes and reshapes read by nothing
/// else: each such part is copied from its chain's start through the composed view straight into
/// its place, one strided copy and no intermediate per part (the head merges of dq, dk and dv into
/// the gradient of a fused QKV projection).
struct ConcatOfViewsRule: NodeFusionRule {
    func match(_ node: Node, in context: FusionContext) -> Fusion? {
        guard case .concat = node.op else { return nil }
        var chains: [NodeID: LayoutChain] = [:]
        for (part, region) in ConcatOfViewsRule.regions(of: node, in: context.graph) {
            let chain = LayoutChain.reading(part, in: context, deferringFinalReshape: true)
            // A deferred reshape needs the part's region split to the chain's dims.
            if !chain.nodes.isEmpty, region.reshaped(chain.view.dims) != nil { chains[part] = chain }
        }
        guard !chains.isEmpty else { return nil }
        let reads = node.inputs.map { chains[$0]?.base ?? $0 }
        return Fusion(root: node.id, absorbed: chains.values.flatMap(\.nodes), reads: reads) { lowering in
            lowering.lowerConcat(node, reading: chains)
        }
    }

    /// Each part's place in the concatenation's (contiguous) output: offset, the part's dims and the
    /// output's strides.
    static func regions(of node: Node, in graph: Graph) -> [(part: NodeID, region: StridedView)] {
        guard case .concat(let axis) = node.op else { return [] }
        let strides = LayoutFamily.strides(node.shape.dims)
        var offset = 0
        return node.inputs.map { part in
            let dims = graph.node(part).shape.dims
            defer { offset += dims[axis] }
            return (part, StridedView(offset: offset * strides[axis], dims: dims, strides: strides))
        }
    }
}
