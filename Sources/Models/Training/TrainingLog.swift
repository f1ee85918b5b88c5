import Foundation

/// One line of a training log, in the reference's shape so runs compare line by line:
/// `step N | train_loss X | val_loss Y | lr Z | ms/step W`.
public struct TrainingLogLine: Sendable, Equatable, Codable {
    public var step: Int
    /// Mean of the training batch losses since the previous line.
    public var trainLoss: Double
    /// Loss of the validation split, when evaluated at this step.
    public var validationLoss: Double?
    public var learningRate: Double
    /// Mean wall time of the training steps since the previous line (evaluation excluded).
    public var millisecondsPerStep: Double

    public init(step: Int, trainLoss: Double, validationLoss: Double?, learningRate: Double, millisecondsPerStep: Double) {
        self.step = step
        self.trainLoss = trainLoss
        self.validationLoss = validationLoss
        self.learningRate = learningRate
        self.millisecondsPerStep = millisecondsPerStep
    }

    /// `step 5000 | train_loss 2.1234 | val_loss 2.1456 | lr 6.8e-04 | ms/step 1.234`
    public var formatted: String {
        var parts = ["step \(step)", String(format: "train_loss %.4f", trainLoss)]
        if let validationLoss { parts.append(String(format: "val_loss %.4f", validationLoss)) }
        parts.append(String(format: "lr %.3e", learningRate))
        parts.append(String(format: "ms/step %.3f", millisecondsPerStep))
        return parts.joined(separator: " | ")
    }
}

/// Accumulates batch losses and step times between log lines.
public struct TrainingMeter: Sendable {
    private var lossSum = 0.0
    private var steps = 0
    private var seconds = 0.0

    public init() {}

    /// Records one training step.
    public mutating func record(loss: Double, seconds stepSeconds: Double) {
        record(lossSum: loss, steps: 1, seconds: stepSeconds)
    }

    /// Records `count` steps whose losses add up to `lossSum`, run in `seconds` of wall time.
    public mutating func record(lossSum sum: Double, steps count: Int, seconds interval: Double) {
        lossSum += sum
        seconds += interval
        steps += count
    }

    /// Steps recorded since the last `line`.
    public var count: Int { steps }

    /// The line for `step`, then starts a new interval.
    public mutating func line(step: Int, validationLoss: Double?, learningRate: Double) -> TrainingLogLine {
        let line = TrainingLogLine(step: step, trainLoss: steps > 0 ? lossSum / Double(steps) : .nan,
                                   validationLoss: validationLoss, learningRate: learningRate,
                                   millisecondsPerStep: steps > 0 ? seconds * 1e3 / Double(steps) : 0)
        self = TrainingMeter()
        return line
    }
}
