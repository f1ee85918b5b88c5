import ArgumentParser
import Foundation
import Models
import TensorGraph

extension GPTDataset.Kind: ExpressibleByArgument {}
extension GPTConfiguration.Positions: ExpressibleByArgument {}
extension GPTConfiguration.Norm: ExpressibleByArgument {}
extension AttentionLowering: ExpressibleByArgument {}

struct TrainGPT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpt",
        abstract: "Train the GPT transformer on the names or Tiny Shakespeare with AdamW.",
        discussion: """
            Defaults per --dataset. names: 4 layers, 4 heads, embedding 64, batch 32, 60,000 steps, lr 5e-4 (cosine to 5e-5), \
            weight decay 0.01, β2 0.99, dropout 0.1, each name its own sequence. shakespeare: 4 layers, 4 heads, embedding 128, \
            block 64, batch 12, lr 1e-3 with 100 warm-up steps and cosine to 1e-4 over 2000 steps, β2 0.99, \
            weight decay 0.1, gradient clip 1, no dropout. Weight decay applies to matrices and embeddings only.
            Prints `step N | train_loss X | val_loss Y | lr Z | ms/step W` every --log-every steps and ends with `test_loss T`.
            """)

    @Option(help: "Dataset: names or shakespeare.")
    var dataset: GPTDataset.Kind = .names
    @Option(help: "The names folder (train.txt, val.txt, test.txt), or Tiny Shakespeare's input.txt (or its folder).")
    var data: String
    @Option(help: "Training steps in total (a resumed run continues to this count). Default: names 60000, shakespeare 2000.")
    var steps: Int?
    @Option(help: "Sequences per batch. Default: names 32, shakespeare 12.")
    var batch: Int?
    @Option(help: "Peak learning rate. Default: names 5e-4, shakespeare 1e-3.")
    var lr: Float?
    @Option(help: "Learning rate at the last step (cosine decay). Default: names 5e-5, shakespeare 1e-4.")
    var finalLr: Float?
    @Option(help: "Linear warm-up steps. Default: names 0, shakespeare 100.")
    var warmup: Int?
    @Option(help: "AdamW decoupled weight decay (matrices and embeddings). Default: names 0.01, shakespeare 0.1.")
    var weightDecay: Float?
    @Option(help: "AdamW β2.")
    var beta2: Float = 0.99
    @Option(help: "Clip gradients to this global L2 norm. Default: names none, shakespeare 1.")
    var gradientClip: Float?
    @Option(help: "Transformer blocks.")
    var layers: Int = 4
    @Option(help: "Attention heads per block.")
    var heads: Int = 4
    @Option(help: "Embedding width. Default: names 64, shakespeare 128.")
    var embedding: Int?
    @Option(help: "Sequence length for shakespeare (names use the longest name + 1).")
    var block: Int = 64
    @Option(help: "Positions: learned or rotary.")
    var positions: GPTConfiguration.Positions = .learned
    @Option(help: "Row norm of the blocks: layernorm or rmsnorm.")
    var norm: GPTConfiguration.Norm = .layerNorm
    @Option(help: "Dropout rate while training (after the embeddings and on each block's attention and MLP outputs). Default: names 0.1, shakespeare 0.")
    var dropout: Float?
    @Option(help: "Attention lowering: automatic, fused or unfused.")
    var attention: AttentionLowering = .automatic
    @Option(help: "Seed of the initialisation (the batches use seed + 1).")
    var seed: UInt64 = 1337
    @OptionGroup var output: TrainingOutputOptions
    static let outputDefaults = TrainingOutputDefaults(logEvery: 100, evalEvery: 1000, checkpoint: "gpt.safetensors")
    @OptionGroup var runOptions: RunOptions

    private var isNames: Bool { dataset == .names }

    func validate() throws {
        for (name, value) in [("--steps", steps ?? 1), ("--batch", batch ?? 1), ("--layers", layers), ("--heads", heads),
                              ("--embedding", embedding ?? 1), ("--block", block)]
        where value <= 0 {
            throw ValidationError("\(name) must be positive, got \(value)")
        }
        if let lr, lr <= 0 { throw ValidationError("--lr must be positive") }
        if let gradientClip, gradientClip <= 0 { throw ValidationError("--gradient-clip must be positive") }
        if let dropout, !(0..<1).contains(dropout) { throw ValidationError("--dropout must be in [0, 1), got \(dropout)") }
        let width = embedding ?? (isNames ? 64 : 128)
        guard width % heads == 0 else { throw ValidationError("--heads \(heads) must divide --embedding \(width)") }
    }

    func run() throws {
        try reportingErrors {
            let data = try GPTDataset(dataset, path: self.data, block: block)
            var model = GPTConfiguration(vocabulary: data.vocabulary.count, blockSize: data.sequenceLength, layers: layers, heads: heads,
                                         embedding: embedding ?? (isNames ? 64 : 128), positions: positions, norm: norm)
            let totalSteps = steps ?? (isNames ? 60_000 : 2_000)
            let peak = lr ?? (isNames ? 5e-4 : 1e-3)
            let settings = OptimizerSettings(learningRate: peak, finalLearningRate: finalLr ?? peak / 10,
                                             warmupSteps: warmup ?? (isNames ? 0 : 100), steps: totalSteps,
                                             weightDecay: weightDecay ?? (isNames ? 0.01 : 0.1), beta2: beta2,
                                             gradientClip: gradientClip ?? (isNames ? nil : 1))
            let batchSize = batch ?? (isNames ? 32 : 12)
            let dropoutRate = dropout ?? (isNames ? 0.1 : 0)
            var parameters = GPTModel.initialParameters(model, seed: seed)
            var optimizerState: [String: TensorData] = [:], startStep = 0
            if let resume = output.resume {
                let (loadedModel, loaded) = try loadGPT(resume)
                guard loadedModel.vocabulary == model.vocabulary, loadedModel.blockSize == model.blockSize else {
                    throw ValidationError("\(resume) was trained with vocabulary \(loadedModel.vocabulary), block \(loadedModel.blockSize); "
                                          + "this data has \(model.vocabulary), \(model.blockSize)")
                }
                (model, parameters, optimizerState, startStep) = (loadedModel, loaded.parameters, loaded.optimizerState, loaded.step)
                print("resumed from \(resume) at step \(startStep)")
            }
            let backend = try runOptions.backend()
            let options = CompileOptions(attention: attention)
            let trainer = try GPTTrainer(model: model, settings: settings, batchSize: batchSize, data: data.train, backend: backend,
                                         parameters: parameters, optimizerState: optimizerState, step: startStep,
                                         dataSeed: seed &+ 1, dropout: dropoutRate, options: options)
            let evaluator = try GPTEvaluator(model, sequence: data.sequenceLength, backend: backend, options: options)
            let configurationJSON = String(decoding: try JSONEncoder().encode(model), as: UTF8.self)
            func evaluate(_ source: any SequenceSource) throws -> Double {
                try evaluator.setParameters(try trainer.parameters())
                return try evaluator.loss(of: source)
            }
            func save(to checkpoint: String) throws {
                try Checkpoint(kind: "gpt", configurationJSON: configurationJSON, vocabulary: data.vocabulary, step: trainer.step,
                               parameters: try trainer.parameters(), optimizerState: try trainer.optimizerState())
                    .write(to: checkpoint)
            }
            print("device: \(backend.name)")
            print("model: gpt \(model.layers) layers, \(model.heads) heads, embedding \(model.embedding), block \(model.blockSize), "
                  + "vocabulary \(model.vocabulary), \(model.positions.rawValue) positions, \(model.norm.rawValue), "
                  + "\(model.parameterCount) parameters; attention \(attention.rawValue)")
            print("training: \(dataset.rawValue), batch \(batchSize), AdamW lr \(settings.learningRate) → \(settings.finalLearningRate) "
                  + "cosine over \(totalSteps) steps (warm-up \(settings.warmupSteps)), weight decay \(settings.weightDecay), "
                  + "β2 \(beta2), clip \(settings.gradientClip.map { "\($0)" } ?? "none"), dropout \(dropoutRate)")
            try runTraining(trainer, totalSteps: totalSteps, output: output, defaults: Self.outputDefaults,
                            plotTitle: "GPT \(dataset.rawValue) — \(backend.name)", validate: { try evaluate(data.validation) },
                            test: { try evaluate(data.test) }, save: save)
        }
    }
}

/// Loads a GPT checkpoint and its configuration.
func loadGPT(_ path: String) throws -> (GPTConfiguration, Checkpoint) {
    let header = try Checkpoint.read(path)
    guard header.kind == "gpt" else { throw ValidationError("\(path) holds a '\(header.kind)' checkpoint, not a GPT") }
    guard let configuration = try? JSONDecoder().decode(GPTConfiguration.self, from: Data(header.configurationJSON.utf8)) else {
        throw ValidationError("\(path): the GPT configuration in its metadata is missing or unreadable")
    }
    return (configuration, try Checkpoint.read(path, expectedShapes: configuration.parameterShapes))
}
