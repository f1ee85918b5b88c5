import TensorGraph

/// A short name for an op, for labels and traces.
func opName(_ op: Op) -> String {
    switch op {
    case .input: return "input"
    case .variable: return "variable"
    case .constant: return "constant"
    case .unary(let unary): return unary.rawValue
    case .binary(let binary): return binary.rawValue
    case .powScalar(let p): return "pow\(p)"
    case .compare(let compare): return compare.rawValue
    case .select: return "select"
    case let .matmul(a, b): return "matmul" + (a ? "ᵀ" : "") + (b ? "·ᵀ" : "")
    case .reduce(let kind, let axis, _): return "\(kind.rawValue)[\(axis)]"
    case .softmax: return "softmax"
    case .logSoftmax: return "logSoftmax"
    case .layerNorm: return "layerNorm"
    case .rmsNorm: return "rmsNorm"
    case .proportionsNorm: return "proportionsNorm"
    case .embedding: return "embedding"
    case .reshape: return "reshape"
    case .permute(let axes): return "permute\(axes)"
    case .slice(let axis, let start, let end): return "slice[\(axis): \(start)..<\(end)]"
    case .concat(let axis): return "concat[\(axis)]"
    case .crossEntropy: return "crossEntropy"
    case .attention(let causal, _): return causal ? "attention(causal)" : "attention"
    case .cacheWrite: return "cacheWrite"
    case .cachedAttention: return "cachedAttention"
    case let .attentionGrad(causal, _, operand): return "attentionGrad(\(operand.rawValue)\(causal ? ", causal" : ""))"
    case .embeddingGrad: return "embeddingGrad"
    case .crossEntropyGrad: return "crossEntropyGrad"
    case .dropoutMask(_, let keep, _): return "dropoutMask(keep \(keep))"
    }
}

