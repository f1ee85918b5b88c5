import Testing
import TensorGraph

/// Finite-difference checks of the unary, binary (with broadcasting), pow, select and compare rules.
@Suite struct ElementwiseGradientTests {
    @Test(arguments: UnaryOp.allCases) func unary(_ op: UnaryOp) throws {
        // log/sqrt/rsqrt need positive inputs; relu/abs are checked away from their kink at 0.
        let (lo, hi): (Double, Double)
        switch op {
        case .log, .sqrt, .rsqrt: (lo, hi) = (0.3, 2)
        case .relu, .abs: (lo, hi) = (0.1, 1.5)
        default: (lo, hi) = (-2, 2)
        }
        try checkGradients("\(op) +", [.f32("x", [3, 5], lo, hi)]) { x in try x[0].graph.apply(.unary(op), [x[0]]) }
        if op == .relu || op == .abs {
            try checkGradients("\(op) −", [.f32("x", [7], -1.5, -0.1)]) { x in try x[0].graph.apply(.unary(op), [x[0]]) }
        }
    }

    @Test(arguments: BinaryOp.allCases) func binaryWithBroadcasting(_ op: BinaryOp) throws {
        // Pairs of shapes: equal, a broadcast row, a broadcast column with a missing leading axis, a scalar.
        let pairs: [(Shape, Shape)] = [([3, 5], [3, 5]), ([2, 3, 5], [5]), ([5, 1], [2, 5, 3]), ([1], [7])]
        for (sa, sb) in pairs {
            // Divisors kept away from 0; maximum/minimum operands drawn from separate ranges interleaved by sign.
            let b: FDInput = op == .div ? .f32("b", sb, 0.5, 2) : .f32("b", sb, -1, 1)
            try checkGradients("\(op) \(sa) \(sb)", [.f32("a", sa, -1, 1), b]) { x in
                try x[0].graph.apply(.binary(op), [x[0], x[1]])
            }
        }
    }

    /// Ties in maximum/minimum split the gradient equally (a finite difference is not defined there).
    @Test func maximumTiesSplitEqually() throws {
        let g = Graph()
        let a = try g.input("a", [3]), b = try g.input("b", [3])
        let loss = try a.maximum(b).sum(axis: 0) + a.minimum(b).sum(axis: 0) * 3
        let grads = try gradients(of: loss, wrt: [a, b])
        let out = try ReferenceBackend().compile(g, outputs: grads, options: CompileOptions())
            .run(["a": TensorData(shape: [3], floats: [1, 2, 5]), "b": TensorData(shape: [3], floats: [1, 3, 4])])
        #expect(out[0].floats == [2, 3, 1])     // tie: ½ + 3·½; a < b: 0 + 3; a > b: 1 + 0
        #expect(out[1].floats == [2, 1, 3])
    }

    @Test func powScalar() throws {
        for p: Float in [2, 3, 0.5, -1.5, 1, 0] {
            try checkGradients("pow \(p)", [.f32("x", [5], 0.5, 2)]) { try $0[0].pow(p) }
        }
    }

    @Test func selectAndCompare() throws {
        let cond = TensorData(shape: [3, 1], floats: [1, 0, 1])
        try checkGradients("select", [.fixed("c", cond), .f32("a", [3, 4], -1, 1), .f32("b", [4], -1, 1)]) {
            try select($0[0], $0[1], $0[2])
        }
        // A comparison passes no gradient; the select built on it still routes to the chosen operand.
        try checkGradients("select(compare)", [.f32("a", [7], -1, 1), .f32("b", [7], -1, 1)]) {
            try select($0[0].greater($0[1]), $0[0] * $0[1], $0[1].exp())
        }
    }

    /// A tensor used several times accumulates every contribution.
    @Test func fanOutAccumulates() throws {
        try checkGradients("fan-out", [.f32("x", [5], -1, 1)]) { x in
            try x[0] * x[0] + x[0].tanh() * x[0] - x[0]
        }
    }
}
