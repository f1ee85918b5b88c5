/// A piece of a network with ``Parameter``s: a layer, a block, a whole model.
///
/// A module is a way to build a graph, not a second program: ``declare(in:dtypes:)`` adds its
/// parameters to a ``Graph`` as variables, and calling the module (its `callAsFunction`) appends
/// its forward pass to that graph, to be compiled and run by any ``Backend``.
///
/// Parameters are found by reflection: every stored property that is a ``Parameter``, a module,
/// or an optional or array of them, is walked in declaration order, and a parameter's name is
/// its property path joined by dots (array elements by index, ``Key`` overriding a property's
/// name), so the names are PyTorch's `named_parameters()` names:
///
/// ```swift
/// struct TwoLayerNet: Module {
///     var hidden = Linear(3, 8)
///     var output = Linear(8, 2)
///     func callAsFunction(_ x: Tensor) throws -> Tensor { try output(hidden(x).tanh()) }
/// }
/// let graph = Graph()
/// let model = TwoLayerNet()
/// try model.declare(in: graph)      // hidden.weight [8, 3], hidden.bias [8], output.weight [2, 8], output.bias [2]
/// let logits = try model(try graph.input("x", [4, 3]))
/// ```
///
/// Parameters are references, so a copy of a module shares them with the original; a parameter
/// reached along two paths (tied weights) is one variable, named by the first path. Like the
/// ``Graph`` it is declared in, a module with parameters is built on one thread (it is not
/// `Sendable`); the plans compiled from the graph follow ``Plan``'s threading rule.
public protocol Module {}

/// A module that maps one tensor to one tensor; what ``Sequential`` chains.
public protocol UnaryLayer: Module {
    /// Appends the layer's forward pass on `x` to `x`'s graph.
    func callAsFunction(_ x: Tensor) throws -> Tensor
}

extension Module {
    /// Every parameter with its name, in declaration order, whether declared or not.
    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        var found: [(name: String, parameter: Parameter)] = []
        var seen = Set<ObjectIdentifier>()
        ModuleReflection.visit(self, path: "") { name, parameter in
            if seen.insert(ObjectIdentifier(parameter)).inserted { found.append((name, parameter)) }
        }
        return found
    }

    /// Every parameter's name and shape, in declaration order (what a checkpoint of the module holds).
    public var parameterShapes: [(name: String, shape: Shape)] {
        namedParameters().map { ($0.name, $0.parameter.shape) }
    }

    /// Declares every parameter as a variable of `graph`, named by its property path, and binds
    /// it there; returns the variables by name, in declaration order.
    /// - Parameter dtypes: element types by parameter name that replace the declared ones (a
    ///   quantized or half-precision weight, see ``Graph/variable(_:_:dtype:)``).
    /// - Throws: ``GraphError`` when `dtypes` names no parameter of the module, a parameter is
    ///   already declared, or a variable's name is already used in `graph`.
    @discardableResult
    public func declare(in graph: Graph, dtypes: [String: DType] = [:]) throws -> [(name: String, tensor: Tensor)] {
        let named = namedParameters()
        let names = Set(named.map(\.name))
        if let unknown = dtypes.keys.sorted().first(where: { !names.contains($0) }) {
            throw GraphError(op: "declare", shapes: [], expected: "dtypes only for the module's parameters",
                             message: "no parameter \"\(unknown)\" (parameters: \(named.map(\.name).joined(separator: ", ")))")
        }
        return try named.map { name, parameter in
            (name, try parameter.bind(name, in: graph, dtype: dtypes[name] ?? parameter.dtype))
        }
    }

    /// The declared variables by name, in declaration order.
    /// - Throws: ``GraphError`` when the module has not been declared in a graph.
    public func parameters() throws -> [(name: String, tensor: Tensor)] {
        try namedParameters().map { name, parameter in
            guard let variable = parameter.variable else {
                throw GraphError(op: "parameter", shapes: [parameter.shape],
                                 expected: "a module declared in a graph: call declare(in:) first",
                                 message: "parameter \"\(name)\" is not declared")
            }
            return (name, variable)
        }
    }
}
