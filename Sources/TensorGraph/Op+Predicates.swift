/// Predicates on ``Op`` for pattern matching over a graph: each answers whether an op is of one
/// kind, so a match reads as one boolean expression instead of an `if case` per condition.
extension Op {
    /// An input, by any name.
    public var isInput: Bool { inputName != nil }

    /// The name of an ``input(name:)`` op.
    public var inputName: String? {
        if case .input(let name) = self { return name }
        return nil
    }

    /// A variable, by any name.
    public var isVariable: Bool { variableName != nil }

    /// The name of a ``variable(name:)`` op.
    public var variableName: String? {
        if case .variable(let name) = self { return name }
        return nil
    }

    /// `matmul`, with any transposes.
    public var isMatmul: Bool {
        if case .matmul = self { return true }
        return false
    }

    /// `matmul(transposeA: false, transposeB: true)`: `x · Wᵀ`, the `linear` layer's product.
    public var isLinearProduct: Bool { self == .matmul(transposeA: false, transposeB: true) }

    /// Elementwise addition.
    public var isAdd: Bool { self == .binary(.add) }

    /// Elementwise subtraction.
    public var isSub: Bool { self == .binary(.sub) }

    /// Elementwise multiplication.
    public var isMul: Bool { self == .binary(.mul) }

    /// The unary function, for a ``unary(_:)`` op.
    public var unaryOp: UnaryOp? {
        if case .unary(let op) = self { return op }
        return nil
    }

    /// A constant.
    public var isConstant: Bool { constantValues != nil }

    /// The data of a ``constant(_:)`` op.
    public var constantValues: [Float]? {
        if case .constant(let values) = self { return values }
        return nil
    }

    /// A constant whose every value is `value` (of any shape: `[1]` or a filled tensor).
    public func isConstant(filledWith value: Float) -> Bool {
        guard let values = constantValues, !values.isEmpty else { return false }
        return values.allSatisfy { $0 == value }
    }

    /// `layerNorm`, with any epsilon.
    public var isLayerNorm: Bool {
        if case .layerNorm = self { return true }
        return false
    }

    /// `rmsNorm`, with any epsilon.
    public var isRMSNorm: Bool {
        if case .rmsNorm = self { return true }
        return false
    }

    /// `proportionsNorm`, with any epsilon and compression.
    public var isProportionsNorm: Bool {
        if case .proportionsNorm = self { return true }
        return false
    }

    /// A row normalisation over the last axis: `layerNorm` or `rmsNorm`.
    public var isNorm: Bool { isLayerNorm || isRMSNorm }

    /// `logSoftmax` along any axis.
    public var isLogSoftmax: Bool {
        if case .logSoftmax = self { return true }
        return false
    }

    /// A reduction of kind `kind` along `axis` (with or without kept dims).
    public func isReduce(_ kind: ReduceOp, axis: Int) -> Bool {
        if case .reduce(kind, axis, _) = self { return true }
        return false
    }

    /// A permute.
    public var isPermute: Bool {
        if case .permute = self { return true }
        return false
    }

    /// A reshape.
    public var isReshape: Bool {
        if case .reshape = self { return true }
        return false
    }

    /// A KV-cache append.
    public var isCacheWrite: Bool { self == .cacheWrite }

    /// The backward of layer norm for one operand.
    public var isLayerNormGrad: Bool {
        if case .layerNormGrad = self { return true }
        return false
    }

    /// The backward of attention for one operand.
    public var isAttentionGrad: Bool {
        if case .attentionGrad = self { return true }
        return false
    }
}
