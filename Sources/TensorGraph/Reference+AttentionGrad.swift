import Foundation

extension ReferenceOps {
    /// ``Op/attentionGrad(causal:scale:operand:)`` in Double: per problem, p recomputed row by row
    /// (max-subtracted softmax over the visible keys, uniform 1/Tk for a query that sees none),
    /// Δᵢ = Σ_c dyᵢ_c·yᵢ_c, dsᵢⱼ = pᵢⱼ·(dyᵢ·vⱼ − Δᵢ) (0 for a query that sees no key), then the
    /// requested one of dq = scale·ds·k, dk = scale·dsᵀ·q, dv = pᵀ·dy.
    static func attentionGrad(q: TensorData, k: TensorData, v: TensorData, y: TensorData, dy: TensorData,
                              causal: Bool, scale: Float, operand: AttentionOperand) -> TensorData {
        let tq = q.shape[-2], d = q.shape[-1], tk = k.shape[-2], dv = v.shape[-1]
        let batches = tq * d == 0 ? 0 : q.shape.count / (tq * d)
        let qs = q.floats, ks = k.floats, vs = v.floats, ys = y.floats, dys = dy.floats
        let shape = operand == .query ? q.shape : (operand == .key ? k.shape : v.shape)
        var result = [Double](repeating: 0, count: shape.count)
        var p = [Double](repeating: 0, count: tk)
        let s = Double(scale)
        for b in 0..<batches where tk > 0 {
            let qo = b * tq * d, ko = b * tk * d, vo = b * tk * dv, yo = b * tq * dv
            let ro = operand == .query ? qo : (operand == .key ? ko : vo)
            for i in 0..<tq {
                var last = causal ? i + (tk - tq) : tk - 1
                let unseen = last < 0
                if unseen { last = tk - 1 }
                var m = -Double.infinity
                for j in 0...last {
                    var dot = 0.0
                    for e in 0..<d { dot += Double(qs[qo + i * d + e]) * Double(ks[ko + j * d + e]) }
                    p[j] = unseen ? 0 : dot * s
                    m = nanMax(m, p[j])
                }
                var sum = 0.0
                for j in 0...last { p[j] = Foundation.exp(p[j] - m); sum += p[j] }
                for j in 0...last { p[j] /= sum }
                if operand == .value {
                    for j in 0...last {
                        for c in 0..<dv { result[ro + j * dv + c] += p[j] * Double(dys[yo + i * dv + c]) }
                    }
                    continue
                }
                if unseen { continue }   // ds = 0: the row's output does not depend on q or k
                var delta = 0.0
                for c in 0..<dv { delta += Double(dys[yo + i * dv + c]) * Double(ys[yo + i * dv + c]) }
                for j in 0...last {
                    var dp = 0.0
                    for c in 0..<dv { dp += Double(dys[yo + i * dv + c]) * Double(vs[vo + j * dv + c]) }
                    let ds = p[j] * (dp - delta) * s
                    if operand == .query {
                        for e in 0..<d { result[ro + i * d + e] += ds * Double(ks[ko + j * d + e]) }
                    } else {
                        for e in 0..<d { result[ro + j * d + e] += ds * Double(qs[qo + i * d + e]) }
                    }
                }
            }
        }
        return TensorData(shape: shape, floats: result.map { Float($0) })
    }
}
