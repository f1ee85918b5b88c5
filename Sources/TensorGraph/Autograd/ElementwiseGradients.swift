/// Gradient rules of the elementwise ops, composed from elementwise ops (the backend fuses the chains).

/// √(2/π), the GELU tanh-form constant.
private let geluC = Float((2.0 / Double.pi).squareRoot())

func unaryGradient(_ op: UnaryOp, x: Tensor, y: Tensor, g: Tensor) throws -> Tensor {
    switch op {
    case .neg: return try -g
    case .exp: return try g * y
    case .log: return try g / x
    case .sqrt: return try g * 0.5 / y
    case .rsqrt: return try g * y.pow(3) * -0.5                       // d x^-½ = -½ x^-³ᐟ² = -½ y³
    case .tanh: return try g * (1 - y * y)
    case .relu: return try g * x.greater(0)
    case .gelu: return try g * geluSlope(x)
    case .sigmoid: return try g * y * (1 - y)
    case .abs: return try g * (x.greater(0) - x.less(0))             // sign(0) = 0, as PyTorch
    }
}

/// gelu′(x), composed of elementwise ops: what autograd multiplies a gelu's incoming gradient by.
/// Public so that a backend can recognise `g · geluSlope(x)` (and compute it in one place, as the
/// OpenCL backend does in a matmul's epilogue) by building the same expression.
///
/// y = ½x(1+t), t = tanh(u), u = c(x + 0.044715x³): y′ = ½(1+t) + ½x(1−t²)·c(1 + 3·0.044715x²).
public func geluSlope(_ x: Tensor) throws -> Tensor {
    let x2 = try x * x
    let t = try ((x2 * 0.044715 + 1) * x * geluC).tanh()
    let du = try (x2 * (3 * 0.044715 * geluC) + geluC)
    return try (t + 1) * 0.5 + x * 0.5 * (1 - t * t) * du
}

func powGradient(_ p: Float, x: Tensor, g: Tensor) throws -> Tensor {
    switch p {
    case 0: return g.graph.constant(0, shape: x.shape)
    case 1: return g
    case 2: return try g * x * 2
    default: return try g * x.pow(p - 1) * p
    }
}

/// Binary ops broadcast, so each operand's gradient is summed back to its own shape.
func binaryGradient(_ op: BinaryOp, a: Tensor, b: Tensor, y: Tensor, g: Tensor, needs: [Bool]) throws -> [Tensor?] {
    func ga(_ f: () throws -> Tensor) throws -> Tensor? { needs[0] ? try f().sumToShape(a.shape) : nil }
    func gb(_ f: () throws -> Tensor) throws -> Tensor? { needs[1] ? try f().sumToShape(b.shape) : nil }
    switch op {
    case .add: return [try ga { g }, try gb { g }]
    case .sub: return [try ga { g }, try gb { try -g }]
    case .mul: return [try ga { try g * b }, try gb { try g * a }]
    case .div: return [try ga { try g / b }, try gb { try -(g * y / b) }]   // d(a/b)/db = −y/b
    case .maximum, .minimum:
        // Ties split the gradient equally between the operands (as PyTorch does).
        let wins = try op == .maximum ? a.greater(b) : a.less(b)
        let share = try wins + a.equal(b) * 0.5
        return [try ga { try g * share }, try gb { try g * (1 - share) }]
    }
}

/// No gradient to the condition; `a` gets `g` where it was chosen, `b` the rest.
func selectGradient(condition c: Tensor, a: Tensor, b: Tensor, g: Tensor, needs: [Bool]) throws -> [Tensor?] {
    let zero = g.graph.constant(0)
    let da = needs[1] ? try select(c, g, zero).sumToShape(a.shape) : nil
    let db = needs[2] ? try select(c, zero, g).sumToShape(b.shape) : nil
    return [nil, da, db]
}
