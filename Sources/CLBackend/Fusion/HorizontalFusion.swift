import TensorGraph

/// Elementwise groups whose values exist but whose launch is not emitted yet. Independent groups
/// wait here until something reads one of their values (or lowering ends), then run as one
/// horizontally fused launch (PyTorch's foreach/fused optimizers, XLA's horizontal fusion).
/// Deferring is safe because values are written once: an op that reads no pending value may run
/// before them.
struct HorizontalFusion {
    private(set) var groups: [ElementwiseGroup] = []
    /// Values the pending groups write (roots and extra outputs).
    private var values: Set<ValueID> = []

    var isEmpty: Bool { groups.isEmpty }

    /// Queues `group`, whose root and extra outputs have the values `writes`.
    mutating func append(_ group: ElementwiseGroup, writes: [ValueID]) {
        groups.append(group)
        values.formUnion(writes)
    }

    /// Whether a pending group writes `value`.
    func writes(_ value: ValueID) -> Bool { values.contains(value) }

    /// Empties the queue into launches whose kernel arguments fit `budget` bytes each, keeping the
    /// groups' order.
    mutating func takeLaunches(budget: Int, graph: Graph) -> [[ElementwiseGroup]] {
        var launches: [[ElementwiseGroup]] = []
        var launch: [ElementwiseGroup] = [], bytes = 0
        for group in groups {
            let groupBytes = ElementwiseKernelSource.parameterBytes(of: group, graph: graph)
            if !launch.isEmpty && bytes + groupBytes > budget {
                launches.append(launch)
                (launch, bytes) = ([], 0)
            }
            launch.append(group)
            bytes += groupBytes
        }
        if !launch.isEmpty { launches.append(launch) }
        groups = []
        values = []
        return launches
    }
}
