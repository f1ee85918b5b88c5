import ArgumentParser
import Foundation
import Models
import TensorGraph

/// `clmodel bench <model>`: time training steps only (no evaluation, no checkpoints), for
/// comparison with the PyTorch scripts in Benchmarks/peers.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time training steps (median ms/step after a warm-up), for comparison with PyTorch.",
        subcommands: [BenchMLP.self, BenchGPT.self, BenchBabyLLM.self])
}

struct BenchMLP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mlp", abstract: "Median ms per names-MLP training step (reference configuration).")

    @Option(help: "Folder with train.txt (default: the bundled names splits).")
    var data: String?
    @Option(help: "Timed steps (in blocks of 50 enqueued steps; ms/step per block).")
    var steps: Int = 500
    @Option(help: "Untimed steps first (pocl compiles kernels on first use).")
    var warmup: Int = 100
    @Option(help: "Windows per batch.")
    var batch: Int = 128
    @Option(help: "Output format: text or json (clbench-shaped, benchmark \"train_mlp\").")
    var format: String = "text"
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        guard steps > 0, warmup >= 0, batch > 0 else { throw ValidationError("--steps and --batch must be positive, --warmup not negative") }
        guard ["text", "json"].contains(format) else { throw ValidationError("--format must be text or json") }
    }

    func run() throws {
        try reportingErrors {
            let model = MLPConfiguration()
            var training = MLPTrainingConfiguration()
            training.batchSize = batch
            training.steps = warmup + steps
            let backend = try runOptions.backend()
            let trainer = try MLPTrainer(model: model, training: training,
                                         data: try TokenStream(namesFolder: data ?? BundledData.namesFolder(), split: "train"),
                                         backend: backend, parameters: MLPModel.initialParameters(model))
            let times = try timeSteps(trainer, warmup: warmup, steps: steps)
            try printStepTimes(times, benchmark: "train_mlp", device: backend.name, json: format == "json",
                               params: ["batch": batch, "steps": steps, "warmup": warmup])
        }
    }
}

/// Runs `warmup` untimed steps, then times `steps` in blocks of 50 enqueued steps (as `clmodel train`
/// runs them, one wait per block); returns ms/step per block, sorted.
func timeSteps(_ trainer: some StepTrainer, warmup: Int, steps: Int) throws -> [Double] {
    for _ in 0..<warmup { try trainer.enqueueStep() }
    _ = try trainer.takeLossSum()
    let block = 50
    let clock = ContinuousClock()
    var times: [Double] = []
    var done = 0
    while done < steps {
        let count = min(block, steps - done)
        let started = clock.now
        for _ in 0..<count { try trainer.enqueueStep() }
        _ = try trainer.takeLossSum()
        let elapsed = clock.now - started
        times.append((Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) * 1e-15) / Double(count))
        done += count
    }
    return times.sorted()
}

/// Prints the median ms/step as a line, or as a clbench-shaped JSON report.
func printStepTimes(_ times: [Double], benchmark: String, device: String, json: Bool, params: [String: Any]) throws {
    let median = times[times.count / 2]
    if json {
        let report: [String: Any] = [
            "benchmark": benchmark,
            "device": ["name": device],
            "params": params,
            "results": [["variant": "clgraph", "description": "forward + backward + AdamW, one plan run per step",
                         "median_ms": median, "min_ms": times[0], "max_ms": times[times.count - 1], "valid": true]],
        ]
        let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    } else {
        let shown = params.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print(String(format: "%@: median %.3f ms/step (min %.3f) over %d blocks; %@", device, median, times[0], times.count, shown))
    }
}

struct BenchGPT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpt", abstract: "Median ms per GPT training step (names or Tiny Shakespeare configuration).")

    @OptionGroup var timing: SequenceBenchOptions
    @Option(help: "Attention lowering: automatic, fused or unfused.")
    var attention: AttentionLowering = .automatic
    @Option(help: "Row norm of the blocks: layernorm (default), rmsnorm, proportions or none.")
    var norm: GPTConfiguration.Norm = .layerNorm
    @Flag(help: "Time greedy KV-cache decoding instead (block − 1 tokens per sequence from the start token, as the PyTorch peer's --decode).")
    var decode = false
    @Option(help: "With --decode: sequences decoded together, a comma-separated list.")
    var decodeBatch = "1,4,16"
    @Option(help: "With --decode: timed rounds per batch size (after one untimed).")
    var rounds = 30
    @Option(help: "Output format: text or json (clbench-shaped, benchmark \"train_gpt\" or \"decode_gpt\").")
    var format: String = "text"
    @OptionGroup var runOptions: RunOptions

    var decodeBatches: [Int] { decodeBatch.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        guard ["text", "json"].contains(format) else { throw ValidationError("--format must be text or json") }
        guard rounds > 0, !decodeBatches.isEmpty, decodeBatches.count == decodeBatch.split(separator: ",").count,
              decodeBatches.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--rounds must be positive and --decode-batch a list of positive integers, e.g. 1,4,16")
        }
    }

    func run() throws {
        try reportingErrors {
            let data = try timing.loadData()
            let model = GPTConfiguration(vocabulary: data.vocabulary.count, blockSize: data.sequenceLength, embedding: timing.names ? 64 : 128,
                                         norm: norm)
            if decode { return try benchDecode(model) }
            let backend = try runOptions.backend()
            let trainer = try GPTTrainer(model: model, settings: timing.settings(learningRate: timing.names ? 5e-4 : 1e-3),
                                         batchSize: timing.batchSize, data: data.train, backend: backend,
                                         parameters: GPTModel.initialParameters(model), options: CompileOptions(attention: attention))
            try timing.report(trainer, benchmark: "train_gpt", device: backend.name, json: format == "json",
                              params: ["block": model.blockSize, "embedding": model.embedding, "layers": model.layers, "heads": model.heads,
                                       "attention": attention.rawValue])
        }
    }
}

