import ArgumentParser
import DurableFiles
import Foundation
import Models
import TensorGraph

/// Logging, evaluation, checkpoint and plot options shared by every `clmodel train`.
struct TrainingOutputOptions: ParsableArguments {
    @Option(help: "Print a log line every this many steps (default: mlp 1000, gpt and babyllm 100).")
    var logEvery: Int?
    @Option(help: "Evaluate the validation split every this many steps and at the end (default: mlp 5000, gpt and babyllm 1000).")
    var evalEvery: Int?
    @Option(help: "Write the checkpoint (safetensors, with optimizer state) here at each evaluation and at the end (default: mlp.safetensors, gpt.safetensors, babyllm.safetensors).")
    var checkpoint: String?
    @Option(help: "Resume from this checkpoint (weights, AdamW moments and step).")
    var resume: String?
    @Option(help: "Draw the train/val loss curves to this SVG file.")
    var lossPlot: String?
    @Flag(help: "No live progress line on stderr.")
    var quiet = false
    @Flag(help: "Append the process's resident memory and the backend's device buffer bytes to every log line (leak checks, soak runs).")
    var logMemory = false
    @Option(help: "Stop after the step during which this many seconds of training (evaluations included) have passed: evaluate, save the checkpoint and print the test loss as at the last step. The schedule still spans --steps.")
    var timeLimit: Double?

    func validate() throws {
        for (name, value) in [("--log-every", logEvery), ("--eval-every", evalEvery)] {
            if let value, value <= 0 { throw ValidationError("\(name) must be positive, got \(value)") }
        }
        if let timeLimit, !(timeLimit > 0 && timeLimit.isFinite) {
            throw ValidationError("--time-limit must be a positive number of seconds, got \(timeLimit)")
        }
    }
}

/// Per-model defaults of ``TrainingOutputOptions``.
struct TrainingOutputDefaults {
    let logEvery: Int, evalEvery: Int, checkpoint: String
}

extension TrainingOutputOptions {
    func checkpointPath(_ defaults: TrainingOutputDefaults) -> String { checkpoint ?? defaults.checkpoint }

    /// Throws unless the checkpoint and the loss plot can be written: run before any long work.
    func checkWritable(_ defaults: TrainingOutputDefaults) throws {
        try DurableFile.checkWritable(checkpointPath(defaults))
        if let lossPlot { try DurableFile.checkWritable(lossPlot) }
    }
}

/// Throws (exit 64) when a model flag given with `--resume` disagrees with the checkpoint at
/// `path`: the checkpoint's model is the one that trains on. `flags`: the flag, its value when
/// given, the checkpoint's value.
func checkResumeFlags(_ path: String, _ flags: [(flag: String, given: String?, checkpoint: String)]) throws {
    for (flag, given, stored) in flags {
        if let given, given != stored {
            throw CommandError.badArguments("\(flag) \(given) disagrees with the checkpoint \(path), whose model has \(flag) \(stored); "
                                            + "a resumed run keeps the checkpoint's model: leave \(flag) out, or start a new run without --resume")
        }
    }
}

/// Throws (exit 2) unless the data at `path` has the vocabulary and sequence length of the
/// checkpoint `checkpoint` that a run resumes.
func checkResumedData(_ path: String, fits checkpoint: String, vocabulary: CharVocabulary, block: Int, data: GPTDataset) throws {
    guard vocabulary == data.vocabulary, block == data.sequenceLength else {
        throw CommandError.badFile("\(path) does not fit the checkpoint \(checkpoint): it was trained on vocabulary "
                                   + "\(String(vocabulary.characters).debugDescription), block \(block); "
                                   + "this data has \(String(data.vocabulary.characters).debugDescription), block \(data.sequenceLength)")
    }
}

/// Runs training to `totalSteps` (``runTrainingSteps``), then prints the test loss, the checkpoint's
/// path and, when asked, draws the loss plot.
func runTraining(_ trainer: some TrainingRun, totalSteps: Int, output: TrainingOutputOptions, defaults: TrainingOutputDefaults,
                 backend: any Backend, plotTitle: String, validate: () throws -> Double, test: () throws -> Double,
                 save: (String) throws -> Void) throws {
    let path = output.checkpointPath(defaults)
    let lines = try runTrainingSteps(trainer, totalSteps: totalSteps, logEvery: output.logEvery ?? defaults.logEvery,
                                     evalEvery: output.evalEvery ?? defaults.evalEvery, timeLimit: output.timeLimit, quiet: output.quiet,
                                     memory: output.logMemory ? { MemoryUsage(backend: backend).formatted } : nil,
                                     validate: validate, save: { try save(path) }, checkpointPath: path)
    let testLoss = try test()
    guard testLoss.isFinite else {
        throw CommandError.nonFinite("test_loss is \(NonFiniteValues.describe(testLoss)) after step \(trainer.step) (the checkpoint \(path) holds that step's finite weights)")
    }
    print(String(format: "test_loss %.4f", testLoss))
    print("checkpoint: \(path)")
    if let lossPlot = output.lossPlot {
        try DurableFile.write(LossCurveSVG.render(lines, title: plotTitle), to: lossPlot)
        print("loss plot: \(lossPlot)")
    }
}

