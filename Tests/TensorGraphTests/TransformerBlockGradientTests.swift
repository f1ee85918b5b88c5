import Testing
import TensorGraph

/// One pre-norm transformer block (the GPT's next user of autograd) end to end against finite differences.
@Suite struct TransformerBlockGradientTests {
    /// x [B=1, T=3, C=4], 2 heads of 2: ln → qkv linear → split heads (reshape/permute/slice) → causal
    /// attention → merge → projection → residual → ln → gelu MLP → residual → logits → crossEntropy.
    static func block(_ x: [Tensor]) throws -> Tensor {
        let (b, t, c, heads) = (1, 3, 4, 2)
        let h = c / heads
        let input = try embedding(x[0], x[9])                                     // [1, 3, 4]
        let n1 = try input.layerNorm(gain: x[1], bias: x[2])
        let qkv = try linear(n1, weight: x[3], bias: nil)                         // [1, 3, 12]
        func head(_ k: Int) throws -> Tensor {
            try qkv.slice(axis: 2, start: k * c, end: (k + 1) * c).reshape([b, t, heads, h]).permute([0, 2, 1, 3])
        }
        let y = try attention(q: head(0), k: head(1), v: head(2), causal: true)   // [1, 2, 3, 2]
        let merged = try y.permute([0, 2, 1, 3]).reshape([b, t, c])
        let r1 = try input + linear(merged, weight: x[4], bias: x[5])
        let mlp = try linear(linear(r1.rmsNorm(gain: x[6]), weight: x[7], bias: nil).gelu(), weight: x[8], bias: nil)
        let r2 = try r1 + mlp
        let logits = try r2.reshape([b * t, c]).matmul(x[0], transposeB: true)    // tied output weights [3, 5]
        return try crossEntropy(logits: logits, targets: x[10])
    }

    @Test func preNormBlock() throws {
        try checkGradients("transformer block", [
            .f32("wte", [5, 4], -1, 1), .f32("ln.g", [4], 0.5, 1.5), .f32("ln.b", [4], -0.5, 0.5),
            .f32("qkv", [12, 4], -0.7, 0.7), .f32("proj", [4, 4], -0.7, 0.7), .f32("proj.b", [4], -0.5, 0.5),
            .f32("rms.g", [4], 0.5, 1.5), .f32("fc", [8, 4], -0.7, 0.7), .f32("fc2", [4, 8], -0.7, 0.7),
            .fixed("idx", ints([1, 3], [4, 1, 4])), .fixed("t", ints([3], [1, 4, 0])),
        ], h: 3e-3) { try Self.block($0) }
    }
}
