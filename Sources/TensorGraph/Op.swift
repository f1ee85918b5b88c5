/// Identifies a node within one ``Graph``: its position in ``Graph/nodes``.
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Position in ``Graph/nodes``.
    public let index: Int
    /// Creates an ID for position `index`.
    public init(index: Int) { self.index = index }
    public static func < (a: NodeID, b: NodeID) -> Bool { a.index < b.index }
    /// `"%3"`.
    public var description: String { "%\(index)" }
}

/// Elementwise functions of one tensor.
///
/// Non-finite values follow IEEE arithmetic and the limits of the math: NaN in gives NaN out for
/// every op, `exp(−∞) = 0`, `exp(+∞) = +∞`, `log(0) = −∞`, `log(x < 0) = NaN`, `rsqrt(0) = +∞`,
/// `tanh(±∞) = ±1`, `sigmoid(±∞) = 1 / 0`, `gelu(+∞) = +∞`, `gelu(−∞) = 0`.
public enum UnaryOp: String, Hashable, Sendable, CaseIterable {
    /// `-x`
    case neg
    /// `eˣ`
    case exp
    /// natural logarithm
    case log
    /// `√x`
    case sqrt
    /// `1/√x`
    case rsqrt
    /// hyperbolic tangent
    case tanh
    /// `max(x, 0)`; `relu(NaN) = NaN` (NaN propagates, as in PyTorch; it is not a number below 0)
    case relu
    /// GELU, tanh form: `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`; `gelu(−∞) = 0` (the limit:
    /// the formula itself is −∞·0 there)
    case gelu
    /// `1/(1 + e⁻ˣ)`
    case sigmoid
    /// `|x|`
    case abs
}

/// Elementwise functions of two tensors, with numpy broadcasting.
///
/// IEEE arithmetic throughout (`x/0 = ±∞`, `0/0 = NaN`, `∞ − ∞ = NaN`). `maximum` and `minimum`
/// return NaN when either operand is NaN (as PyTorch's `maximum`/`minimum`, not C's `fmax`, which
/// drops a NaN operand).
public enum BinaryOp: String, Hashable, Sendable, CaseIterable {
    case add, sub, mul, div, maximum, minimum
}

/// Elementwise comparisons, with broadcasting; the result is f32 1 (true) or 0 (false).
/// IEEE: every comparison with a NaN operand is false except `notEqual`, which is true.
public enum CompareOp: String, Hashable, Sendable, CaseIterable {
    case less, lessEqual, greater, greaterEqual, equal, notEqual
}

/// The operand of ``Op/attention(causal:scale:)`` whose gradient an
/// ``Op/attentionGrad(causal:scale:operand:)`` node computes.
public enum AttentionOperand: String, Hashable, Sendable, CaseIterable {
    /// q: the result is shaped `[..., Tq, D]`.
    case query
    /// k: the result is shaped `[..., Tk, D]`.
    case key
    /// v: the result is shaped `[..., Tk, Dv]`.
    case value
}

/// The operand of ``Op/layerNorm(eps:)`` whose gradient a ``Op/layerNormGrad(eps:operand:)`` node
/// computes.
public enum LayerNormOperand: String, Hashable, Sendable, CaseIterable {
    /// x: the result is shaped like x.
    case input
    /// The gain: the result is `[C]`.
    case gain
    /// The bias (shift): the result is `[C]`.
    case bias
}

/// Reductions along one axis.
///
/// `sum` and `mean` follow IEEE addition (a NaN, or +∞ and −∞ together, give NaN). `max` of a run
/// holding a NaN is NaN (NaN propagates; it is not skipped as `fmax` would); otherwise ±∞ are
/// ordinary values.
public enum ReduceOp: String, Hashable, Sendable, CaseIterable {
    case sum, mean, max
}

