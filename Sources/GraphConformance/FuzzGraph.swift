import TensorGraph

/// A random graph in replayable form: the nodes of a ``Graph`` (forward and, when generated,
/// backward), how each input is filled, and which nodes are outputs.
///
/// The fuzzer keeps graphs in this form rather than as a live ``Graph`` so that it can rebuild
/// them with prefixed input names (several graphs in one plan), rebuild them with nodes removed
/// or dimensions changed (shrinking a failure), and print them as readable lines.
public struct FuzzGraph: Sendable, CustomStringConvertible {
    /// One node: the op, its operands (positions in ``FuzzGraph/nodes``), the shape and dtype it
    /// had when generated, and for inputs how they are filled.
    public struct Node: Sendable {
        public var op: Op
        public var inputs: [Int]
        public var shape: Shape
        public var dtype: DType
        /// How an ``Op/input(name:)`` node is filled; nil for every other op.
        public var fill: InputFill?

        /// Creates a node.
        public init(op: Op, inputs: [Int], shape: Shape, dtype: DType, fill: InputFill? = nil) {
            self.op = op; self.inputs = inputs; self.shape = shape; self.dtype = dtype; self.fill = fill
        }
    }

    /// The seed the graph was generated from (printed with failures, replayed by `clbench fuzz`).
    public var seed: UInt64
    /// The ``FuzzConfiguration/dimensionVariant`` it was generated with.
    public var dimensionVariant = 0
    /// Nodes in topological order.
    public var nodes: [Node]
    /// Positions of the nodes compared against the reference, in order.
    public var outputs: [Int]
    /// State updates `variable ← value` (node positions) the plan applies at the end of the run;
    /// the variables' values after the run are compared too.
    public var assignments: [(variable: Int, value: Int)] = []

    /// Creates a graph description.
    public init(seed: UInt64, nodes: [Node], outputs: [Int], assignments: [(variable: Int, value: Int)] = []) {
        self.seed = seed; self.nodes = nodes; self.outputs = outputs; self.assignments = assignments
    }

    /// Snapshots `graph` (every node) with `fills` by input and variable name.
    public init(seed: UInt64, graph: Graph, outputs: [Tensor], assignments: [Assignment] = [], fills: [String: InputFill]) {
        self.seed = seed
        self.nodes = graph.nodes.map { node in
            var fill: InputFill?
            switch node.op {
            case .input(let name), .variable(let name): fill = fills[name] ?? .uniform(-2, 2)
            default: break
            }
            return Node(op: node.op, inputs: node.inputs.map(\.index), shape: node.shape, dtype: node.dtype, fill: fill)
        }
        self.outputs = outputs.map(\.id.index)
        self.assignments = assignments.map { ($0.variable.id.index, $0.value.id.index) }
    }

    /// The assignments' variable names (without a prefix), in order.
    public var assignedVariableNames: [String] {
        assignments.map { nodes[$0.variable].op.variableName ?? "" }
    }

    /// Nodes that compute something (not inputs or constants).
    public var opCount: Int {
        nodes.filter { node in
            switch node.op {
            case .input, .variable, .constant: return false
            default: return true
            }
        }.count
    }

    /// Adds the nodes to `graph`, inputs named `prefix + name`; returns a tensor per node (nil for
    /// nodes no output depends on, which are left out).
    /// - Throws: ``GraphError`` when a node no longer fits its operands (a shrinking candidate that
    ///   changed a dimension an op's parameters depend on).
    public func build(into graph: Graph, prefix: String = "") throws -> [Tensor?] {
        var tensors = [Tensor?](repeating: nil, count: nodes.count)
        for i in liveNodes().sorted() { try buildNode(i, into: graph, prefix: prefix, tensors: &tensors) }
        return tensors
    }

