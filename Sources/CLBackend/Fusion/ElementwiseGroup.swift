import TensorGraph

/// A fusion group: a tree of elementwise nodes computed by one generated kernel. The root is
/// materialised; every other member has exactly one consumer, inside the group. Members that
/// are also plan outputs (or assignment values) are written too, as extra outputs of the same
/// kernel: an optimizer's new moments, computed on the way to the new weights, cost no launch.
struct ElementwiseGroup {
    let root: NodeID
    /// Members in topological order (root last).
    let members: [NodeID]
    /// Nodes read from memory: inputs of members that are not themselves members.
    let leaves: [NodeID]
    /// Members other than the root that are written out (same element count as the root).
    var extraOutputs: [NodeID] = []
}

enum ElementwiseFusion {
    static func isElementwise(_ op: Op) -> Bool {
        switch op {
        case .unary, .binary, .powScalar, .compare, .select: return true
        default: return false
        }
    }

    /// A constant with one element is passed to the kernel as a scalar argument, not a buffer.
    static func isScalarConstant(_ node: Node) -> Bool {
        if case .constant(let values) = node.op, values.count == 1 { return true }
        return false
    }

    /// Groups the live elementwise nodes. A node joins its consumer's group when it is
    /// elementwise, has exactly that one consumer (also elementwise) and is not a plan output.
    /// `claimed` nodes are elementwise ops another lowering absorbs (a bias add fused into its matmul).
    static func groups(graph: Graph, live: Set<NodeID>, outputs: Set<NodeID>,
                       claimed: Set<NodeID> = []) -> [NodeID: ElementwiseGroup] {
        func isFusable(_ id: NodeID) -> Bool { isElementwise(graph.node(id).op) && !claimed.contains(id) }
        var consumers: [NodeID: [NodeID]] = [:]
        for node in graph.nodes where live.contains(node.id) {
            for input in node.inputs { consumers[input, default: []].append(node.id) }
        }
        var memo: [NodeID: Bool] = [:]
        /// The element count of the group root `id` ends up in.
        func rootCount(_ id: NodeID) -> Int {
            fusesIntoConsumer(id) ? rootCount(consumers[id]![0]) : graph.node(id).shape.count
        }
        func fusesIntoConsumer(_ id: NodeID) -> Bool {
            if let known = memo[id] { return known }
            var result = false
            if isFusable(id), let users = consumers[id], users.count == 1, isFusable(users[0]) {
                // An output joins its consumer's group only as a full-size extra output.
                result = !outputs.contains(id) || graph.node(id).shape.count == rootCount(users[0])
            }
            memo[id] = result
            return result
        }
        var groups: [NodeID: ElementwiseGroup] = [:]
        for node in graph.nodes where live.contains(node.id) && isFusable(node.id) && !fusesIntoConsumer(node.id) {
            var members: [NodeID] = []
            var leaves: [NodeID] = []
            func visit(_ id: NodeID) {
                let member = graph.node(id)
                for input in member.inputs {
                    if fusesIntoConsumer(input) {
                        visit(input)
                    } else if !leaves.contains(input) {
                        leaves.append(input)
                    }
                }
                members.append(id)
            }
            visit(node.id)
            groups[node.id] = ElementwiseGroup(root: node.id, members: members, leaves: leaves,
                                               extraOutputs: members.filter { $0 != node.id && outputs.contains($0) })
        }
        return groups
    }
}
