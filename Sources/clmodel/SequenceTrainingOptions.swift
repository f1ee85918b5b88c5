import ArgumentParser
import Models

/// The data and AdamW options of `clmodel train gpt` and `train babyllm`; their defaults follow
/// --dataset (and, for the steps and the learning rate, the model: see each command's discussion).
struct SequenceTrainingOptions: ParsableArguments {
    @Option(help: "Dataset: names (default) or shakespeare; a resumed run takes its checkpoint's.")
    var dataset: GPTDataset.Kind?
    @Option(help: "The names folder (train.txt, val.txt, test.txt), or Tiny Shakespeare's input.txt (or its folder). Default: the bundled data set.")
    var data: String?
    @Option(help: "Training steps in total (a resumed run continues to this count). Default: per model and dataset, as above.")
    var steps: Int?
    @Option(help: "Sequences per batch. Default: names 32, shakespeare 12.")
    var batch: Int?
    @Option(help: "Peak learning rate. Default: per model and dataset, as above.")
    var lr: Float?
    @Option(help: "Learning rate at the last step (cosine decay). Default: the peak / 10.")
    var finalLr: Float?
    @Option(help: "Linear warm-up steps. Default: names 0, shakespeare 100.")
    var warmup: Int?
    @Option(help: "AdamW decoupled weight decay (matrices and embeddings). Default: names 0.01, shakespeare 0.1.")
    var weightDecay: Float?
    @Option(help: "AdamW β2.")
    var beta2: Float = 0.99
    @Option(help: "Clip gradients to this global L2 norm. Default: names none, shakespeare 1.")
    var gradientClip: Float?
    @Option(help: "Sequence length for shakespeare (default 64; names use the longest name + 1).")
    var block: Int?
    @Option(help: "Seed of the initialisation (the batches use seed + 1).")
    var seed: UInt64 = 1337

    func validate() throws {
        for (name, value) in [("--steps", steps ?? 1), ("--batch", batch ?? 1), ("--block", block ?? 1)] where value <= 0 {
            throw ValidationError("\(name) must be positive, got \(value)")
        }
        if let lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be positive and finite, got \(lr)") }
        if let gradientClip, gradientClip <= 0 { throw ValidationError("--gradient-clip must be positive") }
    }

    /// Whether --dataset (names when not given) is the names.
    var isNames: Bool { (dataset ?? .names) == .names }

    /// The dataset a run trains on: --dataset, else that of the checkpoint it resumes (told by its
    /// vocabulary), else names; and the checkpoint's, when there is one.
    func resolvedDataset(resuming vocabulary: CharVocabulary?) -> (kind: GPTDataset.Kind, stored: GPTDataset.Kind?) {
        let stored = vocabulary.map { $0 == .names ? GPTDataset.Kind.names : .shakespeare }
        return (dataset ?? stored ?? .names, stored)
    }

    /// Reads `kind`'s data from --data or the bundled copy, Shakespeare in windows of --block, else
    /// of `resumedBlock` (the block of a resumed checkpoint), else 64.
    func loadData(_ kind: GPTDataset.Kind, resumedBlock: Int?) throws -> (data: GPTDataset, path: String) {
        let path = try data ?? (kind == .names ? BundledData.namesFolder() : BundledData.tinyShakespeare())
        return (try loadGPTDataset(kind, path: path, block: block ?? resumedBlock ?? 64), path)
    }

    /// AdamW and its schedule: the options given, the model's `steps` and `learningRate`
    /// defaults, and the dataset's defaults for the rest.
    func settings(names: Bool, steps defaultSteps: Int, learningRate defaultRate: Float) -> OptimizerSettings {
        let peak = lr ?? defaultRate
        return OptimizerSettings(learningRate: peak, finalLearningRate: finalLr ?? peak / 10,
                                 warmupSteps: warmup ?? (names ? 0 : 100), steps: steps ?? defaultSteps,
                                 weightDecay: weightDecay ?? (names ? 0.01 : 0.1), beta2: beta2,
                                 gradientClip: gradientClip ?? (names ? nil : 1))
    }

    /// Sequences per step: --batch, else names 32, Shakespeare 12.
    func batchSize(names: Bool) -> Int { batch ?? (names ? 32 : 12) }
}

/// The data and timing options of `clmodel bench gpt` and `bench babyllm`.
struct SequenceBenchOptions: ParsableArguments {
    @Option(help: "Dataset: names or shakespeare (sets the model and batch defaults as `clmodel train` does).")
    var dataset: GPTDataset.Kind = .names
    @Option(help: "The names folder, or Tiny Shakespeare's input.txt (or its folder). Default: the bundled data set.")
    var data: String?
    @Option(help: "Timed steps (in blocks of 50 enqueued steps).")
    var steps: Int = 300
    @Option(help: "Untimed steps first.")
    var warmup: Int = 50
    @Option(help: "Sequences per batch. Default: names 32, shakespeare 12.")
    var batch: Int?

    func validate() throws {
        guard steps > 0, warmup >= 0, (batch ?? 1) > 0 else { throw ValidationError("--steps and --batch must be positive, --warmup not negative") }
    }

    /// Whether the dataset is the names.
    var names: Bool { dataset == .names }

    /// The dataset from --data or the bundled copy (Shakespeare in windows of 64).
    func loadData() throws -> GPTDataset {
        let path = try data ?? (names ? BundledData.namesFolder() : BundledData.tinyShakespeare())
        return try loadGPTDataset(dataset, path: path, block: 64)
    }

    /// Sequences per step: --batch, else names 32, Shakespeare 12.
    var batchSize: Int { batch ?? (names ? 32 : 12) }

    /// The training defaults of the dataset with peak `learningRate` (cosine to a tenth) over
    /// the warm-up and timed steps.
    func settings(learningRate: Float) -> OptimizerSettings {
        OptimizerSettings(learningRate: learningRate, finalLearningRate: learningRate / 10, steps: warmup + steps,
                          weightDecay: names ? 0.01 : 0.1, beta2: 0.99, gradientClip: names ? nil : 1)
    }

    /// Times `trainer` (``timeSteps(_:warmup:steps:)``) and prints the result with `params` and
    /// the dataset, batch, steps and warm-up.
    func report(_ trainer: some StepTrainer, benchmark: String, device: String, json: Bool, params: [String: Any]) throws {
        let times = try timeSteps(trainer, warmup: warmup, steps: steps)
        try printStepTimes(times, benchmark: benchmark, device: device, json: json,
                           params: params.merging(["dataset": dataset.rawValue, "batch": batchSize, "steps": steps, "warmup": warmup]) { a, _ in a })
    }
}
