import TensorGraph

/// A pattern over the graph that several nodes can be lowered together by: a bias add inside its
/// matmul, an elementwise chain in one generated kernel, a loss with its gradient.
///
/// A rule only matches; ``FusionPass`` applies the rules in priority order and keeps each
/// ``Fusion`` whose nodes no earlier fusion claimed. Adding a fusion is adding a rule to
/// ``FusionPass/rules(for:)``.
protocol FusionRule {
    /// The fusions this rule finds. `context` holds the live graph, its readers, and what the rules
    /// before this one claimed (a rule may consult it, as the elementwise grouping does).
    func fusions(in context: FusionContext) -> [Fusion]
}

/// A ``FusionRule`` that matches at one node at a time, in graph order.
protocol NodeFusionRule: FusionRule {
    /// The fusion whose pattern ends at `node`, or nil.
    func match(_ node: Node, in context: FusionContext) -> Fusion?
}

extension NodeFusionRule {
    func fusions(in context: FusionContext) -> [Fusion] {
        context.liveNodes.compactMap { match($0, in: context) }
    }
}

/// Nodes one lowering computes together, as a rule claims them.
struct Fusion {
    /// The node whose place in graph order the lowering takes (every node the fusion reads comes
    /// before it) and whose value it computes.
    let root: NodeID
    /// The other nodes the lowering computes or reads in place: none of them is lowered on its own.
    let absorbed: [NodeID]
    /// Nodes whose values the lowering reads: pending elementwise launches that compute one of
    /// them are emitted first.
    let reads: [NodeID]
    /// Emits the lowered ops and gives the root (and any absorbed node others read) its value.
    let lower: (PlanLowering) throws -> Void

    /// Every node the fusion claims.
    var nodes: [NodeID] { [root] + absorbed }
}
