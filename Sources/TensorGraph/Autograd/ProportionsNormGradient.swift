/// Gradient rule of the proportions norm.

/// y = c·tanh(u/c)·gain (+ shift), u = x/s, s = mean|x| + eps, per row of n values.
///
/// With v = g ⊙ gain ⊙ (1 − tanh²(u/c)) (the gradient of u), and ∂s/∂xᵢ = sign(xᵢ)/n coupling the
/// row: dx = (v − sign(x) ⊙ mean(v ⊙ u)) / s. sign(0) is taken as 0 (|x| has no derivative there;
/// 0 is the subgradient PyTorch's `abs` uses). dgain = Σ_rows g ⊙ c·tanh(u/c); dshift = Σ_rows g.
/// The statistics are recomputed from x.
func proportionsNormGradient(x: Tensor, gain: Tensor, hasShift: Bool, eps: Float, compression c: Float, g: Tensor,
                             needs: [Bool]) throws -> [Tensor?] {
    let s = try x.abs().mean(axis: -1, keepDims: true) + eps
    let u = try x / s
    let t = try (u / c).tanh()
    var dx: Tensor?
    if needs[0] {
        let v = try g * gain * (1 - t * t)
        let sign = try x.greater(0) - x.less(0)
        dx = try (v - sign * (v * u).mean(axis: -1, keepDims: true)) / s
    }
    let dgain = needs[1] ? try (g * t * c).sumToShape(gain.shape) : nil
    var result: [Tensor?] = [dx, dgain]
    if hasShift { result.append(needs[2] ? try g.sumToShape(gain.shape) : nil) }
    return result
}
