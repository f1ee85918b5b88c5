/// A lazily built, backend-agnostic op graph.
///
/// Nodes are appended in topological order: a node's inputs always precede it. Build with
/// ``input(_:_:dtype:)``, ``variable(_:_:)``, ``constant(_:shape:)`` and the throwing builders
/// on ``Tensor``; then hand the graph and its outputs to a ``Backend``.
///
/// ```swift
/// let g = Graph()
/// let x = try g.input("x", [4, 3])
/// let w = try g.variable("w", [2, 3])
/// let y = try linear(x, weight: w, bias: nil).relu()
/// let plan = try ReferenceBackend().compile(g, outputs: [y], options: CompileOptions())
/// ```
public final class Graph {
    /// Every node, in topological order.
    public private(set) var nodes: [Node] = []
    private var names: Set<String> = []

    /// Creates an empty graph.
    public init() {}

    /// The node with `id`.
    public func node(_ id: NodeID) -> Node { nodes[id.index] }

    /// A tensor handle for an existing node.
    public func tensor(_ id: NodeID) -> Tensor { Tensor(graph: self, id: id) }

    /// Declares a value fed on every run under `name`.
    /// - Throws: ``GraphError`` when the name is already used by an input or variable, or a
    ///   dimension is not positive.
    public func input(_ name: String, _ shape: Shape, dtype: DType = .f32) throws -> Tensor {
        guard !dtype.isQuantized else {
            throw GraphError(op: "input", shapes: [shape], expected: "an f32 or i32 input (quantized weights are variables)",
                             message: "input \"\(name)\" declared \(dtype.rawValue)")
        }
        return try declare(name, shape, op: .input(name: name), dtype: dtype)
    }

    /// Declares persistent plan state (weights) under `name`, set with ``Plan/setVariable(_:_:)``.
    ///
    /// `dtype` may be `.q8_0` / `.q4_0` for a quantized weight `[N, K]` (K a multiple of 32), or `.f16`
    /// for a half-precision weight `[N, K]` (any K), that
    /// only `matmul(transposeB: true)` / ``linear(_:weight:bias:)`` read.
    /// - Throws: ``GraphError`` when the name is already used, a dimension is not positive, or a
    ///   block-quantized variable's last axis is not a multiple of 32.
    public func variable(_ name: String, _ shape: Shape, dtype: DType = .f32) throws -> Tensor {
        try validateQuantizedVariable(name, shape, dtype)
        return try declare(name, shape, op: .variable(name: name), dtype: dtype)
    }

    /// A constant filled with `value`, stored once as `[value]` whatever the shape: backends
    /// repeat it, and fused elementwise kernels take it as a scalar argument (so `x + zeros`,
    /// the broadcast autograd uses, costs no buffer).
    public func constant(_ value: Float, shape: Shape = []) -> Tensor {
        precondition(shape.dims.allSatisfy { $0 > 0 }, "constant: dimensions must be positive, got \(shape)")
        return append(.constant([value]), inputs: [], shape: shape, dtype: .f32)
    }

    /// A constant with the given values in row-major order.
    /// - Throws: ``GraphError`` when `values.count != shape.count`.
    public func constant(_ values: [Float], shape: Shape) throws -> Tensor {
        guard shape.dims.allSatisfy({ $0 > 0 }) else {
            throw GraphError(op: "constant", shapes: [shape], expected: "dimensions must be positive",
                             message: "invalid shape \(shape)")
        }
        guard values.count == shape.count else {
            throw GraphError(op: "constant", shapes: [shape],
                             expected: "\(shape.count) values for shape \(shape), got \(values.count)",
                             message: "wrong number of values")
        }
        return append(.constant(values), inputs: [], shape: shape, dtype: .f32)
    }

    /// Nodes with ``Op/input(name:)``, in creation order.
    public var inputs: [Node] {
        nodes.filter(\.op.isInput)
    }

    /// Nodes with ``Op/variable(name:)``, in creation order.
    public var variables: [Node] {
        nodes.filter(\.op.isVariable)
    }

    /// Appends `op` applied to `operands`, inferring (and normalising) shapes and dtypes.
    ///
    /// Every typed builder on ``Tensor`` goes through here; it is public so that code which
    /// rebuilds graphs (autograd, loaders) can add any op generically.
    /// - Throws: ``GraphError`` when operands come from another graph or do not fit the op.
    @discardableResult
    public func apply(_ op: Op, _ operands: [Tensor]) throws -> Tensor {
        for t in operands where t.graph !== self {
            throw GraphError(op: op.name, shapes: operands.map(\.shape),
                             expected: "all operands must belong to the same graph",
                             message: "operand from a different graph")
        }
        let inputNodes = operands.map { node($0.id) }
        let (normalised, shape, dtype) = try inferShape(op, inputNodes.map(\.shape), inputNodes.map(\.dtype))
        return append(normalised, inputs: operands.map(\.id), shape: shape, dtype: dtype)
    }

    private func declare(_ name: String, _ shape: Shape, op: Op, dtype: DType) throws -> Tensor {
        guard !names.contains(name) else {
            throw GraphError(op: op.name, shapes: [shape], expected: "a name not used by another input or variable",
                             message: "duplicate name \"\(name)\"")
        }
        guard shape.dims.allSatisfy({ $0 > 0 }) else {
            throw GraphError(op: op.name, shapes: [shape], expected: "dimensions must be positive",
                             message: "invalid shape \(shape) for \"\(name)\"")
        }
        names.insert(name)
        return append(op, inputs: [], shape: shape, dtype: dtype)
    }

    private func append(_ op: Op, inputs: [NodeID], shape: Shape, dtype: DType) -> Tensor {
        let id = NodeID(index: nodes.count)
        nodes.append(Node(id: id, op: op, inputs: inputs, shape: shape, dtype: dtype))
        return Tensor(graph: self, id: id)
    }
}

/// A symbolic handle to one node of a ``Graph``.
///
/// Builders on `Tensor` (operators, `matmul`, `softmax`, …) append new nodes to the same graph
/// and throw ``GraphError`` when shapes or dtypes do not fit.
public struct Tensor {
    /// The graph the node lives in.
    public let graph: Graph
    /// The node's ID.
    public let id: NodeID

    /// Creates a handle; normally obtained from ``Graph``'s builders.
    public init(graph: Graph, id: NodeID) { self.graph = graph; self.id = id }

    /// The node this tensor refers to.
    public var node: Node { graph.node(id) }
    /// The node's shape.
    public var shape: Shape { node.shape }
    /// The node's element type.
    public var dtype: DType { node.dtype }
}