extension BenchGPT {
    /// Greedy decoding of block − 1 tokens per sequence from the start token, through the KV cache,
    /// timed per round; prints median tokens/s (all sequences' tokens over the round's wall time).
    func benchDecode(_ model: GPTConfiguration) throws {
        let backend = try runOptions.backend()
        let parameters = GPTModel.initialParameters(model)
        let tokens = model.blockSize - 1
        var results: [[String: Any]] = []
        for batchSize in decodeBatches {
            let generator = try GPTGenerator(model, parameters: parameters, backend: backend, batch: batchSize,
                                             options: CompileOptions(attention: attention))
            var rates: [Double] = []
            for round in 0...rounds {
                var samplers = [Sampler](repeating: Sampler(greedy: true), count: batchSize)
                let start = ContinuousClock.now
                let out = try generator.generate(prompts: [[Int32]](repeating: [0], count: batchSize), maxTokens: tokens,
                                                 samplers: &samplers)
                let elapsed = ContinuousClock.now - start
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                if round > 0 { rates.append(Double(out.reduce(0) { $0 + $1.count }) / seconds) }
            }
            rates.sort()
            let median = rates[rates.count / 2]
            let commands = generator.decodeCommandsPerStep
            results.append(["variant": "clgraph-b\(batchSize)", "batch": batchSize, "median_tokens_per_s": median,
                            "min_tokens_per_s": rates[0], "max_tokens_per_s": rates[rates.count - 1],
                            "median_ms_per_step": 1e3 * Double(batchSize) / median,
                            "commands_per_step": commands.map { $0 as Any } ?? NSNull(), "valid": true])
            if format == "text" {
                print(String(format: "%@: decode batch %d: median %.0f tokens/s (min %.0f, max %.0f) over %d rounds; %.3f ms/step; %@ commands/step; %d tokens per sequence",
                             backend.name, batchSize, median, rates[0], rates[rates.count - 1], rates.count,
                             1e3 * Double(batchSize) / median, commands.map(String.init) ?? "-", tokens))
            }
        }
        if format == "json" {
            let report: [String: Any] = [
                "benchmark": "decode_gpt", "device": ["name": backend.name],
                "params": ["dataset": timing.dataset.rawValue, "block": model.blockSize, "embedding": model.embedding, "layers": model.layers,
                           "heads": model.heads, "tokens_per_sequence": tokens, "rounds": rounds],
                "results": results,
            ]
            let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }
}

struct BenchBabyLLM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "babyllm", abstract: "Median ms per babyLLM training step (the names or Tiny Shakespeare defaults of `clmodel train babyllm`).")

    @OptionGroup var timing: SequenceBenchOptions
    @Option(help: "How the windowed means are computed: band or cumsum.")
    var windowMethod: WindowMeanMethod = .default
    @Option(help: "Output format: text or json (clbench-shaped, benchmark \"train_babyllm\").")
    var format: String = "text"
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        guard ["text", "json"].contains(format) else { throw ValidationError("--format must be text or json") }
    }

    func run() throws {
        try reportingErrors {
            let data = try timing.loadData()
            let model = TrainBabyLLM.defaultModel(data)
            let backend = try runOptions.backend()
            let trainer = try BabyLLMTrainer(model: model, settings: timing.settings(learningRate: 1e-3), batchSize: timing.batchSize,
                                             data: data.train, backend: backend, parameters: BabyLLMModel.initialParameters(model),
                                             method: windowMethod)
            try timing.report(trainer, benchmark: "train_babyllm", device: backend.name, json: format == "json",
                              params: ["block": model.blockSize, "embedding": model.embedding, "neurons": model.neurons, "memory": model.memory,
                                       "windows": model.windows, "window_method": windowMethod.rawValue, "parameters": model.parameterCount])
        }
    }
}
