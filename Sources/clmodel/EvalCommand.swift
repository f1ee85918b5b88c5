import ArgumentParser
import Foundation
import Models
import TensorGraph

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the loss of a data split.",
        discussion: "A non-finite loss (NaN or ±Inf) is an error (exit 3), not a result.")

    @Argument(help: "Model kind: mlp, gpt or babyllm.")
    var model: String
    @Option(help: "Checkpoint file (safetensors); without it, the reference initialisation (seed 1337).")
    var checkpoint: String?
    @Option(help: "Folder with train.txt, val.txt, test.txt (a Shakespeare gpt: input.txt or its folder; val and test are its last 10%). Default: the bundled data set of the model.")
    var data: String?
    @Option(help: "Split to evaluate: train, val or test.")
    var split: String = "val"
    @Option(help: "Batch size of the evaluation windows.")
    var batch: Int = 128
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        guard ["mlp", "gpt", "babyllm"].contains(model) else { throw ValidationError("unknown model '\(model)'; models: mlp, gpt, babyllm") }
        if model != "mlp", checkpoint == nil { throw ValidationError("a \(model) needs --checkpoint") }
        guard GPTDataset.Split(rawValue: split) != nil else { throw ValidationError("--split must be train, val or test") }
        guard batch > 0 else { throw ValidationError("--batch must be positive") }
    }

    func run() throws {
        try reportingErrors {
            if model == "gpt", let checkpoint { return try evaluateGPT(checkpoint) }
            if model == "babyllm", let checkpoint { return try evaluateBabyLLM(checkpoint) }
            let (configuration, parameters, vocabulary): (MLPConfiguration, [String: TensorData], CharVocabulary)
            if let checkpoint {
                let (loadedConfiguration, loaded) = try loadMLP(checkpoint)
                (configuration, parameters, vocabulary) = (loadedConfiguration, loaded.parameters, loaded.vocabulary)
            } else {
                configuration = MLPConfiguration()
                parameters = MLPModel.initialParameters(configuration)
                vocabulary = .names
            }
            let folder = try data ?? BundledData.namesFolder()
            let stream = vocabulary == .names ? try TokenStream(namesFolder: folder, split: split)
                : try TokenStream(contentsOf: (folder as NSString).appendingPathComponent("\(split).txt"), vocabulary: vocabulary)
            let evaluator = try MLPEvaluator(configuration, batchSize: batch, backend: try runOptions.backend(),
                                             weightFormats: ModelQuantization.formats(of: parameters))
            try evaluator.setParameters(parameters)
            try printLoss(try evaluator.loss(of: stream), of: stream.source)
        }
    }

    /// Prints `<split>_loss X`; a non-finite loss is an error (exit 3).
    private func printLoss(_ loss: Double, of source: String) throws {
        guard loss.isFinite else {
            throw CommandError.nonFinite("\(split)_loss is \(NonFiniteValues.describe(loss)) on \(source)"
                                         + (checkpoint.map { " with the weights of \($0)" } ?? ""))
        }
        print(String(format: "%@_loss %.4f", split, loss))
    }

    private func evaluateGPT(_ path: String) throws {
        let (configuration, checkpoint) = try loadGPT(path)
        let (source, dataPath) = try sequenceSplit(of: path, vocabulary: checkpoint.vocabulary, block: configuration.blockSize)
        let evaluator = try GPTEvaluator(configuration, sequence: configuration.blockSize, batchSize: batch, backend: try runOptions.backend(),
                                         weightFormats: ModelQuantization.formats(of: checkpoint.parameters))
        try evaluator.setParameters(checkpoint.parameters)
        try printLoss(try evaluator.loss(of: source), of: dataPath)
    }

    private func evaluateBabyLLM(_ path: String) throws {
        let (configuration, checkpoint) = try loadBabyLLM(path)
        let (source, dataPath) = try sequenceSplit(of: path, vocabulary: checkpoint.vocabulary, block: configuration.blockSize)
        let evaluator = try BabyLLMEvaluator(configuration, sequence: configuration.blockSize, batchSize: batch,
                                             backend: try runOptions.backend())
        try evaluator.setParameters(checkpoint.parameters)
        try printLoss(try evaluator.loss(of: source), of: dataPath)
    }

    /// The split to evaluate for a sequence model (gpt, babyllm) of the checkpoint at `path`: its
    /// data set follows the vocabulary (names or Shakespeare), read from --data or the bundled copy.
    private func sequenceSplit(of path: String, vocabulary: CharVocabulary, block: Int) throws -> (source: any SequenceSource, dataPath: String) {
        let kind: GPTDataset.Kind = vocabulary == .names ? .names : .shakespeare
        let dataPath = try data ?? (kind == .names ? BundledData.namesFolder() : BundledData.tinyShakespeare())
        do {
            return (try GPTDataset.split(GPTDataset.Split(rawValue: split)!, of: kind, path: dataPath, block: block, vocabulary: vocabulary),
                    dataPath)
        } catch let error as DataError {
            switch error {
            case .nameTooLong, .characterOutsideVocabulary, .tooShort: break
            case .unreadable, .namesFolderExpected: throw error
            }
            throw CommandError.badFile("\(error); it does not fit the checkpoint \(path), a \(kind.rawValue) model of vocabulary "
                                       + "\(String(vocabulary.characters).debugDescription) and block \(block)")
        }
    }
}
