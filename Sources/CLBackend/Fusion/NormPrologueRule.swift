import TensorGraph

/// `matmul(layerNorm|rmsNorm(x), W, transposeB)` for at most `RowProductFamily.maxRows` rows, an
/// f32 W `[N, K]`, and the norm read by nothing else: the norm becomes the product's prologue
/// (`RowProductFamily`), so a decoding step's norm → linear needs no launch for the norm.
/// Training keeps the norm's output for the backward, so there the norm is read twice and runs
/// on its own.
///
/// The matmul rules with an epilogue take the prologue into their own fusion
/// (``norm(feeding:in:)``); this rule claims the matmuls none of them took.
struct NormPrologueRule: NodeFusionRule {
    func match(_ node: Node, in context: FusionContext) -> Fusion? {
        guard let norm = Self.norm(feeding: node.id, in: context) else { return nil }
        return MatmulFusion(matmul: node.id, norm: norm).fusion(root: node.id, in: context)
    }

    /// The norm node `matmul` can compute as its prologue, if any.
    static func norm(feeding matmul: NodeID, in context: FusionContext) -> NodeID? {
        let node = context.node(matmul)
        guard node.op.isLinearProduct else { return nil }
        let a = context.node(node.inputs[0]), w = context.node(node.inputs[1])
        guard a.op.isNorm, a.shape.rank == 2, w.shape.rank == 2, w.dtype == .f32, a.shape[0] <= RowProductFamily.maxRows,
              context.isOnlyRead(a.id) else { return nil }
        return a.id
    }
}
