import TensorGraph

/// Elementwise chains as one generated kernel each (``ElementwiseGroup``). A node joins its
/// consumers' group when it is elementwise, every consumer is elementwise and in that one group
/// (a value read twice inside a kernel, like the GELU backward's x² and tanh, is computed once
/// there), and it is not a plan output, or is an output with as many elements as the group's root
/// (then it is written as an extra output). Nodes other rules claimed (a bias add fused into its
/// matmul) stay out. The groups' launches are emitted by the lowering's horizontal fusion, several
/// independent groups to a launch.
struct ElementwiseGroupRule: FusionRule {
    func fusions(in context: FusionContext) -> [Fusion] {
        Self.groups(in: context).map { group in
            Fusion(root: group.root, absorbed: Array(group.members.dropLast()), reads: group.leaves) { lowering in
                lowering.deferElementwise(group)
            }
        }
    }

    /// The groups of the live elementwise nodes no fusion claims, in the graph order of their roots.
    static func groups(in context: FusionContext) -> [ElementwiseGroup] {
        let claimed = context.claimedNodes
        func isFusable(_ id: NodeID) -> Bool { context.node(id).op.isElementwise && !claimed.contains(id) }
        var rootMemo: [NodeID: NodeID] = [:]
        /// The root of the group `id` ends up in (itself when it roots one).
        func root(of id: NodeID) -> NodeID {
            if let known = rootMemo[id] { return known }
            let result = consumersRoot(id) ?? id
            rootMemo[id] = result
            return result
        }
        /// The root `id` joins: every reader is fusable and in that one group, and `id` is no output
        /// (or an output with the root's element count, written as an extra output).
        func consumersRoot(_ id: NodeID) -> NodeID? {
            let users = context.readers(of: id)
            guard isFusable(id), !users.isEmpty, users.allSatisfy(isFusable) else { return nil }
            let roots = Set(users.map(root(of:)))
            guard roots.count == 1, let shared = roots.first else { return nil }
            return !context.outputs.contains(id) || context.node(id).shape.count == context.node(shared).shape.count ? shared : nil
        }
        func fusesIntoConsumer(_ id: NodeID) -> Bool { root(of: id) != id }
        var groups: [ElementwiseGroup] = []
        for node in context.liveNodes where isFusable(node.id) && !fusesIntoConsumer(node.id) {
            var members: [NodeID] = [], visited = Set<NodeID>()
            var leaves: [NodeID] = []
            func visit(_ id: NodeID) {
                guard visited.insert(id).inserted else { return }
                for input in context.node(id).inputs {
                    if fusesIntoConsumer(input) {
                        visit(input)
                    } else if !leaves.contains(input) {
                        leaves.append(input)
                    }
                }
                members.append(id)
            }
            visit(node.id)
            groups.append(ElementwiseGroup(root: node.id, members: members, leaves: leaves,
                                           extraOutputs: members.filter { $0 != node.id && context.outputs.contains($0) }))
        }
        return groups
    }
}