/// The operation a ``Node`` computes from its inputs.
///
/// Axes stored in an `Op` are always normalised to `0..<rank` of the (first) input.
public enum Op: Hashable, Sendable {
    /// A value fed on every run, by name.
    case input(name: String)
    /// Persistent plan state (weights), set with ``Plan/setVariable(_:_:)``.
    case variable(name: String)
    /// f32 data of the node's shape (count 1 = scalar, or one value to repeat).
    case constant([Float])
    /// Elementwise function of one input.
    case unary(UnaryOp)
    /// Elementwise function of two inputs, numpy broadcasting.
    case binary(BinaryOp)
    /// `x^p` elementwise, IEEE `pow`, except that `p = 0.5` and `p = −0.5` are `sqrt(x)` and
    /// `1/sqrt(x)`: `(−∞)^0.5` is NaN there (IEEE `pow` gives +∞) and `(−0)^0.5` is −0.
    case powScalar(Float)
    /// Broadcasting comparison; result f32 1 or 0.
    case compare(CompareOp)
    /// `select(cond, a, b)`: `cond != 0 ? a : b`, broadcasting all three (a NaN condition is not 0:
    /// it selects `a`).
    case select
    /// A `[..., M, K]` (or `[..., K, M]` if `transposeA`) · B `[..., K, N]` (or `[..., N, K]` if `transposeB`).
    /// Batch dimensions must be equal, or B has rank 2 and is shared by all batches.
    case matmul(transposeA: Bool, transposeB: Bool)
    /// Reduction along `axis` (normalised).
    case reduce(ReduceOp, axis: Int, keepDims: Bool)
    /// Softmax along `axis` (normalised), computed as `exp(x − max) / Σ exp(x − max)`, and IEEE
    /// through that formula: a run holding a NaN or a +∞ is NaN throughout (`∞ − ∞`, as PyTorch
    /// gives), a −∞ entry is 0 when the run has a finite value, and a run of −∞ only is NaN.
    case softmax(axis: Int)
    /// Log-softmax along `axis` (normalised): `x − max − log Σ exp(x − max)`, with the non-finite
    /// rule of ``softmax(axis:)`` (a −∞ entry gives −∞).
    case logSoftmax(axis: Int)
    /// Inputs x `[..., C]`, gain `[C]`, bias `[C]`; normalises over the last axis with the biased variance.
    /// A NaN or ±∞ in a row makes the whole row NaN (its mean or variance is NaN or ∞ − ∞); a NaN or
    /// ±∞ gain or bias column is NaN or ±∞ in that column (IEEE through `(x − mean)·rsqrt(var + eps)·g + b`).
    case layerNorm(eps: Float)
    /// Inputs x `[..., C]`, gain `[C]`: `x · rsqrt(mean(x²) + eps) · gain`. A NaN in a row makes it
    /// NaN; a ±∞ makes `rsqrt(∞) = 0`, so finite entries give ±0 and the ±∞ entry `∞·0 = NaN`.
    case rmsNorm(eps: Float)
    /// Inputs x `[..., C]`, gain `[C]` and optionally shift `[C]`: the "proportions" norm
    /// `c·tanh(u/c) · gain (+ shift)` with `u = x / (mean|x| + eps)` over the last axis, `c` the
    /// `compression`. No centring: the ratios between a row's values survive the scaling, and
    /// `c·tanh(u/c)` (slope 1 at 0) compresses magnitudes beyond ~c softly instead of clipping.
    /// A NaN in a row makes it NaN; a ±∞ makes `mean|x| = ∞`, so finite entries give ±0·gain and
    /// the ±∞ entry `∞/∞ = NaN`; a NaN or ±∞ gain / shift column is NaN or ±∞ in that column
    /// (IEEE through the formula; `0·∞ = NaN` where u is 0).
    case proportionsNorm(eps: Float, compression: Float)
    /// Inputs table `[V, C]` f32, indices i32 `[...]` → `[..., C]`.
    case embedding
    /// Same data, new shape (fully resolved, no -1).
    case reshape(Shape)
    /// Output axis `i` is input axis `axes[i]`.
    case permute([Int])
    /// Half-open range `start..<end` along `axis` (normalised).
    case slice(axis: Int, start: Int, end: Int)
    /// Concatenation of any number of inputs along `axis` (normalised).
    case concat(axis: Int)
    /// Logits `[N, C]` f32, targets `[N]` i32 → `[]`: mean of `-log softmax(logits)[target]`
    /// over rows whose target is not `ignoreIndex` (0 when there are none). Each row's term is
    /// `max + log Σ exp(x − max) − x[target]` in IEEE arithmetic: a NaN or +∞ logit in a counted row
    /// makes the loss NaN, a −∞ target logit makes it +∞, other −∞ logits contribute 0.
    case crossEntropy(ignoreIndex: Int32?)
    /// q `[..., Tq, D]`, k `[..., Tk, D]`, v `[..., Tk, Dv]` → `[..., Tq, Dv]`:
    /// `softmax(scale · q·kᵀ + mask) · v`. When `causal`, query `i` sees keys `j <= i + (Tk - Tq)`
    /// (aligned at the end, as with a KV cache); a query that sees no key (only when Tq > Tk)
    /// averages all values uniformly, exactly as the decomposed form with its -1e30 mask does.
    /// Non-finite values follow the softmax rule of ``softmax(axis:)`` over each query's visible
    /// scores: a NaN or +∞ score (from a NaN or ±∞ in q or a visible key) makes the query's output
    /// row NaN; a −∞ score weighs 0; a NaN or ±∞ value entry reaches the outputs that weigh it.
    /// Masked keys never enter the arithmetic, so a non-finite masked key or value changes nothing.
    /// (The OpenCL backend's unfused lowering, a masked softmax then a matmul by v, multiplies the
    /// masked probabilities, 0, by the value rows: there a NaN or ±∞ in a value row that a query
    /// masks makes that query's output row NaN. The fused kernels follow the rule.)
    case attention(causal: Bool, scale: Float)
    /// A KV-cache append: cache `[B, H, L, D]`, rows `[B, H, 1, D]`, positions i32 `[B]` →
    /// `[B, H, L, D]`, the cache with row `positions[b]` of every head of sequence `b` replaced by
    /// `rows[b, h]`. A position outside `0..<L` is an error (``PlanError/indexOutOfRange(op:index:bound:)``).
    /// When the result is assigned back to the cache variable, a backend may write the rows in place.
    case cacheWrite
    /// Attention over a KV cache's filled prefix: q `[B, H, Tq, D]`, keys `[B, H, L, D]`, values
    /// `[B, H, L, Dv]`, positions i32 `[B]` → `[B, H, Tq, Dv]`. Query `i` of sequence `b` sits at
    /// position `p = positions[b] − (Tq − 1) + i` and sees keys `0...p` (cache rows after it are
    /// never read); `positions[b]` must lie in `Tq − 1 ..< L`. Non-finite values follow
    /// ``attention(causal:scale:)``'s rule over the visible keys.
    case cachedAttention(scale: Float)
    /// The backward of ``attention(causal:scale:)`` for one operand: q, k, v, y (the attention's
    /// output `[..., Tq, Dv]`), dy (the gradient of y) → the gradient of q, k or v per `operand`,
    /// shaped like it. With p = softmax(scale·q·kᵀ + mask) recomputed from q and k,
    /// Δᵢ = Σ_c dyᵢ_c·yᵢ_c (which is Σⱼ pᵢⱼ·(dy·vᵀ)ᵢⱼ when y is the attention of q, k, v) and
    /// ds = p ⊙ (dy·vᵀ − Δ): dq = scale·ds·k, dk = scale·dsᵀ·q, dv = pᵀ·dy. A query that sees no key
    /// (causal with Tq > Tk) has p = 1/Tk on every key, as the forward, and ds = 0: its output does
    /// not depend on q or k. The nodes of one attention (same operands and parameters) are computed
    /// together where the backend can (one fused launch writing dq, dk and dv).
    case attentionGrad(causal: Bool, scale: Float, operand: AttentionOperand)
    /// The backward of ``layerNorm(eps:)`` for one operand: x `[..., C]`, gain `[C]`, dy (the gradient
    /// of the output, shaped like x) → the gradient of x, the gain or the bias per `operand`. Per row,
    /// with x̂ = (x − μ)·r, r = 1/√(σ² + eps) recomputed from x and d x̂ = dy ⊙ gain:
    /// dx = r·(d x̂ − mean(d x̂) − x̂·mean(d x̂ ⊙ x̂)); dgain = Σ_rows dy ⊙ x̂; dbias = Σ_rows dy. The
    /// nodes of one layer norm (same operands) are computed together where the backend can.
    case layerNormGrad(eps: Float, operand: LayerNormOperand)
    /// The backward of ``embedding``: indices i32 `[...]`, upstream gradient `[..., C]` → `[vocabularySize, C]`,
    /// row `v` the sum of the gradient rows whose index is `v` (a scatter-add; rows never indexed are 0).
    case embeddingGrad(vocabularySize: Int)
    /// The backward of ``crossEntropy(ignoreIndex:)`` fused with its softmax: logits `[N, C]`, targets i32 `[N]`,
    /// upstream gradient `[]` → `[N, C]`: `(softmax(logits) − onehot(target)) · g / count` on rows whose
    /// target is not `ignoreIndex` (count = how many such rows), 0 on ignored rows.
    case crossEntropyGrad(ignoreIndex: Int32?)
    /// A dropout mask: seed i32 `[1]` → f32 `shape`, element `i` = `1/keep` when
    /// ``DropoutMask/keeps(seed:salt:index:threshold:)`` keeps it (probability `keep`), else 0.
    /// A counter-based hash of (seed, salt, i): the same on every backend, so a device run matches
    /// the reference bit for bit; a new seed per step gives new masks, `salt` tells apart the
    /// masks of one graph.
    case dropoutMask(shape: Shape, keep: Float, salt: UInt32)
    /// The index of the largest element along the last axis: f32 `[..., N]` → i32 `[...]`. Ties
    /// give the first index; a NaN counts as larger than every number (the first NaN wins), as in
    /// NumPy and PyTorch. Greedy decoding picks its next token with it on the device.
    case argmax

