// Activation functions as parameterless layers, for ``Sequential``.

/// `tanh(x)` as a layer.
public struct Tanh: UnaryLayer, Sendable {
    /// The layer.
    public init() {}
    /// ``Tensor/tanh()`` of `x`.
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try x.tanh() }
}

/// `max(x, 0)` as a layer.
public struct ReLU: UnaryLayer, Sendable {
    /// The layer.
    public init() {}
    /// ``Tensor/relu()`` of `x`.
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try x.relu() }
}

/// GELU (tanh approximation) as a layer.
public struct GELU: UnaryLayer, Sendable {
    /// The layer.
    public init() {}
    /// ``Tensor/gelu()`` of `x`.
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try x.gelu() }
}

/// The logistic sigmoid as a layer.
public struct Sigmoid: UnaryLayer, Sendable {
    /// The layer.
    public init() {}
    /// ``Tensor/sigmoid()`` of `x`.
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try x.sigmoid() }
}
