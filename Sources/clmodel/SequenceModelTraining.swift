import Foundation
import Models
import TensorGraph

/// The run of `clmodel train gpt` and `train babyllm` after their trainer is built: prints the
/// data line and `lines` (model, settings), then trains to `totalSteps` with the validation and
/// test losses of `loss` (weights, split) and checkpoints of kind `kind` holding `configuration`
/// as JSON, the vocabulary, the step, the weights and the AdamW moments.
func runSequenceModelTraining(_ trainer: some TrainingRun, kind: String, configuration: some Encodable, data: GPTDataset,
                              path: String, lines: [String], totalSteps: Int, output: TrainingOutputOptions,
                              defaults: TrainingOutputDefaults, backend: any Backend, plotTitle: String,
                              loss: ([String: TensorData], any SequenceSource) throws -> Double) throws {
    let configurationJSON = String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self)
    func evaluate(_ source: any SequenceSource) throws -> Double { try loss(try trainer.parameters(), source) }
    func save(to checkpoint: String) throws {
        try writeCheckpoint(Checkpoint(kind: kind, configurationJSON: configurationJSON, vocabulary: data.vocabulary,
                                       step: trainer.step, parameters: try trainer.parameters(),
                                       optimizerState: try trainer.optimizerState()),
                            to: checkpoint)
    }
    print("data: \(path)")
    for line in lines { print(line) }
    try runTraining(trainer, totalSteps: totalSteps, output: output, defaults: defaults, backend: backend,
                    plotTitle: plotTitle, validate: { try evaluate(data.validation) }, test: { try evaluate(data.test) },
                    save: save)
}

/// Where a `train` run starts. Resuming (`resumed`: the `--resume` path and what it loaded): the
/// checkpoint's model, weights, AdamW moments and step, once its vocabulary and block are checked
/// against `data` (read from `path`). Otherwise `model` with `initialParameters(model)`, no moments,
/// step 0. Says so when it resumes.
func startingPoint<Configuration>(_ model: Configuration, resumed: (path: String, loaded: (Configuration, Checkpoint))?,
                                  blockSize: (Configuration) -> Int, data: GPTDataset, path: String,
                                  initialParameters: (Configuration) -> [String: TensorData]) throws
    -> (model: Configuration, parameters: [String: TensorData], optimizerState: [String: TensorData], step: Int) {
    guard let (resume, (loadedModel, loaded)) = resumed else { return (model, initialParameters(model), [:], 0) }
    try checkResumedData(path, fits: resume, vocabulary: loaded.vocabulary, block: blockSize(loadedModel), data: data)
    print("resumed from \(resume) at step \(loaded.step)")
    return (loadedModel, loaded.parameters, loaded.optimizerState, loaded.step)
}

/// The optimizer part of a `train` command's settings line.
func optimizerDescription(_ settings: OptimizerSettings) -> String {
    "AdamW lr \(settings.learningRate) → \(settings.finalLearningRate) cosine over \(settings.steps) steps "
        + "(warm-up \(settings.warmupSteps)), weight decay \(settings.weightDecay), β2 \(settings.beta2), "
        + "clip \(settings.gradientClip.map { "\($0)" } ?? "none")"
}
