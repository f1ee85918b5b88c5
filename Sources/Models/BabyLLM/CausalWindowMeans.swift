import TensorGraph

/// How ``causalWindowMeans(_:windows:weights:method:)`` computes its output; both give the same
/// numbers (up to float rounding) and the same gradients.
public enum WindowMeanMethod: String, Codable, Sendable, CaseIterable {
    /// One `[T, T]` mixing matrix `M = Σ_w p_w · B_w` from constant band matrices (`B_w[t, s] =
    /// 1/min(w, t+1)` for `t − w < s ≤ t`), applied along time as one matrix product: `O(T²)` per row.
    case band
    /// Prefix sums over time by log-step doubling (`S += S` shifted by 1, 2, 4, …: ⌈log₂ T⌉
    /// pad-and-add steps), a window's sum as `S[t] − S[t−w]`, divided by `min(w, t+1)`:
    /// `O(T·(log T + windows))` per row, in many small elementwise ops.
    case cumulativeSum = "cumsum"

    /// The method models use unless told otherwise: the faster on the OpenCL backend at the
    /// training shapes (see the README's babyLLM timing).
    public static let `default` = WindowMeanMethod.band
}

/// The learned mix of causal windowed means along time: for `x` `[batch, T, channels]`,
/// `out[b, t, c] = Σ_w weights[w] · mean(x[b, max(0, t−w+1) … t, c])`; a window longer than the
/// positions up to `t` averages all of them, so early positions are never divided by missing ones.
/// Time stays the middle axis (the layout the neuron layer writes), so neither method moves data.
/// - Parameters:
///   - x: f32 `[batch, T, channels]`.
///   - windows: window lengths in tokens, each ≥ 1 (longer than `T` is allowed).
///   - weights: f32 `[windows.count]`, the mixing weights (a softmax of learned logits in ``BabyLLM``);
///     gradients reach them and `x` through either method.
/// - Throws: ``GraphError`` naming `causalWindowMeans` and the shapes when they do not fit.
public func causalWindowMeans(_ x: Tensor, windows: [Int], weights: Tensor,
                              method: WindowMeanMethod = .default) throws -> Tensor {
    guard x.shape.rank == 3, weights.shape == Shape([windows.count]), !windows.isEmpty, windows.allSatisfy({ $0 > 0 }) else {
        throw GraphError(op: "causalWindowMeans", shapes: [x.shape, weights.shape],
                         expected: "x [batch, T, channels], weights [\(windows.count)] (one per window), window lengths ≥ 1",
                         message: "windows \(windows)")
    }
    let (batch, t, channels) = (x.shape[0], x.shape[1], x.shape[2])
    let graph = x.graph
    switch method {
    case .band:
        var bands = [Float](repeating: 0, count: windows.count * t * t)
        for (k, w) in windows.enumerated() {
            for i in 0..<t {
                let count = min(w, i + 1)
                for s in (i - count + 1)...i { bands[(k * t + i) * t + s] = 1 / Float(count) }
            }
        }
        let mixing = try weights.reshape([1, windows.count])
            .matmul(try graph.constant(bands, shape: [windows.count, t * t])).reshape([1, t, t])   // M[t, s]
        // A batched product takes equal batch dimensions: M repeated per sequence (B·T² numbers).
        return try (graph.constant(0, shape: [batch, t, t]) + mixing).matmul(x)                    // Σ_s M[t, s]·x[b, s, c]
    case .cumulativeSum:
        // `s` moved `k` positions later in time, zeros in front.
        func delayed(_ s: Tensor, by k: Int) throws -> Tensor {
            try concat([graph.constant(0, shape: [batch, k, channels]), s.slice(axis: 1, start: 0, end: t - k)], axis: 1)
        }
        var prefix = x
        var step = 1
        while step < t {
            prefix = try prefix + delayed(prefix, by: step)
            step *= 2
        }
        var out: Tensor?
        for (k, w) in windows.enumerated() {
            let sums = w >= t ? prefix : try prefix - delayed(prefix, by: w)
            let scale = try graph.constant((0..<t).map { 1 / Float(min(w, $0 + 1)) }, shape: [t, 1])
                * weights.slice(axis: 0, start: k, end: k + 1)
            let term = try sums * scale
            out = try out.map { try $0 + term } ?? term
        }
        return out!
    }
}
