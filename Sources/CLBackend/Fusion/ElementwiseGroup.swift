import TensorGraph

/// A fusion group: elementwise nodes computed by one generated kernel. The root is materialised;
/// every other member's consumers are all inside the group. Members that
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
