import ArgumentParser
import Foundation
import Models
import TensorGraph

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the loss of a data split.")

    @Argument(help: "Model kind: mlp or gpt.")
    var model: String
    @Option(help: "Checkpoint file (safetensors); without it, the reference initialisation (seed 1337).")
    var checkpoint: String?
    @Option(help: "Folder with train.txt, val.txt, test.txt (a Shakespeare gpt: input.txt or its folder; val and test are its last 10%).")
    var data: String
    @Option(help: "Split to evaluate: train, val or test.")
    var split: String = "val"
    @Option(help: "Batch size of the evaluation windows.")
    var batch: Int = 128
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        guard ["mlp", "gpt"].contains(model) else { throw ValidationError("unknown model '\(model)'; models: mlp, gpt") }
        if model == "gpt", checkpoint == nil { throw ValidationError("a gpt needs --checkpoint") }
        guard ["train", "val", "test"].contains(split) else { throw ValidationError("--split must be train, val or test") }
        guard batch > 0 else { throw ValidationError("--batch must be positive") }
    }

    func run() throws {
        try reportingErrors {
            if model == "gpt", let checkpoint { return try evaluateGPT(checkpoint) }
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

    private func evaluateGPT(_ path: String) throws {
        let (configuration, checkpoint) = try loadGPT(path)
        let kind: GPTDataset.Kind = checkpoint.vocabulary == .names ? .names : .shakespeare
        let dataset = try GPTDataset(kind, path: data, block: configuration.blockSize)
        guard dataset.vocabulary == checkpoint.vocabulary, dataset.sequenceLength == configuration.blockSize else {
            throw ValidationError("\(data) does not match \(path): vocabulary \(dataset.vocabulary.count) vs \(checkpoint.vocabulary.count), "
                                  + "sequence \(dataset.sequenceLength) vs block \(configuration.blockSize)")
        }
        let evaluator = try GPTEvaluator(configuration, sequence: configuration.blockSize, batchSize: batch, backend: try runOptions.backend(),
                                         weightFormats: ModelQuantization.formats(of: checkpoint.parameters))
        try evaluator.setParameters(checkpoint.parameters)
        let source = split == "train" ? dataset.train : split == "val" ? dataset.validation : dataset.test
        print(String(format: "%@_loss %.4f", split, try evaluator.loss(of: source)))
    }
}
