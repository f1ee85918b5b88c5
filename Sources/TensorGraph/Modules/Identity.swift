/// The identity as a layer: no parameters, `x` unchanged (a model's "no norm" choice).
public struct Identity: UnaryLayer, Sendable {
    /// The layer.
    public init() {}
    /// `x` itself.
    public func callAsFunction(_ x: Tensor) throws -> Tensor { x }
}