    /// A short name for messages and traces: `"add"`, `"matmul"`, `"softmax"`, …
    public var name: String {
        switch self {
        case .input: return "input"
        case .variable: return "variable"
        case .constant: return "constant"
        case .unary(let u): return u.rawValue
        case .binary(let b): return b.rawValue
        case .powScalar: return "pow"
        case .compare(let c): return c.rawValue
        case .select: return "select"
        case .matmul: return "matmul"
        case .reduce(let r, _, _): return r.rawValue
        case .softmax: return "softmax"
        case .logSoftmax: return "logSoftmax"
        case .layerNorm: return "layerNorm"
        case .rmsNorm: return "rmsNorm"
        case .proportionsNorm: return "proportionsNorm"
        case .embedding: return "embedding"
        case .reshape: return "reshape"
        case .permute: return "permute"
        case .slice: return "slice"
        case .concat: return "concat"
        case .crossEntropy: return "crossEntropy"
        case .attention: return "attention"
        case .cacheWrite: return "cacheWrite"
        case .cachedAttention: return "cachedAttention"
        case .attentionGrad: return "attentionGrad"
        case .layerNormGrad: return "layerNormGrad"
        case .embeddingGrad: return "embeddingGrad"
        case .crossEntropyGrad: return "crossEntropyGrad"
        case .dropoutMask: return "dropoutMask"
        case .argmax: return "argmax"
        }
    }

