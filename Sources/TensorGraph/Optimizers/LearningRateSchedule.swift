import Foundation

/// The learning rate as a function of the step (counting from 0), evaluated on the host and fed
/// to the plan each step.
public enum LearningRateSchedule: Sendable, Hashable {
    /// The same rate every step.
    case constant(Float)
    /// Linear warm-up from 0 to `peak` over `warmup` steps, then cosine decay from `peak` to `final`
    /// at step `steps` (and `final` after it). With `warmup` 0 this is PyTorch's `CosineAnnealingLR`
    /// with `eta_min = final`, `T_max = steps`.
    case cosine(peak: Float, final: Float, steps: Int, warmup: Int)

    /// The rate at `step`.
    public func rate(atStep step: Int) -> Float {
        switch self {
        case .constant(let rate):
            return rate
        case .cosine(let peak, let final, let steps, let warmup):
            if step < warmup { return peak * Float(step + 1) / Float(warmup) }
            guard steps > warmup, step < steps else { return step >= steps ? final : peak }
            let progress = Double(step - warmup) / Double(steps - warmup)
            return Float(Double(final) + 0.5 * Double(peak - final) * (1 + cos(Double.pi * progress)))
        }
    }
}
