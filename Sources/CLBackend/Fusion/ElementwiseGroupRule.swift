import TensorGraph

/// Elementwise chains as one generated kernel each (``ElementwiseGroup``). A node joins its
/// consumer's group when it is elementwise, has exactly that one consumer (also elementwise) and
/// is not a plan output, or is an output with as many elements as the group's root (then it is
/// written as an extra output). Nodes other rules claimed (a bias add fused into its matmul) stay
/// out. The groups' launches are emitted by the lowering's horizontal fusion, several
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
        var memo: [NodeID: Bool] = [:]
        /// The element count of the group root `id` ends up in.
        func rootCount(_ id: NodeID) -> Int {
            fusesIntoConsumer(id) ? rootCount(context.readers(of: id)[0]) : context.node(id).shape.count
        }
        func fusesIntoConsumer(_ id: NodeID) -> Bool {
            if let known = memo[id] { return known }
            var result = false
            let users = context.readers(of: id)
            if isFusable(id), users.count == 1, isFusable(users[0]) {
                // An output joins its consumer's group only as a full-size extra output.
                result = !context.outputs.contains(id) || context.node(id).shape.count == rootCount(users[0])
            }
            memo[id] = result
            return result
        }
        var groups: [ElementwiseGroup] = []
        for node in context.liveNodes where isFusable(node.id) && !fusesIntoConsumer(node.id) {
            var members: [NodeID] = []
            var leaves: [NodeID] = []
            func visit(_ id: NodeID) {
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
