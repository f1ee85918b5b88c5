import ArgumentParser
import Foundation
import Models
import TensorGraph

struct TrainMLP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mlp",
        abstract: "Train the names MLP (Bengio 2003) with AdamW; defaults are the reference's hyperparameters.",
        discussion: """
            Prints `step N | train_loss X | val_loss Y | lr Z | ms/step W` every --log-every steps (train_loss is the
            mean batch loss since the previous line; val_loss every --eval-every steps) and ends with `test_loss T`.
            """)

    @Option(help: "Folder with train.txt, val.txt and test.txt (default: the bundled names splits).")
    var data: String?
    @Option(help: "Training steps in total (a resumed run continues to this count).")
    var steps: Int = 50_000
    @Option(help: "Windows per batch.")
    var batch: Int = 128
    @Option(help: "Peak learning rate (cosine decay to --final-lr over --steps).")
    var lr: Float = 7e-4
    @Option(help: "Learning rate at the last step.")
    var finalLr: Float = 0
    @Option(help: "Linear warm-up steps.")
    var warmup: Int = 0
    @Option(help: "AdamW decoupled weight decay (applied to every parameter).")
    var weightDecay: Float = 1e-4
    @Option(help: "Clip gradients to this global L2 norm (default: no clipping).")
    var gradientClip: Float?
    @Option(help: "Context characters (default 3; a resumed run takes the checkpoint's).")
    var context: Int?
    @Option(help: "Embedding width (default 48; a resumed run takes the checkpoint's).")
    var embedding: Int?
    @Option(help: "Hidden units (default 512; a resumed run takes the checkpoint's).")
    var hidden: Int?
    @Option(help: "Seed of the reference initialisation.")
    var seed: UInt64 = 1337
    @OptionGroup var output: TrainingOutputOptions
    static let outputDefaults = TrainingOutputDefaults(logEvery: 1000, evalEvery: 5000, checkpoint: "mlp.safetensors")
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        for (name, value) in [("--steps", steps), ("--batch", batch),
                              ("--context", context ?? 1), ("--embedding", embedding ?? 1), ("--hidden", hidden ?? 1)] where value <= 0 {
            throw ValidationError("\(name) must be positive, got \(value)")
        }
        guard lr > 0, lr.isFinite, finalLr >= 0, finalLr.isFinite, weightDecay >= 0, weightDecay.isFinite, warmup >= 0 else {
            throw ValidationError("--lr must be positive; --final-lr, --weight-decay and --warmup not negative; all finite")
        }
        if let gradientClip, gradientClip <= 0 { throw ValidationError("--gradient-clip must be positive") }
    }

    func run() throws {
        try reportingErrors {
            try output.checkWritable(Self.outputDefaults)
            var model = MLPConfiguration(vocabulary: CharVocabulary.names.count, context: context ?? 3, embedding: embedding ?? 48,
                                         hidden: hidden ?? 512)
            var parameters: [String: TensorData] = [:]
            var optimizerState: [String: TensorData] = [:]
            var startStep = 0
            if let resume = output.resume {
                let (loadedModel, loaded) = try loadMLP(resume)
                try checkResumeFlags(resume, [("--context", context.map(String.init), "\(loadedModel.context)"),
                                              ("--embedding", embedding.map(String.init), "\(loadedModel.embedding)"),
                                              ("--hidden", hidden.map(String.init), "\(loadedModel.hidden)")])
                (model, parameters, optimizerState, startStep) = (loadedModel, loaded.parameters, loaded.optimizerState, loaded.step)
                print("resumed from \(resume) at step \(startStep)")
            } else {
                parameters = MLPModel.initialParameters(model, seed: seed)
            }
            var training = MLPTrainingConfiguration()
            training.steps = steps
            training.batchSize = batch
            training.learningRate = lr
            training.finalLearningRate = finalLr
            training.warmupSteps = warmup
            training.weightDecay = weightDecay
            training.gradientClip = gradientClip

            let vocabulary = CharVocabulary.names
            let folder = try data ?? BundledData.namesFolder()
            let split = { (name: String) in try TokenStream(namesFolder: folder, split: name) }
            let (train, validation, test) = (try split("train"), try split("val"), try split("test"))
            let backend = try runOptions.backend()
            let trainer = try MLPTrainer(model: model, training: training, data: train, backend: backend,
                                         parameters: parameters, optimizerState: optimizerState, step: startStep)
            let evaluator = try MLPEvaluator(model, batchSize: batch, backend: backend)
            let configurationJSON = String(decoding: try JSONEncoder().encode(model), as: UTF8.self)
            func evaluate(_ stream: TokenStream) throws -> Double {
                try evaluator.setParameters(try trainer.parameters())
                return try evaluator.loss(of: stream)
            }
            func save(to checkpoint: String) throws {
                try writeCheckpoint(Checkpoint(kind: "mlp", configurationJSON: configurationJSON, vocabulary: vocabulary, step: trainer.step,
                                               parameters: try trainer.parameters(), optimizerState: try trainer.optimizerState()),
                                    to: checkpoint)
            }

            print("device: \(backend.name)")
            print("data: \(folder)")
            print("model: context \(model.context), embedding \(model.embedding), hidden \(model.hidden), vocabulary \(model.vocabulary); "
                  + "AdamW lr \(lr) → \(finalLr) cosine over \(steps) steps, weight decay \(weightDecay), batch \(batch)")
            try runTraining(trainer, totalSteps: steps, output: output, defaults: Self.outputDefaults, backend: backend,
                            plotTitle: "names MLP — \(backend.name)", validate: { try evaluate(validation) },
                            test: { try evaluate(test) }, save: save)
        }
    }
}