/// What went non-finite by `step` (nil when nothing did): the loss sum of the steps since the
/// last check, the parameters and, to tell a gradient from a weight, the AdamW moments.
func nonFiniteReport(_ trainer: some TrainingRun, lossSum: Double) throws -> String? {
    let parameters = NonFiniteValues(try trainer.parameters())
    guard !lossSum.isFinite || !parameters.isEmpty else { return nil }
    var parts: [String] = []
    if !lossSum.isFinite { parts.append("the training loss is \(NonFiniteValues.describe(lossSum))") }
    if !parameters.isEmpty { parts.append("parameters \(parameters)") }
    let moments = NonFiniteValues(try trainer.optimizerState())
    if !moments.isEmpty { parts.append("the gradients went non-finite too (AdamW moments \(moments))") }
    return parts.joined(separator: "; ")
}

/// The loop every `clmodel train` runs: steps enqueued back to back, the host waiting only every
/// `syncEvery` steps (progress line, non-finite check) and at log and evaluation points; a log
/// line in the reference's shape every `logEvery` steps, validation and a checkpoint every
/// `evalEvery` steps and at the end. Returns the log lines (for the loss plot).
///
/// With `timeLimit` (seconds) the host waits every 10 steps, and the step at whose wait the loop
/// has run that long is the last: it is logged, evaluated and saved as the last step would be.
///
/// Training stops (``CommandError/nonFinite(_:)``, exit 3) when the starting weights, the loss,
/// the weights after a step or the validation loss hold NaN or ±Inf: at every wait the weights
/// are downloaded and checked on the host, so the check does not rely on the device's arithmetic,
/// and a checkpoint is only written after a check at the same step passed.
func runTrainingSteps(_ trainer: some TrainingRun, totalSteps: Int, logEvery: Int, evalEvery: Int, timeLimit: Double? = nil, quiet: Bool,
                      memory: (() -> String)? = nil, validate: () throws -> Double, save: () throws -> Void, checkpointPath: String) throws -> [TrainingLogLine] {
    var lines: [TrainingLogLine] = []
    let startStep = trainer.step
    var lastCheckedStep = startStep, lastSavedStep: Int?
    func stop(_ what: String) -> CommandError {
        let kept = lastSavedStep.map { "the checkpoint \(checkpointPath) keeps the weights of step \($0)" }
            ?? "this run wrote no checkpoint"
        return .nonFinite("training stopped at step \(trainer.step): \(what) (the last check, at step \(lastCheckedStep), was finite); "
                          + "\(kept). Lower --lr or set --gradient-clip")
    }
    let starting = NonFiniteValues(try trainer.parameters())
    guard starting.isEmpty else {
        throw CommandError.nonFinite("training cannot start at step \(startStep): the weights hold non-finite values: \(starting)")
    }
    func checkedValidation() throws -> Double {
        let loss = try validate()
        guard loss.isFinite else { throw stop("val_loss is \(NonFiniteValues.describe(loss))") }
        return loss
    }
    if startStep == 0 {
        let line = TrainingLogLine(step: 0, trainLoss: .nan, validationLoss: try checkedValidation(),
                                   learningRate: Double(trainer.learningRate), millisecondsPerStep: 0)
        print(String(format: "step 0 | val_loss %.4f | lr %.3e", line.validationLoss!, line.learningRate))
        fflush(stdout)
        lines.append(line)
    }
    let progress = TrainProgress(totalSteps: totalSteps, quiet: quiet)
    var meter = TrainingMeter()
    let clock = ContinuousClock()
    // A time limit is checked at the waits: more of them keep the steps enqueued past it few.
    let syncEvery = min(timeLimit == nil ? 100 : 10, logEvery)
    let loopStart = clock.now
    var intervalStart = loopStart, intervalSteps = 0, timeUp = false
    while trainer.step < totalSteps && !timeUp {
        let learningRate = trainer.learningRate
        try trainer.enqueueStep()
        intervalSteps += 1
        var evaluating = trainer.step % evalEvery == 0 || trainer.step == totalSteps
        var logging = trainer.step % logEvery == 0 || evaluating
        guard logging || trainer.step % syncEvery == 0 else { continue }
        let lossSum = try trainer.takeLossSum()
        if let timeLimit, seconds(since: loopStart) >= timeLimit { (timeUp, evaluating, logging) = (true, true, true) }
        let intervalSeconds = seconds(since: intervalStart)
        if let report = try nonFiniteReport(trainer, lossSum: lossSum) {
            progress.clear()
            throw stop(report)
        }
        lastCheckedStep = trainer.step
        meter.record(lossSum: lossSum, steps: intervalSteps, seconds: intervalSeconds)
        progress.show(step: trainer.step, loss: Float(lossSum / Double(intervalSteps)), learningRate: learningRate,
                      millisecondsPerStep: intervalSeconds * 1e3 / Double(intervalSteps))
        if logging {
            progress.clear()
            let line = meter.line(step: trainer.step, validationLoss: evaluating ? try checkedValidation() : nil,
                                  learningRate: Double(learningRate))
            print(line.formatted + (memory.map { " | " + $0() } ?? ""))
            fflush(stdout)
            lines.append(line)
            if evaluating {
                try save()
                lastSavedStep = trainer.step
            }
        }
        intervalStart = clock.now
        intervalSteps = 0
    }
    if timeUp { print("time limit: stopped after step \(trainer.step) of \(totalSteps), \(String(format: "%.1f", seconds(since: loopStart))) s") }
    if lines.last?.step != trainer.step || startStep == totalSteps { try save() }
    return lines
}

/// Seconds of the continuous clock since `start`.
private func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
}
