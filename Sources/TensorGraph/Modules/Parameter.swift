/// A trainable tensor of a ``Module``: its shape, element type and initialiser, and, once the
/// module is declared in a ``Graph``, the variable that holds it there.
///
/// A parameter is a reference: the module that owns it and every copy of that module share it,
/// and ``Module/declare(in:dtypes:)`` binds it to exactly one graph. Its name is the property
/// path that leads to it from the declared module (`hidden.weight`, `transformer.h.0.ln_1.bias`).
public final class Parameter {
    /// The variable's shape.
    public let shape: Shape
    /// The element type it is declared with unless ``Module/declare(in:dtypes:)`` overrides it by name.
    public let dtype: DType
    /// How ``Module/initialValues(seed:)`` fills it.
    public let initializer: Initializer
    /// The variable this parameter is bound to; nil until its module is declared.
    public private(set) var variable: Tensor?

    /// A parameter of `shape`, filled by `initializer`.
    public init(_ shape: Shape, dtype: DType = .f32, initializer: Initializer) {
        self.shape = shape
        self.dtype = dtype
        self.initializer = initializer
    }

    /// The variable's name in its graph; nil until declared.
    public var name: String? {
        guard let variable, case .variable(let name) = variable.node.op else { return nil }
        return name
    }

    /// The variable, for use in a module's forward pass.
    /// - Throws: ``GraphError`` when the module that owns the parameter has not been declared in a graph.
    public var tensor: Tensor {
        get throws {
            guard let variable else {
                throw GraphError(op: "parameter", shapes: [shape],
                                 expected: "a parameter declared in a graph: call declare(in:) on the model first",
                                 message: "parameter of shape \(shape) is not declared")
            }
            return variable
        }
    }

    /// Declares the variable `name` in `graph` and binds this parameter to it.
    func bind(_ name: String, in graph: Graph, dtype: DType) throws -> Tensor {
        if let existing = self.name {
            throw GraphError(op: "variable", shapes: [shape], expected: "a parameter declared once",
                             message: "parameter \"\(name)\" is already declared as \"\(existing)\"")
        }
        let tensor = try graph.variable(name, shape, dtype: dtype)
        variable = tensor
        return tensor
    }
}
