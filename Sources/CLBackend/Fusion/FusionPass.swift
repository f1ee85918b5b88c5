import TensorGraph

/// Applies fusion rules to a graph in priority order: each rule's fusions are kept unless a node
/// of theirs is claimed by an earlier one. The result tells the lowering which node roots which
/// fusion and which nodes need no lowering of their own.
struct FusionPass {
    let rules: [any FusionRule]

    /// The rules of one plan, highest priority first. The order decides overlaps, and so the
    /// launches: a matmul's activation, tanh-backward and residual epilogues take its bias add
    /// with them before the bias add alone is considered; the norm prologue joins whichever of
    /// those claims its matmul (except tanh-backward's) and otherwise stands alone; elementwise
    /// groups form last, from what no other rule computes.
    static func rules(for lowering: PlanLowering) -> [any FusionRule] {
        [
            MatmulActivationRule(),
            TanhBackwardEpilogueRule(),
            GeluBackwardEpilogueRule(),
            ResidualEpilogueRule(),
            MatmulBiasRule(),
            NormPrologueRule(),
            DecodeAttentionRule(),
            CrossEntropyWithGradientRule(enabled: CrossEntropyWithGradientRule.isEnabled(in: lowering.environment)),
            AttentionGradientConcatRule(backwardWritesInPlace: { [unowned lowering] causal, queries, keys in
                AttentionBackwardFamily.readsOperandsInPlace(lowering.attentionBackwardVariant(causal: causal, queries: queries, keys: keys))
            }),
            OperandGradientGroupRule.attention,
            AttentionOperandViewRule(
                forwardReadsInPlace: lowering.options.attention != .unfused
                    && AttentionFamily.readsOperandsInPlace(lowering.attention.chosenVariant),
                backwardReadsInPlace: { [unowned lowering] causal, queries, keys in
                    AttentionBackwardFamily.readsOperandsInPlace(
                        lowering.attentionBackwardVariant(causal: causal, queries: queries, keys: keys))
                }),
            LayerNormBackwardRule(),
            ConcatOfViewsRule(),
            LayoutChainRule(),
            EmbeddingSumRule(),
            ElementwiseGroupRule(),
        ]
    }

    /// Runs every rule over `context`, leaving the kept fusions in it.
    func run(in context: FusionContext) -> FusionPlan {
        for rule in rules {
            for fusion in rule.fusions(in: context) { context.claim(fusion) }
        }
        return FusionPlan(fusions: context.fusions)
    }
}

/// The fusions a ``FusionPass`` kept, indexed for the lowering's walk over the graph.
struct FusionPlan {
    /// Root → the fusion lowered at it.
    let byRoot: [NodeID: Fusion]
    /// Nodes computed inside a fusion rooted elsewhere.
    let absorbed: Set<NodeID>

    init(fusions: [Fusion]) {
        byRoot = Dictionary(fusions.map { ($0.root, $0) }, uniquingKeysWith: { first, _ in first })
        absorbed = Set(fusions.flatMap(\.absorbed))
    }
}
