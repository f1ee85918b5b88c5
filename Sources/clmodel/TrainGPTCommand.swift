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

    @OptionGroup var training: SequenceTrainingOptions
    @Option(help: "Transformer blocks (default 4). A resumed run takes the model flags from its checkpoint.")
    var layers: Int?
    @Option(help: "Attention heads per block (default 4).")
    var heads: Int?
    @Option(help: "Embedding width. Default: names 64, shakespeare 128.")
    var embedding: Int?
    @Option(help: "Positions: learned (default) or rotary.")
    var positions: GPTConfiguration.Positions?
    @Option(help: "Row norm of the blocks: layernorm (default), rmsnorm, proportions (mean-|x| scaling, 4·tanh(u/4), gain only) or none.")
    var norm: GPTConfiguration.Norm?
    @Option(help: "Dropout rate while training (after the embeddings and on each block's attention and MLP outputs). Default: names 0.1, shakespeare 0.")
    var dropout: Float?
    @Option(help: "Attention lowering: automatic, fused or unfused.")
    var attention: AttentionLowering = .automatic
    @OptionGroup var output: TrainingOutputOptions
    static let outputDefaults = TrainingOutputDefaults(logEvery: 100, evalEvery: 1000, checkpoint: "gpt.safetensors")
    @OptionGroup var runOptions: RunOptions
    @OptionGroup var distribution: DistributedOptions

    func validate() throws {
        for (name, value) in [("--layers", layers ?? 1), ("--heads", heads ?? 1), ("--embedding", embedding ?? 1)]
        where value <= 0 {
            throw ValidationError("\(name) must be positive, got \(value)")
        }
        if let dropout, !(0..<1).contains(dropout) { throw ValidationError("--dropout must be in [0, 1), got \(dropout)") }
        if output.timeLimit != nil, distribution.distributed {
            throw ValidationError("--time-limit works in a single process only: every rank of a distributed run takes the same steps")
        }
        let width = embedding ?? (training.isNames ? 64 : 128), headCount = heads ?? 4
        guard width % headCount == 0 else { throw ValidationError("--heads \(headCount) must divide --embedding \(width)") }
    }

    func run() throws {
        try reportingErrors {
            try output.checkWritable(Self.outputDefaults)
            let resumed = try output.resume.map { path in (path: path, loaded: try loadGPT(path)) }
            let (dataset, storedKind) = training.resolvedDataset(resuming: resumed?.loaded.1.vocabulary)
            let isNames = dataset == .names
            if let resumed {
                let stored = resumed.loaded.0
                try checkResumeFlags(resumed.path, [
                    ("--dataset", training.dataset?.rawValue, storedKind?.rawValue ?? dataset.rawValue), ("--layers", layers.map(String.init), "\(stored.layers)"),
                    ("--heads", heads.map(String.init), "\(stored.heads)"), ("--embedding", embedding.map(String.init), "\(stored.embedding)"),
                    ("--block", isNames ? nil : training.block.map(String.init), "\(stored.blockSize)"),
                    ("--positions", positions?.rawValue, stored.positions.rawValue), ("--norm", norm?.rawValue, stored.norm.rawValue)])
            }
            let (data, path) = try training.loadData(dataset, resumedBlock: resumed?.loaded.0.blockSize)
            let configured = GPTConfiguration(vocabulary: data.vocabulary.count, blockSize: data.sequenceLength, layers: layers ?? 4,
                                         heads: heads ?? 4, embedding: embedding ?? (isNames ? 64 : 128),
                                         positions: positions ?? .learned, norm: norm ?? .layerNorm)
            let settings = training.settings(names: isNames, steps: isNames ? 60_000 : 2_000, learningRate: isNames ? 5e-4 : 1e-3)
            let totalSteps = settings.steps
            let batchSize = training.batchSize(names: isNames)
            let dropoutRate = dropout ?? (isNames ? 0.1 : 0)
            let (model, parameters, optimizerState, startStep) = try startingPoint(
                configured, resumed: resumed, blockSize: \.blockSize, data: data, path: path) {
                GPTModel.initialParameters($0, seed: training.seed)
            }
            if distribution.distributed {
                return try trainDistributed(model: model, settings: settings, rankBatch: batchSize, dropout: dropoutRate, data: data,
                                            path: path, dataset: dataset, parameters: parameters, optimizerState: optimizerState,
                                            startStep: startStep)
            }
            let backend = try runOptions.backend()
            let options = CompileOptions(attention: attention)
            let trainer = try GPTTrainer(model: model, settings: settings, batchSize: batchSize, data: data.train, backend: backend,
                                         parameters: parameters, optimizerState: optimizerState, step: startStep,
                                         dataSeed: training.seed &+ 1, dropout: dropoutRate, options: options)
            print("device: \(backend.name)")
            try runGPTTraining(trainer, model: model, data: data, path: path, totalSteps: totalSteps, backend: backend,
                               options: options, plotTitle: "GPT \(dataset.rawValue) — \(backend.name)", settingsLines: [
                                   "training: \(dataset.rawValue), batch \(batchSize), \(optimizerDescription(settings)), dropout \(dropoutRate)"])
        }
    }
}

extension TrainGPT {
    /// Prints the data and model lines and `settingsLines`, then trains with validation and test
    /// losses from a `GPTEvaluator` and checkpoints of the trainer's weights and AdamW moments
    /// (the single-process run and rank 0 of a distributed one).
    func runGPTTraining(_ trainer: some TrainingRun, model: GPTConfiguration, data: GPTDataset, path: String, totalSteps: Int,
                        backend: any Backend, options: CompileOptions, plotTitle: String, settingsLines: [String]) throws {
        let evaluator = try GPTEvaluator(model, sequence: data.sequenceLength, backend: backend, options: options)
        let modelLine = "model: gpt \(model.layers) layers, \(model.heads) heads, embedding \(model.embedding), block \(model.blockSize), "
            + "vocabulary \(model.vocabulary), \(model.positions.rawValue) positions, \(model.norm.rawValue), "
            + "\(model.parameterCount) parameters; attention \(attention.rawValue)"
        try runSequenceModelTraining(trainer, kind: "gpt", configuration: model, data: data, path: path,
                                     lines: [modelLine] + settingsLines, totalSteps: totalSteps, output: output,
                                     defaults: Self.outputDefaults, backend: backend, plotTitle: plotTitle) { parameters, source in
            try evaluator.setParameters(parameters)
            return try evaluator.loss(of: source)
        }
    }
}

/// Reads a GPT dataset; a file given as the names data is an error that points to `--dataset shakespeare`.
func loadGPTDataset(_ kind: GPTDataset.Kind, path: String, block: Int) throws -> GPTDataset {
    do {
        return try GPTDataset(kind, path: path, block: block)
    } catch DataError.namesFolderExpected(let file) {
        throw CommandError.badFile("\(DataError.namesFolderExpected(path: file)); for one text file, such as Tiny Shakespeare's "
                                   + "input.txt, pass --dataset shakespeare")
    }
}
