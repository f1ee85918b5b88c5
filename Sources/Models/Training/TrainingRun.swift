import TensorGraph

/// What a training loop drives: steps, their losses and the weights, whether one plan does the
/// whole step (``StepTrainer``) or ranks exchange gradients between backward and update
/// (``GPTDataParallelTrainer``).
public protocol TrainingRun: AnyObject {
    /// Steps completed (the next step is `step + 1`).
    var step: Int { get }
    /// The learning rate of the next step.
    var learningRate: Float { get }
    /// Starts the next step; its loss is added to the sum read by ``takeLossSum()``.
    func enqueueStep() throws
    /// Waits for the started steps and returns the sum of their losses since the last call, resetting it.
    func takeLossSum() throws -> Double
    /// The current weights, by name.
    func parameters() throws -> [String: TensorData]
    /// The AdamW moments, named without the `optimizer/` prefix (as checkpoints store them).
    func optimizerState() throws -> [String: TensorData]
}
