import Foundation

/// The reference backend: interprets a graph node by node in plain Swift.

/// A backend that interprets graphs node by node in plain Swift, written for obvious
/// correctness rather than speed: f32 storage, Double accumulation for sums, dot products,
/// softmax and norms. It is the oracle every other backend is checked against.
public final class ReferenceBackend: Backend {
    /// `"reference"`.
    public let name = "reference"

    /// Creates the backend.
    public init() {}

    /// Compiles the part of `graph` that `outputs` depend on. `options` other than `trace` are
    /// accepted and ignored (attention is always evaluated directly; there are no kernels or guards).
    public func compile(_ graph: Graph, outputs: [Tensor], assignments: [Assignment], options: CompileOptions) throws -> any Plan {
        try ReferencePlan(graph: graph, outputs: outputs, assignments: assignments, options: options)
    }
}

/// The plan made by ``ReferenceBackend``.
///
/// Safe to use from several threads: runs and variable access take turns on the plan's lock
/// (see ``Plan``); distinct plans share nothing.
public final class ReferencePlan: Plan, @unchecked Sendable {
    private let nodes: [Node]
    private let schedule: [Int]               // indices of needed nodes, topological
    private let outputIDs: [NodeID]
    private let assignments: [(variable: String, value: NodeID)]
    private let lastUse: [Int: Int]           // node index -> schedule position of its last consumer
    private let inputNodes: [String: Node]    // every input of the graph
    private let variableNodes: [String: Node] // every variable of the graph
    private var variableValues: [String: TensorData] = [:]
    /// Serialises runs and variable access (runs read and update `variableValues`).
    private let lock = NSLock()
    private let trace: Bool

    /// Bytes of intermediate (non-leaf) results alive at once, at the worst point of a run,
    /// freeing each as soon as its last consumer has run (outputs are kept to the end).
    public let peakMemoryBytes: Int

    init(graph: Graph, outputs: [Tensor], assignments: [Assignment], options: CompileOptions) throws {
        for (i, t) in outputs.enumerated() where t.graph !== graph { throw PlanError.foreignOutput(index: i) }
        try Assignment.validate(assignments, in: graph)
        nodes = graph.nodes
        outputIDs = outputs.map(\.id)
        self.assignments = assignments.map { ($0.variableName, $0.value.id) }
        trace = options.trace

        var needed = Set<Int>()
        var stack = outputIDs.map(\.index) + assignments.map(\.value.id.index)
        while let n = stack.popLast() {
            if needed.insert(n).inserted { stack.append(contentsOf: nodes[n].inputs.map(\.index)) }
        }
        schedule = needed.sorted()

        var last: [Int: Int] = [:]
        for (pos, n) in schedule.enumerated() {
            for i in nodes[n].inputs { last[i.index] = pos }
        }
        lastUse = last

        var ins: [String: Node] = [:], vars: [String: Node] = [:]
        for node in nodes {
            switch node.op {
            case .input(let name): ins[name] = node
            case .variable(let name): vars[name] = node
            default: break
            }
        }
        inputNodes = ins
        variableNodes = vars

        // Liveness simulation for the peak of intermediate buffers.
        let outputSet = Set(outputIDs.map(\.index) + self.assignments.map(\.value.index))
        var live = 0, peak = 0
        for (pos, n) in schedule.enumerated() {
            let node = nodes[n]
            if !Self.isLeaf(node.op) { live += node.shape.count * node.dtype.byteSize }
            peak = Swift.max(peak, live)
            for i in Set(node.inputs.map(\.index)) where lastUse[i] == pos && !outputSet.contains(i) && !Self.isLeaf(nodes[i].op) {
                live -= nodes[i].shape.count * nodes[i].dtype.byteSize
            }
        }
        peakMemoryBytes = peak
    }

    private static func isLeaf(_ op: Op) -> Bool {
        switch op {
        case .input, .variable, .constant: return true
        default: return false
        }
    }

    public func setVariable(_ name: String, _ value: TensorData) throws {
        lock.lock()
        defer { lock.unlock() }
        guard let node = variableNodes[name] else { throw PlanError.unknownVariable(name: name) }
        guard value.dtype == node.dtype else { throw PlanError.variableDType(name: name, expected: node.dtype, got: value.dtype) }
        guard value.shape == node.shape else { throw PlanError.variableShape(name: name, expected: node.shape, got: value.shape) }
        variableValues[name] = value
    }

    public func variable(_ name: String) throws -> TensorData {
        lock.lock()
        defer { lock.unlock() }
        guard variableNodes[name] != nil else { throw PlanError.unknownVariable(name: name) }
        guard let v = variableValues[name] else { throw PlanError.variableNotSet(name: name) }
        return v
    }

    /// The outputs of the last run, for ``start(_:chaining:)``.
    private var lastOutputs: [TensorData]?

    public func start(_ feeds: [String: TensorData], chaining: [String: Int]) throws -> any PlanRun {
        lock.lock()
        defer { lock.unlock() }
        try RunChaining.validate(chaining, inputs: inputNodes.mapValues { ($0.shape, $0.dtype) },
                                 outputs: outputIDs.map { (nodes[$0.index].shape, nodes[$0.index].dtype) }, feeds: feeds,
                                 hasPreviousRun: lastOutputs != nil)
        var all = feeds
        for (name, index) in chaining { all[name] = TensorData(shape: inputNodes[name]!.shape, storage: lastOutputs![index].storage) }
        return CompletedPlanRun(try runHoldingLock(all))
    }

    public func run(_ feeds: [String: TensorData]) throws -> [TensorData] {
        lock.lock()
        defer { lock.unlock() }
        return try runHoldingLock(feeds)
    }

    private func runHoldingLock(_ feeds: [String: TensorData]) throws -> [TensorData] {
        for name in feeds.keys.sorted() where inputNodes[name] == nil { throw PlanError.unknownInput(name: name) }
        var values = [TensorData?](repeating: nil, count: nodes.count)
        let keep = Set(outputIDs.map(\.index) + assignments.map(\.value.index))
        let clock = ContinuousClock()
        for (pos, n) in schedule.enumerated() {
            let node = nodes[n]
            let start = clock.now
            switch node.op {
            case .input(let name):
                guard let v = feeds[name] else { throw PlanError.missingInput(name: name) }
                guard v.dtype == node.dtype else { throw PlanError.inputDType(name: name, expected: node.dtype, got: v.dtype) }
                guard v.shape == node.shape else { throw PlanError.inputShape(name: name, expected: node.shape, got: v.shape) }
                values[n] = v
            case .variable(let name):
                guard let v = variableValues[name] else { throw PlanError.variableNotSet(name: name) }
                values[n] = v
            default:
                let args = node.inputs.map { values[$0.index]! }
                values[n] = try ReferenceOps.evaluate(node, args)
            }
            if trace {
                print("[reference] \(node.id) \(node.op.name) \(node.shape) \(clock.now - start)")
            }
            for i in node.inputs where lastUse[i.index] == pos && !keep.contains(i.index) { values[i.index] = nil }
        }
        for (variable, value) in assignments { variableValues[variable] = values[value.index]! }
        let outputs = outputIDs.map { values[$0.index]! }
        lastOutputs = outputs
        return outputs
    }
}
