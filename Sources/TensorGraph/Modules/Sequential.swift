/// Layers applied one after another, PyTorch's `nn.Sequential`: the parameters of layer `i` are
/// named `i.…` (`0.weight`, `2.bias`), and parameterless layers (activations) take an index too.
///
/// ```swift
/// let net = Sequential(Linear(3, 8), Tanh(), Linear(8, 2))   // 0.weight, 0.bias, 2.weight, 2.bias
/// ```
public struct Sequential: UnaryLayer {
    /// The layers, in order.
    @Key("") public var layers: [any UnaryLayer] = []

    /// Chains `layers`.
    public init(_ layers: any UnaryLayer...) { self.layers = layers }

    /// Chains `layers`.
    public init(layers: [any UnaryLayer]) { self.layers = layers }

    /// `x` through every layer in turn.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try layers.reduce(x) { try $1($0) }
    }
}
