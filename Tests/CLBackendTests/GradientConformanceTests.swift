import CLBackend
import GraphConformance
import TensorGraph
import Testing

/// OpenCL gradients against the reference's: each case builds a loss `Σ out ⊙ R` (R fixed random) over a
/// few ops, appends `gradients(of:wrt:)` for every f32 input, and compiles `[loss] + gradients` as one
/// plan on both backends.
@Suite(.serialized) struct GradientConformanceTests {
    static let backend = OpenCLBackend(context: TestDevice.context)

    /// `Σ_i sum(outputs[i] ⊙ R_i)` and its gradients with respect to the f32 inputs.
    static func lossAndGradients(_ inputs: [Tensor], _ outputs: [Tensor]) throws -> [Tensor] {
        var rng = XorShiftRandom(seed: 99)
        var loss: Tensor?
        for out in outputs {
            let n = out.shape.count
            let r = try out.graph.constant(rng.uniformArray(count: n, lo: -1, hi: 1), shape: [n])
            let term = try (out.reshape([n]) * r).sum(axis: 0)
            loss = try loss.map { try $0 + term } ?? term
        }
        return try [loss!] + gradients(of: loss!, wrt: inputs.filter { $0.dtype == .f32 })
    }

    static func gradientCase(_ op: String, _ label: String, _ inputs: [ConformanceInput],
                             _ body: @escaping @Sendable ([Tensor]) throws -> [Tensor]) -> ConformanceCase {
        ConformanceCase(op: op, label: label, nmseBound: 1e-7, inputs: inputs) { try lossAndGradients($0, body($0)) }
    }

