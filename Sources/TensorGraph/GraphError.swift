/// A shape or dtype mismatch found while building a graph.
///
/// The description names the op and the shapes involved, e.g.
/// `matmul: cannot multiply [2, 3] by [4, 5]: inner dimensions must match (3 vs 4)`.
public struct GraphError: Error, CustomStringConvertible, Sendable, Hashable {
    /// The op being built (``Op/name``), e.g. `"matmul"`.
    public let op: String
    /// The shapes of the operands involved.
    public let shapes: [Shape]
    /// What was expected instead, e.g. `"inner dimensions must match (3 vs 4)"`.
    public let expected: String
    /// What was attempted, e.g. `"cannot multiply [2, 3] by [4, 5]"`.
    public let message: String

    /// Creates an error; `message` defaults to listing the shapes.
    public init(op: String, shapes: [Shape], expected: String, message: String? = nil) {
        self.op = op
        self.shapes = shapes
        self.expected = expected
        self.message = message ?? "invalid operands " + shapes.map(\.description).joined(separator: ", ")
    }

    /// `"<op>: <message>: <expected>"`.
    public var description: String { "\(op): \(message): \(expected)" }
}
