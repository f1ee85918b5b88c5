import TensorGraph

/// A float or quantized matmul as one launch, with what the matmul rules fold into it: a norm
/// computing its A on the fly (prologue), a bias row, and an activation or addend applied as C is
/// stored (epilogue).
struct MatmulFusion {
    let matmul: NodeID
    /// A `layerNorm`/`rmsNorm` node computed inside the launch as A (``NormPrologueRule``).
    var norm: NodeID? = nil
    var bias: NodeID? = nil
    /// The `matmul + bias` node, when there is a bias.
    var biasAdd: NodeID? = nil
    var activation: MatmulActivation = .none
    /// `tanhBackward`'s y (a tanh's output), `geluBackward`'s x (a gelu's input) or `residual`'s
    /// addend, read by the kernel.
    var aux: NodeID? = nil
    /// Elementwise nodes the epilogue computes besides the root.
    var epilogueNodes: [NodeID] = []
    /// For `geluStoringInput`: the pre-activation node (the matmul or its bias add) whose value
    /// the kernel writes to `aux` for the readers besides the gelu.
    var storedInput: NodeID? = nil

    /// The claim of this fusion, whose value is `root`'s (the last node of the pattern).
    func fusion(root: NodeID, in context: FusionContext) -> Fusion {
        let nodes = [matmul] + [biasAdd, norm].compactMap { $0 } + epilogueNodes
        var reads = context.node(matmul).inputs + [bias, aux].compactMap { $0 }
        if let norm { reads += context.node(norm).inputs }
        return Fusion(root: root, absorbed: nodes.filter { $0 != root }, reads: reads) { lowering in
            try lowering.lowerMatmul(self, producing: lowering.graph.node(root))
        }
    }

    /// `product` as what a matmul epilogue can wrap: a matmul, or a ``MatmulBiasRule`` bias add,
    /// with the norm prologue its matmul may take. Nil for anything else and for quantized
    /// weights (their kernels have no epilogue).
    static func epilogueOperand(_ product: NodeID, in context: FusionContext) -> MatmulFusion? {
        var fusion: MatmulFusion
        if let biasAdd = MatmulBiasRule.biasAdd(context.node(product), in: context) {
            fusion = MatmulFusion(matmul: biasAdd.matmul, bias: biasAdd.bias, biasAdd: product)
        } else if context.node(product).op.isMatmul {
            fusion = MatmulFusion(matmul: product)
        } else {
            return nil
        }
        guard !hasQuantizedWeight(fusion.matmul, in: context) else { return nil }
        fusion.norm = NormPrologueRule.norm(feeding: fusion.matmul, in: context)
        return fusion
    }

    /// Whether the matmul's B is a quantized (or half-precision) weight.
    static func hasQuantizedWeight(_ matmul: NodeID, in context: FusionContext) -> Bool {
        context.node(context.node(matmul).inputs[1]).dtype.isQuantized
    }
}