    /// The name with the parameters that tell apart ops of one kind, for plan labels and traces:
    /// `"matmulᵀ"`, `"sum[1]"`, `"slice[0: 2..<5]"`, `"attention(causal)"`, …
    public var label: String {
        switch self {
        case .powScalar(let p): return "pow\(p)"
        case let .matmul(a, b): return name + (a ? "ᵀ" : "") + (b ? "·ᵀ" : "")
        case .reduce(_, let axis, _): return "\(name)[\(axis)]"
        case .permute(let axes): return "\(name)\(axes)"
        case .slice(let axis, let start, let end): return "\(name)[\(axis): \(start)..<\(end)]"
        case .concat(let axis): return "\(name)[\(axis)]"
        case .attention(let causal, _): return causal ? "\(name)(causal)" : name
        case let .attentionGrad(causal, _, operand): return "\(name)(\(operand.rawValue)\(causal ? ", causal" : ""))"
        case .dropoutMask(_, let keep, _): return "\(name)(keep \(keep))"
        case .layerNormGrad(_, let operand): return "\(name)(\(operand.rawValue))"
        default: return name
        }
    }

    /// True for ops that compute each output element from the same-position elements of their
    /// (broadcast) inputs: unary, binary, powScalar, compare, select.
    public var isElementwise: Bool {
        switch self {
        case .unary, .binary, .powScalar, .compare, .select: return true
        default: return false
        }
    }
}

/// One operation in a ``Graph``, with its inferred shape and dtype.
public struct Node: Sendable {
    /// Its position in the graph.
    public let id: NodeID
    /// What it computes.
    public let op: Op
    /// Its operands, all earlier in the graph.
    public let inputs: [NodeID]
    /// The shape of its result.
    public let shape: Shape
    /// The element type of its result.
    public let dtype: DType

    /// Creates a node; normally done by ``Graph``'s builders.
    public init(id: NodeID, op: Op, inputs: [NodeID], shape: Shape, dtype: DType) {
        self.id = id; self.op = op; self.inputs = inputs; self.shape = shape; self.dtype = dtype
    }
}
