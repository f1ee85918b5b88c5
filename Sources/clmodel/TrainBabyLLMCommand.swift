import ArgumentParser
import Foundation
import Models
import TensorGraph

extension WindowMeanMethod: ExpressibleByArgument {}

struct TrainBabyLLM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "babyllm",
        abstract: "Train babyLLM (neurons and windowed means instead of attention) on the names or Tiny Shakespeare with AdamW.",
        discussion: """
            Defaults per --dataset. names: embedding 64, 128 neurons, memory 256, batch 32, 20,000 steps, lr 1e-3 (cosine to 1e-4), \
            weight decay 0.01, each name its own sequence. shakespeare: embedding 128, 384 neurons, memory 480 (about the \
            parameters of the default Shakespeare GPT), block 64, batch 12, lr 1e-3 with 100 warm-up steps and cosine to 1e-4 over \
            2000 steps, weight decay 0.1, gradient clip 1. Windows 1,2,4,8,16,32,64 tokens; β2 0.99. Weight decay applies to \
            matrices and the embedding only. Prints `step N | train_loss X | val_loss Y | lr Z | ms/step W` every --log-every \
            steps and ends with `test_loss T`.
            """)

    @OptionGroup var training: SequenceTrainingOptions
    @Option(help: "Embedding width. Default: names 64, shakespeare 128. A resumed run takes the model flags from its checkpoint.")
    var embedding: Int?
    @Option(help: "Neurons of the neuron layer. Default: names 128, shakespeare 384.")
    var neurons: Int?
    @Option(help: "Hidden width of each memory MLP. Default: names 256, shakespeare 480.")
    var memory: Int?
    @Option(help: "Window lengths in tokens, comma-separated (default 1,2,4,8,16,32,64).")
    var windows: String?
    @Option(help: "How the windowed means are computed: band (a [T,T] mixing matrix) or cumsum (prefix sums); same numbers.")
    var windowMethod: WindowMeanMethod = .default
    @OptionGroup var output: TrainingOutputOptions
    static let outputDefaults = TrainingOutputDefaults(logEvery: 100, evalEvery: 1000, checkpoint: "babyllm.safetensors")
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        for (name, value) in [("--embedding", embedding ?? 1), ("--neurons", neurons ?? 1), ("--memory", memory ?? 1)]
        where value <= 0 {
            throw ValidationError("\(name) must be positive, got \(value)")
        }
        _ = try windowLengths()
    }

    /// The `--windows` list (nil when not given).
    func windowLengths() throws -> [Int]? {
        guard let windows else { return nil }
        let parts = windows.split(separator: ",", omittingEmptySubsequences: false)
        let lengths = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, lengths.count == parts.count, lengths.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--windows must be a comma-separated list of positive lengths, e.g. 1,2,4,8, got '\(windows)'")
        }
        return lengths
    }

    /// The default model for `data`: names embedding 64, 128 neurons, memory 256; Shakespeare
    /// embedding 128, 384 neurons, memory 480.
    static func defaultModel(_ data: GPTDataset) -> BabyLLMConfiguration {
        let names = data.kind == .names
        return BabyLLMConfiguration(vocabulary: data.vocabulary.count, blockSize: data.sequenceLength, embedding: names ? 64 : 128,
                                    neurons: names ? 128 : 384, memory: names ? 256 : 480)
    }

    func run() throws {
        try reportingErrors {
            try output.checkWritable(Self.outputDefaults)
            let resumed = try output.resume.map { path in (path: path, loaded: try loadBabyLLM(path)) }
            let (dataset, storedKind) = training.resolvedDataset(resuming: resumed?.loaded.1.vocabulary)
            let isNames = dataset == .names
            let windows = try windowLengths()
            if let resumed {
                let stored = resumed.loaded.0
                try checkResumeFlags(resumed.path, [
                    ("--dataset", training.dataset?.rawValue, storedKind?.rawValue ?? dataset.rawValue),
                    ("--embedding", embedding.map(String.init), "\(stored.embedding)"), ("--neurons", neurons.map(String.init), "\(stored.neurons)"),
                    ("--memory", memory.map(String.init), "\(stored.memory)"),
                    ("--windows", windows.map { $0.map(String.init).joined(separator: ",") }, stored.windows.map(String.init).joined(separator: ",")),
                    ("--block", isNames ? nil : training.block.map(String.init), "\(stored.blockSize)")])
            }
            let (data, path) = try training.loadData(dataset, resumedBlock: resumed?.loaded.0.blockSize)
            var configured = Self.defaultModel(data)
            configured.embedding = embedding ?? configured.embedding
            configured.neurons = neurons ?? configured.neurons
            configured.memory = memory ?? configured.memory
            configured.windows = windows ?? configured.windows
            let settings = training.settings(names: isNames, steps: isNames ? 20_000 : 2_000, learningRate: 1e-3)
            let totalSteps = settings.steps
            let batchSize = training.batchSize(names: isNames)
            let (model, parameters, optimizerState, startStep) = try startingPoint(
                configured, resumed: resumed, blockSize: \.blockSize, data: data, path: path) {
                BabyLLMModel.initialParameters($0, seed: training.seed)
            }
            let backend = try runOptions.backend()
            let trainer = try BabyLLMTrainer(model: model, settings: settings, batchSize: batchSize, data: data.train, backend: backend,
                                             parameters: parameters, optimizerState: optimizerState, step: startStep,
                                             dataSeed: training.seed &+ 1, method: windowMethod)
            print("device: \(backend.name)")
            let evaluator = try BabyLLMEvaluator(model, sequence: data.sequenceLength, backend: backend, method: windowMethod)
            let modelLine = "model: babyllm embedding \(model.embedding), \(model.neurons) neurons, windows "
                + "\(model.windows.map(String.init).joined(separator: ",")) (\(windowMethod.rawValue)), memory \(model.memory), "
                + "block \(model.blockSize), vocabulary \(model.vocabulary), \(model.parameterCount) parameters"
            try runSequenceModelTraining(trainer, kind: "babyllm", configuration: model, data: data, path: path,
                                         lines: [modelLine, "training: \(dataset.rawValue), batch \(batchSize), \(optimizerDescription(settings))"],
                                         totalSteps: totalSteps, output: output, defaults: Self.outputDefaults, backend: backend,
                                         plotTitle: "babyLLM \(dataset.rawValue) — \(backend.name)") { parameters, source in
                try evaluator.setParameters(parameters)
                return try evaluator.loss(of: source)
            }
        }
    }
}
