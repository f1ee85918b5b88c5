import CLRuntime
import TensorGraph

/// Lowering of elementwise groups (``ElementwiseGroupRule``): each group's values are assigned when
/// the walk reaches its root, its launch waits in ``HorizontalFusion`` until something reads a
/// pending value, and the waiting groups then run as generated kernels, as many to a launch as
/// the device's argument limit allows.
extension PlanLowering {
    /// Whether independent elementwise groups share launches (``OpenCLOptions/horizontalFusion``).
    private var horizontalFusionEnabled: Bool { environment.options.horizontalFusion }

    /// The argument bytes one fused launch may take: ``OpenCLOptions/launchParameterBytes``, else the
    /// device's `CL_DEVICE_MAX_PARAMETER_SIZE` (1024, the full-profile minimum, when unknown).
    private var launchParameterBytes: Int {
        environment.options.launchParameterBytes ?? environment.context.device.info.maxParameterBytes ?? 1024
    }

    /// Gives the group's root and extra outputs their values now (reshapes and later groups refer
    /// to them), and queues its launch.
    func deferElementwise(_ group: ElementwiseGroup) {
        let count = graph.node(group.root).shape.count
        var writes: [ValueID] = []
        for member in [group.root] + group.extraOutputs {
            let value = newIntermediate(count: count)
            valueOfNode[member] = value
            writes.append(value)
        }
        pendingElementwise.append(group, writes: writes)
        if !horizontalFusionEnabled { flushPendingGroups() }
    }

    /// Emits the pending groups when one of `nodes` is computed by them (all of them when `nodes` is nil).
    func flushPendingGroups(ifReading nodes: [NodeID]? = nil) {
        guard !pendingElementwise.isEmpty else { return }
        if let nodes, !nodes.contains(where: { valueOfNode[$0].map(pendingElementwise.writes) ?? false }) { return }
        let budget = launchParameterBytes - ElementwiseKernelSource.sharedParameterBytes
        for launch in pendingElementwise.takeLaunches(budget: budget, graph: graph) { lowerElementwise(launch) }
    }

    /// One launch computing `groups` (already given values by ``deferElementwise(_:)``).
    private func lowerElementwise(_ groups: [ElementwiseGroup]) {
        let kernelSource = ElementwiseKernelSource(groups: groups, graph: graph)
        /// Per segment: element count, root value, (extra output node → value), (leaf node → value).
        struct Segment {
            let count: Int
            let output: ValueID
            let arguments: [ElementwiseKernelSource.Argument]
            let outputValues: [NodeID: ValueID]
            let leafValues: [NodeID: ValueID]
            let reads: [ValueID]
            let writes: [ValueID]
        }
        let segments = zip(groups, kernelSource.segments).map { group, arguments -> Segment in
            var leafValues: [NodeID: ValueID] = [:]
            var reads: [ValueID] = []
            for case .leaf(let node, _) in arguments {
                let value = value(of: node)
                if leafValues[node] == nil { reads.append(value) }
                leafValues[node] = value
            }
            let outputValues = Dictionary(uniqueKeysWithValues: group.extraOutputs.map { ($0, valueOfNode[$0]!) })
            let output = valueOfNode[group.root]!
            return Segment(count: graph.node(group.root).shape.count, output: output, arguments: arguments,
                           outputValues: outputValues, leafValues: leafValues, reads: reads,
                           writes: [output] + group.extraOutputs.map { outputValues[$0]! })
        }
        func groupLabel(_ group: ElementwiseGroup) -> String {
            "\(graph.node(group.root).shape)" + (group.extraOutputs.isEmpty ? "" : " (+\(group.extraOutputs.count) outputs)")
        }
        let label: String
        if groups.count == 1, let group = groups.first {
            label = "fused \(group.members.count) ops " + group.members.map { graph.node($0).op.label }.joined(separator: "·")
                + " -> " + groupLabel(group)
        } else {
            label = "fused \(groups.count) groups (\(groups.reduce(0) { $0 + $1.members.count }) ops) -> "
                + groups.map(groupLabel).joined(separator: ", ")
        }
        let total = segments.reduce(0) { $0 + $1.count }
        let flops = Double(zip(groups, segments).reduce(0) { $0 + $1.1.count * $1.0.members.count })
        let bytes = Double(segments.reduce(0) { $0 + $1.count * ($1.arguments.count + 1) }) * 4
        let environment = self.environment
        let allWrites = segments.flatMap(\.writes)
        var op = LoweredOp(label: label, inputs: Array(Set(segments.flatMap(\.reads))).sorted(), output: allWrites[0],
                           extraOutputs: Array(allWrites.dropFirst()), isElementwise: true) { buffers in
            let variant = environment.variant(cpu: ElementwiseVariant.chunks, gpu: .perElement)
            let kernel = try environment.context.program(family: "fused-elementwise", source: kernelSource.source)
                .kernel(variant == .chunks ? "fused_vec16" : "fused")
            // CPU form: about 64 work-items over the whole launch (every core busy, few work-groups:
            // pocl pays per group), each a run of whole float16 chunks of one segment.
            let perItem = variant == .chunks ? max(16, (total / 64 + 15) / 16 * 16) : 1
            var arguments: [any KernelArgumentConvertible] = []
            var items = 0
            for segment in segments {
                arguments += [try buffers.floats(segment.output), Int32(segment.count)] as [any KernelArgumentConvertible]
                items += (segment.count + perItem - 1) / perItem
                for argument in segment.arguments {
                    switch argument {
                    case .scalar(let value):
                        arguments.append(value)
                    case .output(let node):
                        arguments.append(try buffers.floats(segment.outputValues[node]!))
                    case .leaf(let node, let access):
                        arguments.append(try buffers.floats(segment.leafValues[node]!))
                        switch access {
                        case .same, .scalar: break
                        case .period(let period): arguments.append(Int32(period))
                        case .divisor(let divisor): arguments.append(Int32(divisor))
                        case .general(let meta):
                            arguments.append(try CLBuffer<Int32>(context: environment.context, values: meta))
                        }
                    }
                }
            }
            arguments.append(Int32(perItem))
            try kernel.setArguments(arguments)
            let local = variant == .chunks ? 1 : 64
            return [LaunchStep(kernel: kernel, global: [(items + local - 1) / local * local], local: [local],
                               variant: variant == .chunks ? "\(variant.name) (generated, fused, cpu float16)"
                                   : "\(variant.name) (generated, fused)", label: label, flops: flops, bytes: bytes)]
        }
        if groups.count > 1 { op.segments = segments.map { (reads: $0.reads, writes: $0.writes) } }
        ops.append(op)
    }
}
