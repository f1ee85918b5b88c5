import Foundation
import TensorGraph

/// Builds GPT graphs from ``GPTConfiguration``: the full-sequence forward (training, evaluation,
/// prefill) and the one-token decode step that reads and extends a KV cache on the device.
public enum GPTModel {
    /// The graph of a full-sequence forward pass.
    public struct Forward {
        public let graph: Graph
        /// The module, declared in `graph`.
        public let model: GPT
        /// i32 `[batch, sequence]` input "tokens".
        public let tokens: Tensor
        /// f32 `[batch·sequence, vocabulary]`, row `b·sequence + t` for position t of sequence b.
        public let logits: Tensor
        /// The parameters' variables by name (``GPT``'s parameter names).
        public let parameters: [String: Tensor]
        /// Per layer, keys and values `[batch, heads, sequence, headSize]` (what a KV cache holds).
        public let keys: [Tensor], values: [Tensor]
        /// Per layer, the attention probabilities `[batch, heads, sequence, sequence]`, when asked for.
        public let attentionMaps: [Tensor]
    }

    /// The name of the dropout seed input (i32 `[1]`, a new value every training step).
    public static let dropoutSeedInput = "dropout.seed"

    /// The name of the rotary tables' inputs ("rope.cos", "rope.sin", `[sequence, headSize/2]`).
    public static let ropeInputs = ("rope.cos", "rope.sin")

