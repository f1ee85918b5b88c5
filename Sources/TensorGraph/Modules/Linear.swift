/// `x · weightᵀ + bias`, PyTorch's `nn.Linear`: `weight` `[outputs, inputs]`, `bias` `[outputs]`.
public struct Linear: UnaryLayer {
    /// `[outputs, inputs]`.
    public let weight: Parameter
    /// `[outputs]`, or nil for a layer without bias.
    public let bias: Parameter?

    /// A layer from `inputs` to `outputs` features. By default weight and bias are uniform in
    /// `±1/√inputs`, PyTorch's default initialisation.
    public init(_ inputs: Int, _ outputs: Int, bias: Bool = true,
                weightInitializer: Initializer? = nil, biasInitializer: Initializer? = nil) {
        let bound = Initializer.uniform(bound: 1 / Double(inputs).squareRoot())
        weight = Parameter([outputs, inputs], initializer: weightInitializer ?? bound)
        self.bias = bias ? Parameter([outputs], initializer: biasInitializer ?? bound) : nil
    }

    /// A layer over existing parameters: `weight` `[outputs, inputs]`, `bias` `[outputs]` (a weight
    /// shared with another module, e.g. an output projection tied to the token embedding).
    public init(weight: Parameter, bias: Parameter?) {
        self.weight = weight
        self.bias = bias
    }

    /// `x` `[..., inputs]` → `[..., outputs]` (``linear(_:weight:bias:)``).
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try linear(x, weight: weight.tensor, bias: bias?.tensor)
    }
}
