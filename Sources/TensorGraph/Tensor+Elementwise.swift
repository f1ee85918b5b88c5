/// Elementwise builders: arithmetic operators, unary functions, comparisons and `select`.
/// Binary forms broadcast numpy-style; a `Float` operand becomes a scalar constant.
extension Tensor {
    private func unary(_ op: UnaryOp) throws -> Tensor { try graph.apply(.unary(op), [self]) }
    private func binary(_ op: BinaryOp, _ other: Tensor) throws -> Tensor { try graph.apply(.binary(op), [self, other]) }
    private func compare(_ op: CompareOp, _ other: Tensor) throws -> Tensor { try graph.apply(.compare(op), [self, other]) }
    private func scalar(_ v: Float) -> Tensor { graph.constant(v) }

    /// Elementwise sum, broadcasting.
    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.add, b) }
    /// Elementwise difference, broadcasting.
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.sub, b) }
    /// Elementwise product, broadcasting.
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.mul, b) }
    /// Elementwise quotient, broadcasting.
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.div, b) }
    /// Adds a scalar.
    public static func + (a: Tensor, b: Float) throws -> Tensor { try a.binary(.add, a.scalar(b)) }
    /// Subtracts a scalar.
    public static func - (a: Tensor, b: Float) throws -> Tensor { try a.binary(.sub, a.scalar(b)) }
    /// Multiplies by a scalar.
    public static func * (a: Tensor, b: Float) throws -> Tensor { try a.binary(.mul, a.scalar(b)) }
    /// Divides by a scalar.
    public static func / (a: Tensor, b: Float) throws -> Tensor { try a.binary(.div, a.scalar(b)) }
    /// Scalar plus tensor.
    public static func + (a: Float, b: Tensor) throws -> Tensor { try b.scalar(a).binary(.add, b) }
    /// Scalar minus tensor.
    public static func - (a: Float, b: Tensor) throws -> Tensor { try b.scalar(a).binary(.sub, b) }
    /// Scalar times tensor.
    public static func * (a: Float, b: Tensor) throws -> Tensor { try b.scalar(a).binary(.mul, b) }
    /// Scalar divided by tensor.
    public static func / (a: Float, b: Tensor) throws -> Tensor { try b.scalar(a).binary(.div, b) }
    /// Elementwise negation.
    public static prefix func - (a: Tensor) throws -> Tensor { try a.unary(.neg) }

    /// `eˣ`.
    public func exp() throws -> Tensor { try unary(.exp) }
    /// Natural logarithm.
    public func log() throws -> Tensor { try unary(.log) }
    /// `√x`.
    public func sqrt() throws -> Tensor { try unary(.sqrt) }
    /// `1/√x`.
    public func rsqrt() throws -> Tensor { try unary(.rsqrt) }
    /// Hyperbolic tangent.
    public func tanh() throws -> Tensor { try unary(.tanh) }
    /// `max(x, 0)`.
    public func relu() throws -> Tensor { try unary(.relu) }
    /// GELU, tanh approximation.
    public func gelu() throws -> Tensor { try unary(.gelu) }
    /// Logistic sigmoid.
    public func sigmoid() throws -> Tensor { try unary(.sigmoid) }
    /// `|x|`.
    public func abs() throws -> Tensor { try unary(.abs) }
    /// `x^p` elementwise.
    public func pow(_ p: Float) throws -> Tensor { try graph.apply(.powScalar(p), [self]) }

    /// Elementwise maximum, broadcasting.
    public func maximum(_ other: Tensor) throws -> Tensor { try binary(.maximum, other) }
    /// Elementwise maximum with a scalar.
    public func maximum(_ other: Float) throws -> Tensor { try binary(.maximum, scalar(other)) }
    /// Elementwise minimum, broadcasting.
    public func minimum(_ other: Tensor) throws -> Tensor { try binary(.minimum, other) }
    /// Elementwise minimum with a scalar.
    public func minimum(_ other: Float) throws -> Tensor { try binary(.minimum, scalar(other)) }

    /// `self < other` as f32 1 / 0, broadcasting.
    public func less(_ other: Tensor) throws -> Tensor { try compare(.less, other) }
    /// `self < other` as f32 1 / 0.
    public func less(_ other: Float) throws -> Tensor { try compare(.less, scalar(other)) }
    /// `self <= other` as f32 1 / 0, broadcasting.
    public func lessEqual(_ other: Tensor) throws -> Tensor { try compare(.lessEqual, other) }
    /// `self <= other` as f32 1 / 0.
    public func lessEqual(_ other: Float) throws -> Tensor { try compare(.lessEqual, scalar(other)) }
    /// `self > other` as f32 1 / 0, broadcasting.
    public func greater(_ other: Tensor) throws -> Tensor { try compare(.greater, other) }
    /// `self > other` as f32 1 / 0.
    public func greater(_ other: Float) throws -> Tensor { try compare(.greater, scalar(other)) }
    /// `self >= other` as f32 1 / 0, broadcasting.
    public func greaterEqual(_ other: Tensor) throws -> Tensor { try compare(.greaterEqual, other) }
    /// `self >= other` as f32 1 / 0.
    public func greaterEqual(_ other: Float) throws -> Tensor { try compare(.greaterEqual, scalar(other)) }
    /// `self == other` as f32 1 / 0, broadcasting.
    public func equal(_ other: Tensor) throws -> Tensor { try compare(.equal, other) }
    /// `self == other` as f32 1 / 0.
    public func equal(_ other: Float) throws -> Tensor { try compare(.equal, scalar(other)) }
    /// `self != other` as f32 1 / 0, broadcasting.
    public func notEqual(_ other: Tensor) throws -> Tensor { try compare(.notEqual, other) }
    /// `self != other` as f32 1 / 0.
    public func notEqual(_ other: Float) throws -> Tensor { try compare(.notEqual, scalar(other)) }
}

/// `cond != 0 ? a : b` elementwise, broadcasting all three.
public func select(_ cond: Tensor, _ a: Tensor, _ b: Tensor) throws -> Tensor {
    try cond.graph.apply(.select, [cond, a, b])
}
