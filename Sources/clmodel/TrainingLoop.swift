import ArgumentParser
import Foundation
import Models

/// The loop every `clmodel train` runs: steps enqueued back to back, the host waiting only every
/// `syncEvery` steps (progress line, divergence check) and at log and evaluation points; a log
/// line in the reference's shape every `logEvery` steps, validation and a checkpoint every
/// `evalEvery` steps and at the end. Returns the log lines (for the loss plot).
func runTrainingLoop(_ trainer: some StepTrainer, totalSteps: Int, logEvery: Int, evalEvery: Int, quiet: Bool,
                     validate: () throws -> Double, save: () throws -> Void) throws -> [TrainingLogLine] {
    var lines: [TrainingLogLine] = []
    let startStep = trainer.step
    if startStep == 0 {
        let line = TrainingLogLine(step: 0, trainLoss: .nan, validationLoss: try validate(),
                                   learningRate: Double(trainer.learningRate), millisecondsPerStep: 0)
        print(String(format: "step 0 | val_loss %.4f | lr %.3e", line.validationLoss!, line.learningRate))
        fflush(stdout)
        lines.append(line)
    }
    let progress = TrainProgress(totalSteps: totalSteps, quiet: quiet)
    var meter = TrainingMeter()
    let clock = ContinuousClock()
    let syncEvery = min(100, logEvery)
    var intervalStart = clock.now, intervalSteps = 0
    while trainer.step < totalSteps {
        let learningRate = trainer.learningRate
        try trainer.enqueueStep()
        intervalSteps += 1
        let evaluating = trainer.step % evalEvery == 0 || trainer.step == totalSteps
        let logging = trainer.step % logEvery == 0 || evaluating
        guard logging || trainer.step % syncEvery == 0 else { continue }
        let lossSum = try trainer.takeLossSum()
        let elapsed = clock.now - intervalStart
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        guard lossSum.isFinite else {
            progress.clear()
            throw ValidationError("training diverged before step \(trainer.step): loss \(lossSum); lower --lr or set --gradient-clip")
        }
        meter.record(lossSum: lossSum, steps: intervalSteps, seconds: seconds)
        progress.show(step: trainer.step, loss: Float(lossSum / Double(intervalSteps)), learningRate: learningRate,
                      millisecondsPerStep: seconds * 1e3 / Double(intervalSteps))
        if logging {
            progress.clear()
            let line = meter.line(step: trainer.step, validationLoss: evaluating ? try validate() : nil,
                                  learningRate: Double(learningRate))
            print(line.formatted)
            fflush(stdout)
            lines.append(line)
            if evaluating { try save() }
        }
        intervalStart = clock.now
        intervalSteps = 0
    }
    if lines.last?.step != trainer.step || startStep == totalSteps { try save() }
    return lines
}
