import ArgumentParser
import Foundation
import Models
import TensorGraph

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the loss of a data split.")

    @Argument(help: "Model kind: mlp.")
    var model: String
    @Option(help: "Checkpoint file (safetensors); without it, the reference initialisation (seed 1337).")
    var checkpoint: String?
    @Option(help: "Folder with train.txt, val.txt, test.txt.")
    var data: String
    @Option(help: "Split to evaluate: train, val or test.")
    var split: String = "val"
    @Option(help: "Batch size of the evaluation windows.")
    var batch: Int = 128
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        guard model == "mlp" else { throw ValidationError("unknown model '\(model)'; models: mlp") }
        guard ["train", "val", "test"].contains(split) else { throw ValidationError("--split must be train, val or test") }
        guard batch > 0 else { throw ValidationError("--batch must be positive") }
    }

    func run() throws {
        try reportingErrors {
            let (configuration, parameters, vocabulary): (MLPConfiguration, [String: TensorData], CharVocabulary)
            if let checkpoint {
                let (loadedConfiguration, loaded) = try loadMLP(checkpoint)
                (configuration, parameters, vocabulary) = (loadedConfiguration, loaded.parameters, loaded.vocabulary)
            } else {
                configuration = MLPConfiguration()
                parameters = MLPModel.initialParameters(configuration)
                vocabulary = .names
            }
            let stream = try TokenStream(contentsOf: "\(data)/\(split).txt", vocabulary: vocabulary)
            let evaluator = try MLPEvaluator(configuration, batchSize: batch, backend: try runOptions.backend(),
                                             weightFormats: ModelQuantization.formats(of: parameters))
            try evaluator.setParameters(parameters)
            print(String(format: "%@_loss %.4f", split, try evaluator.loss(of: stream)))
        }
    }
}
