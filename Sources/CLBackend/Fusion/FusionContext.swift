import TensorGraph

/// What fusion rules match against: the nodes a plan computes, who reads each of them, and the
/// nodes already claimed by higher-priority rules.
final class FusionContext {
    let graph: Graph
    /// Nodes the plan's outputs depend on, in graph order.
    let liveNodes: [Node]
    let live: Set<NodeID>
    /// Plan outputs (and values kept alive like them): their values must be materialised.
    let outputs: Set<NodeID>
    /// Per node, the live nodes that read it, in graph order; a node reading it twice appears twice.
    private let readerLists: [NodeID: [NodeID]]
    /// Nodes the kept fusions claim.
    private(set) var claimedNodes = Set<NodeID>()
    /// Fusions kept so far, in the order they were claimed.
    private(set) var fusions: [Fusion] = []

    init(graph: Graph, outputs: Set<NodeID>) {
        self.graph = graph
        self.outputs = outputs
        var live = Set<NodeID>()
        var stack = Array(outputs)
        while let id = stack.popLast() {
            if live.insert(id).inserted { stack.append(contentsOf: graph.node(id).inputs) }
        }
        self.live = live
        self.liveNodes = graph.nodes.filter { live.contains($0.id) }
        var readerLists: [NodeID: [NodeID]] = [:]
        for node in liveNodes {
            for input in node.inputs { readerLists[input, default: []].append(node.id) }
        }
        self.readerLists = readerLists
    }

    func node(_ id: NodeID) -> Node { graph.node(id) }

    /// The live nodes reading `id`, in graph order (a node reading it twice appears twice).
    func readers(of id: NodeID) -> [NodeID] { readerLists[id] ?? [] }

    /// How many times live nodes read `id`.
    func readerCount(of id: NodeID) -> Int { readerLists[id]?.count ?? 0 }

    /// Whether `id` is read exactly once and is not an output: a value a fusion may keep out of
    /// memory (compute inside the launch that reads it).
    func isOnlyRead(_ id: NodeID) -> Bool { readerCount(of: id) == 1 && !outputs.contains(id) }

    /// Whether a kept fusion claims `id`.
    func isClaimed(_ id: NodeID) -> Bool { claimedNodes.contains(id) }

    /// Keeps `fusion` unless one of its nodes is claimed already; returns whether it was kept.
    @discardableResult
    func claim(_ fusion: Fusion) -> Bool {
        guard !fusion.nodes.contains(where: isClaimed) else { return false }
        claimedNodes.formUnion(fusion.nodes)
        fusions.append(fusion)
        return true
    }
}
