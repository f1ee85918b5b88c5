import Testing
import TensorGraph

/// Finite-difference checks of reductions, softmax, log-softmax, layer norm and RMS norm.
@Suite struct ReductionGradientTests {
    @Test(arguments: [ReduceOp.sum, .mean, .max]) func reduce(_ op: ReduceOp) throws {
        for axis in [0, 1, -1] {
            for keep in [false, true] {
                try checkGradients("\(op) axis \(axis) keep \(keep)", [.f32("x", [3, 5, 2], -1, 1)]) {
                    try $0[0].graph.apply(.reduce(op, axis: axis, keepDims: keep), [$0[0]])
                }
            }
        }
        try checkGradients("\(op) [1]", [.f32("x", [1], -1, 1)]) { try $0[0].graph.apply(.reduce(op, axis: 0, keepDims: false), [$0[0]]) }
    }

    /// Ties in max share the gradient equally.
    @Test func maxTiesSplitEqually() throws {
        let g = Graph()
        let x = try g.input("x", [2, 3])
        let grads = try gradients(of: x.max(axis: 1).sum(axis: 0), wrt: [x])
        let out = try ReferenceBackend().compile(g, outputs: grads, options: CompileOptions())
            .run(["x": TensorData(shape: [2, 3], floats: [4, 1, 4, 0, 2, 1])])
        #expect(out[0].floats == [0.5, 0, 0.5, 0, 1, 0])
    }

    @Test func softmaxAndLogSoftmax() throws {
        for axis in [0, -1, 1] {
            try checkGradients("softmax axis \(axis)", [.f32("x", [3, 5, 2], -2, 2)]) { try $0[0].softmax(axis: axis) }
            try checkGradients("logSoftmax axis \(axis)", [.f32("x", [3, 5, 2], -2, 2)]) { try $0[0].logSoftmax(axis: axis) }
        }
        try checkGradients("softmax [7]", [.f32("x", [7], -2, 2)]) { try $0[0].softmax() }
    }

    @Test func layerNorm() throws {
        for shape: Shape in [[3, 5], [2, 1, 7]] {
            let c = shape[-1]
            try checkGradients("layerNorm \(shape)", [.f32("x", shape, -2, 2), .f32("gain", [c], 0.5, 1.5), .f32("bias", [c], -1, 1)],
                               h: 3e-3) {
                try $0[0].layerNorm(gain: $0[1], bias: $0[2])
            }
        }
    }

    @Test func rmsNorm() throws {
        for shape: Shape in [[3, 5], [2, 1, 7], [5, 1]] {
            try checkGradients("rmsNorm \(shape)", [.f32("x", shape, -2, 2), .f32("gain", [shape[-1]], 0.5, 1.5)], h: 3e-3) {
                try $0[0].rmsNorm(gain: $0[1])
            }
        }
    }
}
