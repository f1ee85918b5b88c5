/// Activation functions as parameterless layers, for ``Sequential``.

/// `tanh(x)`.
public struct Tanh: UnaryLayer {
    public init() {}
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try x.tanh() }
}

/// `max(x, 0)`.
public struct ReLU: UnaryLayer {
    public init() {}
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try x.relu() }
}

/// GELU, tanh approximation.
public struct GELU: UnaryLayer {
    public init() {}
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try x.gelu() }
}

/// The logistic sigmoid.
public struct Sigmoid: UnaryLayer {
    public init() {}
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try x.sigmoid() }
}