    /// Adds node `i` to `graph`; its operands must already be in `tensors`.
    func buildNode(_ i: Int, into graph: Graph, prefix: String, tensors: inout [Tensor?]) throws {
        let node = nodes[i]
        switch node.op {
        case .input(let name):
            tensors[i] = try graph.input(prefix + name, node.shape, dtype: node.dtype)
        case .variable(let name):
            tensors[i] = try graph.variable(prefix + name, node.shape, dtype: node.dtype)
        case .constant(let values):
            tensors[i] = values.count == 1 && node.shape.count != 1
                ? graph.constant(values[0], shape: node.shape)
                : try graph.constant(values, shape: node.shape)
        default:
            tensors[i] = try graph.apply(node.op, node.inputs.map { tensors[$0]! })
        }
    }

    /// Builds the graph alone; returns the graph, its output tensors and its assignments.
    public func build() throws -> (Graph, [Tensor], [Assignment]) {
        let graph = Graph()
        let tensors = try build(into: graph)
        return (graph, outputs.map { tensors[$0]! }, try assignments(tensors))
    }

    /// The assignments over built `tensors`.
    func assignments(_ tensors: [Tensor?]) throws -> [Assignment] {
        try assignments.map { try Assignment(tensors[$0.variable]!, tensors[$0.value]!) }
    }

    /// Random data for every live input, names prefixed with `prefix`. Each input draws from its
    /// own stream, seeded by `seed` and its name, so its data stays the same when the shrinker
    /// removes or adds other inputs.
    public func feeds(seed: UInt64, prefix: String = "") -> [String: TensorData] {
        leafData(seed: seed, prefix: prefix, variables: false)
    }

    /// Initial values of every live variable, drawn like ``feeds(seed:prefix:)``.
    public func variableValues(seed: UInt64, prefix: String = "") -> [String: TensorData] {
        leafData(seed: seed, prefix: prefix, variables: true)
    }

    private func leafData(seed: UInt64, prefix: String, variables: Bool) -> [String: TensorData] {
        var result: [String: TensorData] = [:]
        for i in liveNodes() {
            let name: String
            switch nodes[i].op {
            case .input(let n) where !variables: name = n
            case .variable(let n) where variables: name = n
            default: continue
            }
            guard let fill = nodes[i].fill else { continue }
            var rng = XorShiftRandom(seed: seed ^ Self.fnv1a(name))
            result[prefix + name] = fill.generate(nodes[i].shape, &rng)
        }
        return result
    }

    private static func fnv1a(_ text: String) -> UInt64 {
        text.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }

    /// Positions of the nodes the outputs depend on.
    public func liveNodes() -> Set<Int> {
        var live = Set<Int>()
        var stack = outputs + assignments.flatMap { [$0.variable, $0.value] }
        while let i = stack.popLast() {
            if live.insert(i).inserted { stack.append(contentsOf: nodes[i].inputs) }
        }
        return live
    }

    /// The longest path from a leaf to each node (leaves 0): nodes of equal depth from several
    /// graphs are interleaved when they share a plan, so horizontal fusion merges across graphs.
    public func depths() -> [Int] {
        var depth = [Int](repeating: 0, count: nodes.count)
        for (i, node) in nodes.enumerated() {
            depth[i] = node.inputs.map { depth[$0] + 1 }.max() ?? 0
        }
        return depth
    }

    /// The graph without nodes no output depends on, renumbered.
    public func pruned() -> FuzzGraph {
        let live = liveNodes()
        var newIndex: [Int: Int] = [:]
        var kept: [Node] = []
        for (i, node) in nodes.enumerated() where live.contains(i) {
            var copy = node
            copy.inputs = node.inputs.map { newIndex[$0]! }
            newIndex[i] = kept.count
            kept.append(copy)
        }
        var result = FuzzGraph(seed: seed, nodes: kept, outputs: outputs.map { newIndex[$0]! },
                               assignments: assignments.map { (newIndex[$0.variable]!, newIndex[$0.value]!) })
        result.dimensionVariant = dimensionVariant
        return result
    }

