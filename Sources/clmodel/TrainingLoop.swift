import ArgumentParser
import Foundation
import Models

/// Logging, evaluation, checkpoint and plot options shared by every `clmodel train`.
struct TrainingOutputOptions: ParsableArguments {
    @Option(help: "Print a log line every this many steps (default: mlp 1000, gpt 100).")
    var logEvery: Int?
    @Option(help: "Evaluate the validation split every this many steps and at the end (default: mlp 5000, gpt 1000).")
    var evalEvery: Int?
    @Option(help: "Write the checkpoint (safetensors, with optimizer state) here at each evaluation and at the end (default: mlp.safetensors, gpt.safetensors).")
    var checkpoint: String?
    @Option(help: "Resume from this checkpoint (weights, AdamW moments and step).")
    var resume: String?
    @Option(help: "Draw the train/val loss curves to this SVG file.")
    var lossPlot: String?
    @Flag(help: "No live progress line on stderr.")
    var quiet = false

    func validate() throws {
        for (name, value) in [("--log-every", logEvery), ("--eval-every", evalEvery)] {
            if let value, value <= 0 { throw ValidationError("\(name) must be positive, got \(value)") }
        }
    }
}

/// Per-model defaults of ``TrainingOutputOptions``.
struct TrainingOutputDefaults {
    let logEvery: Int, evalEvery: Int, checkpoint: String
}

extension TrainingOutputOptions {
    func checkpointPath(_ defaults: TrainingOutputDefaults) -> String { checkpoint ?? defaults.checkpoint }
}

/// Runs training to `totalSteps` (``runTrainingSteps``), then prints the test loss, the checkpoint's
/// path and, when asked, draws the loss plot.
func runTraining(_ trainer: some StepTrainer, totalSteps: Int, output: TrainingOutputOptions, defaults: TrainingOutputDefaults,
                 plotTitle: String, validate: () throws -> Double, test: () throws -> Double,
                 save: (String) throws -> Void) throws {
    let path = output.checkpointPath(defaults)
    let lines = try runTrainingSteps(trainer, totalSteps: totalSteps, logEvery: output.logEvery ?? defaults.logEvery,
                                     evalEvery: output.evalEvery ?? defaults.evalEvery, quiet: output.quiet,
                                     validate: validate, save: { try save(path) })
    print(String(format: "test_loss %.4f", try test()))
    print("checkpoint: \(path)")
    if let lossPlot = output.lossPlot {
        try LossCurveSVG.render(lines, title: plotTitle).write(toFile: lossPlot, atomically: true, encoding: .utf8)
        print("loss plot: \(lossPlot)")
    }
}

/// The loop every `clmodel train` runs: steps enqueued back to back, the host waiting only every
/// `syncEvery` steps (progress line, divergence check) and at log and evaluation points; a log
/// line in the reference's shape every `logEvery` steps, validation and a checkpoint every
/// `evalEvery` steps and at the end. Returns the log lines (for the loss plot).
func runTrainingSteps(_ trainer: some StepTrainer, totalSteps: Int, logEvery: Int, evalEvery: Int, quiet: Bool,
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