    /// Builds the forward pass for `batch` sequences of `sequence` tokens (≤ block size).
    /// - Parameters:
    ///   - attentionMaps: compute attention through explicit probabilities and output them
    ///     (for inspection); otherwise the fused attention op, lowered as the plan's options say.
    ///   - weightFormats: weight matrices declared quantized (see ``ModelQuantization``).
    ///   - dropout: training only: the rate of nanoGPT's dropouts (after the embeddings, on each
    ///     block's attention and MLP outputs before the residual add; not inside the fused
    ///     attention), drawn from the ``dropoutSeedInput`` input.
    public static func forward(_ c: GPTConfiguration, batch: Int, sequence: Int, in graph: Graph = Graph(),
                               attentionMaps: Bool = false, weightFormats: [String: QuantFormat] = [:],
                               dropout rate: Float = 0) throws -> Forward {
        try c.validate()
        guard sequence >= 1, sequence <= c.blockSize, batch >= 1 else {
            throw GraphError(op: "gpt", shapes: [[batch, sequence]], expected: "1 ≤ sequence ≤ block size \(c.blockSize)",
                             message: "cannot build a forward pass over \(sequence) positions")
        }
        let model = GPT(c)
        let parameters = try model.declare(in: graph, dtypes: weightFormats.mapValues(\.dtype))
        let tokens = try graph.input("tokens", [batch, sequence], dtype: .i32)
        let rows = batch * sequence
        var x = try model.transformer.tokenEmbedding(tokens).reshape([rows, c.embedding])
        if let wpe = model.transformer.positionEmbedding {
            let positions = try wpe.weight.tensor.slice(axis: 0, start: 0, end: sequence)      // [T, C]
            x = try (x.reshape([batch, sequence, c.embedding]) + positions).reshape([rows, c.embedding])
        }
        let rope = c.positions == .rotary
            ? (try graph.input(ropeInputs.0, [sequence, c.headSize / 2]), try graph.input(ropeInputs.1, [sequence, c.headSize / 2]))
            : nil
        let seed = rate > 0 ? try graph.input(dropoutSeedInput, [1], dtype: .i32) : nil
        var site: UInt32 = 0
        func drop(_ t: Tensor) throws -> Tensor {
            guard let seed else { return t }
            site += 1
            return try dropout(t, rate: rate, seed: seed, salt: site)
        }
        x = try drop(x)
        var keys: [Tensor] = [], values: [Tensor] = [], maps: [Tensor] = []
        for block in model.transformer.blocks {
            let qkv = try block.queriesKeysValues(x)                                                 // [rows, 3C]
            func heads(_ part: Int) throws -> Tensor {
                let h = try qkv.slice(axis: 1, start: part * c.embedding, end: (part + 1) * c.embedding)
                    .reshape([batch, sequence, c.heads, c.headSize]).permute([0, 2, 1, 3])  // [B, H, T, hs]
                guard part < 2, let rope else { return h }
                return try rotate(h, cos: rope.0, sin: rope.1)
            }
            let (q, k, v) = (try heads(0), try heads(1), try heads(2))
            keys.append(k)
            values.append(v)
            let y: Tensor
            if attentionMaps {
                let probabilities = try causalProbabilities(q, k, headSize: c.headSize)
                maps.append(probabilities)
                y = try probabilities.matmul(v)
            } else {
                y = try attention(q: q, k: k, v: v, causal: true)
            }
            let merged = try y.permute([0, 2, 1, 3]).reshape([rows, c.embedding])
            x = try x + drop(block.attention.projection(merged))
            x = try x + drop(block.feedForwardBranch(x))
        }
        let logits = try model.logits(x)
        return Forward(graph: graph, model: model, tokens: tokens, logits: logits,
                       parameters: Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0.tensor) }),
                       keys: keys, values: values, attentionMaps: maps)
    }

    /// The graph of one decode step.
    public struct Decode {
        public let graph: Graph
        /// The module, declared in `graph`.
        public let model: GPT
        /// f32 `[batch, vocabulary]` for the fed token.
        public let logits: Tensor
        /// i32 `[batch]`: each sequence's most likely next token (the arg-max of its logits), the
        /// greedy choice; it has the token input's element count, so a step can chain it on.
        public let greedyTokens: Tensor
        /// The cache writes: each layer's keys and values with the new position filled in.
        public let cacheUpdates: [Assignment]
        /// Cache variable names per layer (keys, values), `[batch, heads, blockSize, headSize]`.
        public let cacheNames: [(keys: String, values: String)]
    }

    /// Names of the decode step's inputs.
    public enum DecodeInput {
        /// i32 `[batch, 1]`: each sequence's token at its current position.
        public static let token = "decode.token"
        /// i32 `[batch]`: each sequence's current position (the cache row its keys and values go to;
        /// it attends to rows `0...position`).
        public static let positions = "decode.positions"
    }

    /// Builds one decode step for `batch` sequences, each at its own position: embeds the tokens,
    /// writes their keys and values into row `position` of each layer's cache (a variable that the
    /// plan updates in place, ``cacheWrite(_:rows:positions:)``), attends over cache rows
    /// `0...position` (``cachedAttention(q:keys:values:positions:scale:)``) and returns the
    /// next-token logits. Past tokens are never recomputed; the cache length is the block size.
    /// With rotary positions the tables are inputs `[batch, 1, 1, headSize/2]` (``decodeFeeds``).
    public static func decode(_ c: GPTConfiguration, batch: Int = 1, in graph: Graph = Graph(),
                              weightFormats: [String: QuantFormat] = [:]) throws -> Decode {
        try c.validate()
        let model = GPT(c)
        try model.declare(in: graph, dtypes: weightFormats.mapValues(\.dtype))
        let token = try graph.input(DecodeInput.token, [batch, 1], dtype: .i32)
        let positions = try graph.input(DecodeInput.positions, [batch], dtype: .i32)
        var x = try model.transformer.tokenEmbedding(token).reshape([batch, c.embedding])
        if let wpe = model.transformer.positionEmbedding {
            x = try x + wpe(positions)                                                         // [B, C]
        }
        let rope = c.positions == .rotary
            ? (try graph.input(ropeInputs.0, [batch, 1, 1, c.headSize / 2]), try graph.input(ropeInputs.1, [batch, 1, 1, c.headSize / 2]))
            : nil
        var updates: [Assignment] = [], names: [(String, String)] = []
        for (layer, block) in model.transformer.blocks.enumerated() {
            let qkv = try block.queriesKeysValues(x)                                                 // [B, 3C]
            func heads(_ part: Int) throws -> Tensor {
                let h = try qkv.slice(axis: 1, start: part * c.embedding, end: (part + 1) * c.embedding)
                    .reshape([batch, c.heads, 1, c.headSize])
                guard part < 2, let rope else { return h }
                return try rotate(h, cos: rope.0, sin: rope.1)
            }
            let (q, k, v) = (try heads(0), try heads(1), try heads(2))
            let cacheShape: Shape = [batch, c.heads, c.blockSize, c.headSize]
            let (keyName, valueName) = ("cache/\(layer).keys", "cache/\(layer).values")
            let cachedKeys = try graph.variable(keyName, cacheShape), cachedValues = try graph.variable(valueName, cacheShape)
            let keys = try cacheWrite(cachedKeys, rows: k, positions: positions)
            let values = try cacheWrite(cachedValues, rows: v, positions: positions)
            updates += [try Assignment(cachedKeys, keys), try Assignment(cachedValues, values)]
            names.append((keyName, valueName))
            let y = try cachedAttention(q: q, keys: keys, values: values, positions: positions).reshape([batch, c.embedding])
            x = try x + block.attention.projection(y)
            x = try x + block.feedForwardBranch(x)
        }
        let logits = try model.logits(x)
        return Decode(graph: graph, model: model, logits: logits, greedyTokens: try logits.argmax(), cacheUpdates: updates,
                      cacheNames: names)
    }

    /// The feeds of one decode step: each sequence's token and position (and, with rotary
    /// positions, the tables for those positions).
    public static func decodeFeeds(_ c: GPTConfiguration, tokens: [Int32], positions: [Int]) -> [String: TensorData] {
        let batch = tokens.count
        var feeds: [String: TensorData] = [
            DecodeInput.token: TensorData(shape: [batch, 1], ints: tokens),
            DecodeInput.positions: TensorData(shape: [batch], ints: positions.map { Int32($0) }),
        ]
        if c.positions == .rotary {
            var cosines: [Float] = [], sines: [Float] = []
            for position in positions {
                let (cos, sin) = ropeTables(c, start: position, count: 1)
                cosines += cos.floats
                sines += sin.floats
            }
            let shape: Shape = [batch, 1, 1, c.headSize / 2]
            feeds[ropeInputs.0] = TensorData(shape: shape, floats: cosines)
            feeds[ropeInputs.1] = TensorData(shape: shape, floats: sines)
        }
        return feeds
    }

    /// The rotary tables for positions `start ..< start + count`: cos and sin of `position · θᵢ`,
    /// θᵢ = 10000^(−2i/headSize), each `[count, headSize/2]`.
    public static func ropeTables(_ c: GPTConfiguration, start: Int = 0, count: Int) -> (cos: TensorData, sin: TensorData) {
        let half = c.headSize / 2
        var cosines = [Float](), sines = [Float]()
        for position in start..<(start + count) {
            for i in 0..<half {
                let angle = Double(position) * Foundation.pow(10_000, -2 * Double(i) / Double(c.headSize))
                cosines.append(Float(Foundation.cos(angle)))
                sines.append(Float(Foundation.sin(angle)))
            }
        }
        return (TensorData(shape: [count, half], floats: cosines), TensorData(shape: [count, half], floats: sines))
    }

    // MARK: pieces

    /// Half rotation of `x` `[..., T, hs]` by the tables `[T, hs/2]`: (x₁, x₂) → (x₁cos − x₂sin, x₁sin + x₂cos).
    static func rotate(_ x: Tensor, cos: Tensor, sin: Tensor) throws -> Tensor {
        let half = x.shape[-1] / 2, axis = x.shape.rank - 1
        let x1 = try x.slice(axis: axis, start: 0, end: half), x2 = try x.slice(axis: axis, start: half, end: 2 * half)
        return try concat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], axis: axis)
    }

    /// softmax(q·kᵀ/√hs + causal mask) `[B, H, T, T]`, the probabilities the fused op never materialises.
    static func causalProbabilities(_ q: Tensor, _ k: Tensor, headSize: Int) throws -> Tensor {
        let t = q.shape[-2]
        let mask = try q.graph.constant(causalMaskValues(queries: t, keys: t), shape: [t, t])
        return try (q.matmul(k, transposeB: true) * defaultAttentionScale(headSize: headSize) + mask).softmax(axis: -1)
    }
}