    /// One line per node: `%3 = matmul(%1, %2) transposeB: true  [7, 13], [5, 13] -> [7, 5]`,
    /// then the outputs.
    public var description: String {
        var lines: [String] = []
        for (i, node) in nodes.enumerated() {
            let operands = node.inputs.map { "%\($0)" }.joined(separator: ", ")
            let operandShapes = node.inputs.map { nodes[$0].shape.description }.joined(separator: ", ")
            let type = node.dtype == .f32 ? "" : " \(node.dtype.rawValue)"
            switch node.op {
            case .input(let name):
                lines.append("%\(i) = input \"\(name)\" \(node.shape)\(type) \(node.fill.map(Self.describe) ?? "")")
            case .variable(let name):
                lines.append("%\(i) = variable \"\(name)\" \(node.shape)\(type) \(node.fill.map(Self.describe) ?? "")")
            case .constant(let values):
                let text = values.count <= 4 ? values.map { "\($0)" }.joined(separator: ", ")
                    : values.prefix(3).map { "\($0)" }.joined(separator: ", ") + ", … (\(values.count) values)"
                lines.append("%\(i) = constant [\(text)] \(node.shape)")
            default:
                lines.append("%\(i) = \(Self.describe(node.op))(\(operands))  \(operandShapes) -> \(node.shape)\(type)")
            }
        }
        lines.append("outputs: " + outputs.map { "%\($0)" }.joined(separator: ", "))
        for assignment in assignments { lines.append("assign %\(assignment.variable) ← %\(assignment.value) (end of run)") }
        return lines.joined(separator: "\n")
    }

    /// The op with its parameters, e.g. `matmul[tB]`, `sum[axis 1, keepDims]`.
    static func describe(_ op: Op) -> String {
        switch op {
        case let .matmul(a, b):
            let flags = [a ? "tA" : nil, b ? "tB" : nil].compactMap { $0 }
            return "matmul" + (flags.isEmpty ? "" : "[" + flags.joined(separator: ", ") + "]")
        case let .reduce(kind, axis, keep): return "\(kind.rawValue)[axis \(axis)\(keep ? ", keepDims" : "")]"
        case .softmax(let axis): return "softmax[axis \(axis)]"
        case .logSoftmax(let axis): return "logSoftmax[axis \(axis)]"
        case .layerNorm(let eps): return "layerNorm[eps \(eps)]"
        case .rmsNorm(let eps): return "rmsNorm[eps \(eps)]"
        case let .proportionsNorm(eps, compression): return "proportionsNorm[eps \(eps), c \(compression)]"
        case .reshape(let shape): return "reshape\(shape)"
        case .permute(let axes): return "permute\(axes)"
        case let .slice(axis, start, end): return "slice[axis \(axis), \(start)..<\(end)]"
        case .concat(let axis): return "concat[axis \(axis)]"
        case .powScalar(let p): return "pow[\(p)]"
        case .crossEntropy(let ignore): return "crossEntropy" + (ignore.map { "[ignore \($0)]" } ?? "")
        case .crossEntropyGrad(let ignore): return "crossEntropyGrad" + (ignore.map { "[ignore \($0)]" } ?? "")
        case let .attention(causal, scale): return "attention[\(causal ? "causal, " : "")scale \(scale)]"
        case let .attentionGrad(causal, scale, operand):
            return "attentionGrad[\(operand.rawValue), \(causal ? "causal, " : "")scale \(scale)]"
        case .embeddingGrad(let vocabulary): return "embeddingGrad[vocabulary \(vocabulary)]"
        case let .dropoutMask(shape, keep, salt): return "dropoutMask[\(shape), keep \(keep), salt \(salt)]"
        default: return op.name
        }
    }

    static func describe(_ fill: InputFill) -> String {
        switch fill {
        case .uniform(let lo, let hi): return "uniform(\(lo), \(hi))"
        case .smallInts(let lo, let hi): return "ints(\(lo)...\(hi))"
        case .indices(let bound): return "indices(0..<\(bound))"
        case let .targets(classes, ignore, fraction):
            return "targets(0..<\(classes)" + (ignore.map { ", ignore \($0) at \(fraction)" } ?? "") + ")"
        case let .withSpecials(base, count, kinds):
            return "\(describe(base)) with \(count) of \(kinds.values)"
        }
    }
}
