import TensorGraph

/// An expression a TensorGraph function builds over named inputs, and where a graph holds the same
/// expression: the same ops in the same operand order (constants by value and shape), each input
/// bound to one node. How a fusion rule recognises what autograd composes without restating it
/// (``GeluBackwardEpilogueRule`` builds its template with `geluSlope`).
struct ExpressionTemplate {
    /// A place the expression occurs.
    struct Match {
        /// The node each named input stands for.
        let bindings: [String: NodeID]
        /// The nodes the expression computes (its root included; inputs and constants not).
        let computed: [NodeID]
    }

    private let graph: Graph
    private let root: NodeID

    /// The expression `build` makes of one input per name.
    init(inputs names: [String], _ build: ([Tensor]) throws -> Tensor) throws {
        let graph = Graph()
        let inputs = try names.map { try graph.input($0, [1]) }
        root = try build(inputs).id
        self.graph = graph
    }

    /// The match whose root is `candidate`, if the expression is there and every node it computes
    /// besides the root is read only inside it (so a fusion may absorb them), not an output, not claimed.
    func match(at candidate: NodeID, in context: FusionContext) -> Match? {
        var mapped: [NodeID: NodeID] = [:]
        var bindings: [String: NodeID] = [:]
        func visit(_ pattern: NodeID, _ real: NodeID) -> Bool {
            if let earlier = mapped[pattern] { return earlier == real }
            let expected = graph.node(pattern), found = context.node(real)
            if case .input(let name) = expected.op {
                guard bindings[name] == nil || bindings[name] == real else { return false }
                bindings[name] = real
                mapped[pattern] = real
                return true
            }
            guard expected.op == found.op, expected.inputs.count == found.inputs.count,
                  !expected.op.isConstant || expected.shape == found.shape else { return false }
            mapped[pattern] = real
            return zip(expected.inputs, found.inputs).allSatisfy { visit($0, $1) }
        }
        guard visit(root, candidate) else { return nil }
        let computed = mapped.filter { pattern, _ in
            let op = graph.node(pattern).op
            if case .input = op { return false }
            return !op.isConstant
        }.map(\.value).sorted()
        let inside = Set(computed)
        for id in computed where id != candidate {
            guard !context.outputs.contains(id), !context.isClaimed(id),
                  context.readers(of: id).allSatisfy(inside.contains) else { return nil }
        }
        guard !context.isClaimed(candidate) else { return nil }
        return Match(bindings: bindings, computed: computed)
    }
}