    static let cases: [ConformanceCase] = [
        gradientCase("mlp", "emb [7,4], ctx 3, hidden 9, ignore -1", [
            .init("emb", [7, 4], .uniform(-1, 1)), .init("w1", [9, 12], .uniform(-0.5, 0.5)), .init("b1", [9], .uniform(-0.5, 0.5)),
            .init("w2", [7, 9], .uniform(-0.5, 0.5)), .init("b2", [7], .uniform(-0.5, 0.5)),
            .init("idx", [5, 3], .indices(7)), .init("t", [5], .targets(7, ignore: -1, ignoreFraction: 0.3)),
        ]) { x in
            let e = try embedding(x[0], x[5]).reshape([5, 12])
            let hidden = try linear(e, weight: x[1], bias: x[2]).tanh()
            return [try crossEntropy(logits: linear(hidden, weight: x[3], bias: x[4]), targets: x[6], ignoreIndex: -1)]
        },
        gradientCase("unary", "all ten, [3, 5]", [.init("x", [3, 5], .uniform(0.2, 2)), .init("y", [3, 5], .uniform(-2, 2))]) { x in
            try UnaryOp.allCases.map { op in
                let operand = [.log, .sqrt, .rsqrt].contains(op) ? x[0] : x[1]
                return try x[0].graph.apply(.unary(op), [operand])
            } + [try x[0].pow(1.5), try x[1].pow(2)]
        },
        gradientCase("binary", "broadcast [2,3,5] [5] [3,1]", [
            .init("a", [2, 3, 5], .uniform(-1, 1)), .init("b", [5], .uniform(0.5, 2)), .init("c", [3, 1], .uniform(-1, 1)),
        ]) { x in
            [try x[0] + x[1], try x[2] - x[0], try x[0] * x[2], try x[2] / x[1], try x[0].maximum(x[2]), try x[1].minimum(x[2]),
             try select(x[0].greater(x[2]), x[0], x[1])]
        },
        gradientCase("matmul", "rank 2, all transposes, 7x5x3", [
            .init("a", [7, 5], .uniform(-1, 1)), .init("b", [5, 3], .uniform(-1, 1)),
            .init("at", [5, 7], .uniform(-1, 1)), .init("bt", [3, 5], .uniform(-1, 1)),
        ]) { x in
            [try x[0].matmul(x[1]), try x[0].matmul(x[3], transposeB: true),
             try x[2].matmul(x[1], transposeA: true), try x[2].matmul(x[3], transposeA: true, transposeB: true)]
        },
        gradientCase("matmul", "batched [2,3,..] and shared B, transposes", [
            .init("a", [2, 3, 5, 7], .uniform(-1, 1)), .init("b", [2, 3, 7, 4], .uniform(-1, 1)),
            .init("s", [4, 7], .uniform(-1, 1)), .init("at", [2, 3, 7, 5], .uniform(-1, 1)),
        ]) { x in
            [try x[0].matmul(x[1]), try x[0].matmul(x[2], transposeB: true), try x[3].matmul(x[2], transposeA: true, transposeB: true),
             try x[3].matmul(x[1], transposeA: true)]
        },
        gradientCase("reduce", "sum/mean/max, axes 0, 1, 2, [3, 5, 7]", [.init("x", [3, 5, 7], .uniform(-1, 1))]) { x in
            [try x[0].sum(axis: 0), try x[0].mean(axis: 1, keepDims: true), try x[0].max(axis: 2),
             try x[0].max(axis: 0, keepDims: true), try x[0].sum(axis: -1, keepDims: true), try x[0].mean(axis: 2)]
        },
        gradientCase("softmax", "softmax/logSoftmax axes 0 and last, [5, 7]", [.init("x", [5, 7], .uniform(-2, 2))]) { x in
            [try x[0].softmax(axis: 0), try x[0].softmax(axis: -1), try x[0].logSoftmax(axis: 0), try x[0].logSoftmax(axis: -1)]
        },
        gradientCase("norm", "layerNorm and rmsNorm [2, 3, 13]", [
            .init("x", [2, 3, 13], .uniform(-2, 2)), .init("gain", [13], .uniform(0.5, 1.5)), .init("bias", [13], .uniform(-1, 1)),
        ]) { x in
            [try x[0].layerNorm(gain: x[1], bias: x[2]), try x[0].rmsNorm(gain: x[1])]
        },
        gradientCase("proportionsNorm", "with and without shift, c 4 and 1.5, [2, 3, 13]", [
            .init("x", [2, 3, 13], .uniform(-2, 2)), .init("gain", [13], .uniform(0.5, 1.5)), .init("shift", [13], .uniform(-1, 1)),
        ]) { x in
            [try x[0].proportionsNorm(gain: x[1]), try x[0].proportionsNorm(gain: x[1], shift: x[2], compression: 1.5)]
        },
        gradientCase("layout", "reshape, permute, slice, concat", [
            .init("x", [2, 3, 5], .uniform(-1, 1)), .init("y", [2, 1, 5], .uniform(-1, 1)),
        ]) { x in
            [try x[0].reshape([6, 5]).tanh(), try x[0].permute([2, 0, 1]), try x[0].slice(axis: 1, start: 1, end: 2),
             try x[0].slice(axis: 2, start: 0, end: 3), try concat([x[1], x[0], x[1]], axis: 1)]
        },
        gradientCase("attention", "causal and not, Tq 3 Tk 5, causal Tq 5 Tk 5, [2, ...]", [
            .init("q", [2, 3, 4], .uniform(-1, 1)), .init("k", [2, 5, 4], .uniform(-1, 1)), .init("v", [2, 5, 3], .uniform(-1, 1)),
            .init("q2", [2, 5, 4], .uniform(-1, 1)),
        ]) { x in
            [try attention(q: x[0], k: x[1], v: x[2], causal: true), try attention(q: x[0], k: x[1], v: x[2], causal: false),
             try attention(q: x[3], k: x[1], v: x[2], causal: true, scale: 0.3)]
        },
        gradientCase("attention", "awkward: T 33 D 13 causal, Tq 9 Tk 5 causal (queries that see no key), T 1 D 64", [
            .init("q", [2, 33, 13], .uniform(-1, 1)), .init("k", [2, 33, 13], .uniform(-1, 1)), .init("v", [2, 33, 7], .uniform(-1, 1)),
            .init("q9", [2, 9, 8], .uniform(-1, 1)), .init("k5", [2, 5, 8], .uniform(-1, 1)), .init("v5", [2, 5, 8], .uniform(-1, 1)),
            .init("q1", [3, 1, 64], .uniform(-1, 1)), .init("k1", [3, 1, 64], .uniform(-1, 1)), .init("v1", [3, 1, 64], .uniform(-1, 1)),
        ]) { x in
            [try attention(q: x[0], k: x[1], v: x[2], causal: true), try attention(q: x[3], k: x[4], v: x[5], causal: true),
             try attention(q: x[6], k: x[7], v: x[8], causal: false)]
        },
        gradientCase("block", "pre-norm transformer block B2 T5 C8, 2 heads, tied logits", [
            .init("wte", [11, 8], .uniform(-1, 1)), .init("ln.g", [8], .uniform(0.5, 1.5)), .init("ln.b", [8], .uniform(-0.5, 0.5)),
            .init("qkv", [24, 8], .uniform(-0.5, 0.5)), .init("proj", [8, 8], .uniform(-0.5, 0.5)), .init("rms.g", [8], .uniform(0.5, 1.5)),
            .init("fc", [16, 8], .uniform(-0.5, 0.5)), .init("fc2", [8, 16], .uniform(-0.5, 0.5)),
            .init("idx", [2, 5], .indices(11)), .init("t", [10], .targets(11, ignore: -1, ignoreFraction: 0.2)),
        ]) { x in
            let (b, t, c, heads) = (2, 5, 8, 2)
            let input = try embedding(x[0], x[8])
            let qkv = try linear(input.layerNorm(gain: x[1], bias: x[2]), weight: x[3], bias: nil)
            func head(_ k: Int) throws -> Tensor {
                try qkv.slice(axis: 2, start: k * c, end: (k + 1) * c).reshape([b, t, heads, c / heads]).permute([0, 2, 1, 3])
            }
            let y = try attention(q: head(0), k: head(1), v: head(2), causal: true).permute([0, 2, 1, 3]).reshape([b, t, c])
            let r1 = try input + linear(y, weight: x[4], bias: nil)
            let r2 = try r1 + linear(linear(r1.rmsNorm(gain: x[5]), weight: x[6], bias: nil).gelu(), weight: x[7], bias: nil)
            let logits = try r2.reshape([b * t, c]).matmul(x[0], transposeB: true)
            return [try crossEntropy(logits: logits, targets: x[9], ignoreIndex: -1)]
        },
    ]

    @Test(arguments: cases.indices) func gradientsMatchTheReference(index: Int) throws {
        let c = Self.cases[index]
        var options = CompileOptions()
        options.guardElements = 16
        let result = ConformanceRunner.runOne(c, on: Self.backend, options: options, seed: 4321 &+ UInt64(index))
        print("gradient conformance \(c.op) \(c.label): nmse \(result.nmse)")
        #expect(result.passed, "\(c.op) \(c.label): \(result.error ?? "nmse \(result.nmse) > bound \(result.bound)")")
    }
}
