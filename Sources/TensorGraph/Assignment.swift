/// A state update a plan performs at the end of every run: `variable ← value`.
///
/// This is how training steps keep their state on the device: the optimizer's new weights and
/// moments are graph values, and the plan writes them into their variables after everything
/// else in the run has read the old ones. Reads during the run always see the value from
/// before the run.
public struct Assignment {
    /// The variable that receives the value (a node made by ``Graph/variable(_:_:)``).
    public let variable: Tensor
    /// The value it receives, of the variable's shape and dtype.
    public let value: Tensor

    /// Pairs `variable` with its new `value`.
    /// - Throws: ``GraphError`` when `variable` is not a variable, the two come from different
    ///   graphs, or shapes or dtypes differ.
    public init(_ variable: Tensor, _ value: Tensor) throws {
        guard case .variable = variable.node.op else {
            throw GraphError(op: "assign", shapes: [variable.shape, value.shape], expected: "a variable as the target",
                             message: "the target is a \(variable.node.op.name), not a variable")
        }
        guard variable.graph === value.graph else {
            throw GraphError(op: "assign", shapes: [variable.shape, value.shape], expected: "both tensors in the same graph",
                             message: "value from a different graph")
        }
        guard variable.shape == value.shape, variable.dtype == value.dtype else {
            throw GraphError(op: "assign", shapes: [variable.shape, value.shape],
                             expected: "a value of the variable's shape and dtype (\(variable.dtype.rawValue))",
                             message: "cannot assign \(value.shape) \(value.dtype.rawValue) to \(variable.shape) \(variable.dtype.rawValue)")
        }
        self.variable = variable
        self.value = value
    }

    /// The variable's name.
    public var variableName: String {
        if case .variable(let name) = variable.node.op { return name }
        preconditionFailure("Assignment target is not a variable")
    }

    /// Checks a set of assignments for one plan: each variable at most once, all in `graph`.
    public static func validate(_ assignments: [Assignment], in graph: Graph) throws {
        var seen = Set<String>()
        for assignment in assignments {
            guard assignment.variable.graph === graph else { throw PlanError.unsupported(op: "assign", detail: "an assignment belongs to a different graph") }
            guard seen.insert(assignment.variableName).inserted else {
                throw PlanError.unsupported(op: "assign", detail: "variable \"\(assignment.variableName)\" is assigned twice")
            }
        }
    }
}
