import ArgumentParser
import CLBackend
import CLRuntime
import DurableFiles
import Foundation
import Models
import TensorGraph

/// Options shared by every subcommand that runs a model.
struct RunOptions: ParsableArguments {
    @Option(help: "OpenCL device: index or part of its name (default $CLGRAPH_DEVICE, else the first GPU, else the first device). 'reference' runs the plain-Swift reference backend.")
    var device: String?

    func backend() throws -> any Backend {
        if device?.lowercased() == "reference" { return ReferenceBackend() }
        return try OpenCLBackend(device: device)
    }
}

/// Runs `body`, printing library errors on stderr with a meaningful exit code (the README's
/// table): 2 data, checkpoint or output file problems, 3 non-finite values, 64 bad arguments,
/// 69 no OpenCL, 70 other runtime errors.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch let error as CommandError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(error.exitCode)
    } catch let error as DurableFileError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(2)
    } catch let error as Sampler.SettingError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(64)
    } catch let error as CLError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        switch error {
        case .noPlatform, .noDevice, .unknownDevice: throw ExitCode(69)
        default: throw ExitCode(70)
        }
    } catch let error as DataError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(2)
    } catch let error as SafeTensors.CheckpointError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(2)
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(70)
    }
}

/// Loads an MLP checkpoint and its configuration; warns on stderr when it holds NaN or ±Inf.
func loadMLP(_ path: String) throws -> (MLPConfiguration, Checkpoint) {
    let header = try Checkpoint.read(path)
    guard header.kind == "mlp" || header.kind == "unknown" else {
        throw CommandError.badFile("\(path) holds a '\(header.kind)' checkpoint, not an MLP")
    }
    let configuration = (try? JSONDecoder().decode(MLPConfiguration.self, from: Data(header.configurationJSON.utf8)))
        ?? MLPConfiguration(vocabulary: header.vocabulary.count)
    let checkpoint = try Checkpoint.read(path, expectedShapes: configuration.parameterShapes)
    warnIfNonFinite(checkpoint, path: path)
    return (configuration, checkpoint)
}

/// Loads a GPT checkpoint and its configuration; warns on stderr when it holds NaN or ±Inf.
func loadGPT(_ path: String) throws -> (GPTConfiguration, Checkpoint) {
    try loadSequenceModel(path, kind: "gpt", label: "GPT", validate: { try $0.validate() }, shapes: \.parameterShapes)
}

/// Loads a babyLLM checkpoint and its configuration; warns on stderr when it holds NaN or ±Inf.
func loadBabyLLM(_ path: String) throws -> (BabyLLMConfiguration, Checkpoint) {
    try loadSequenceModel(path, kind: "babyllm", label: "babyLLM", validate: { try $0.validate() }, shapes: \.parameterShapes)
}

/// Loads a checkpoint of `kind` whose metadata holds a `Configuration` as JSON: a checkpoint of
/// another kind, a configuration that is missing, unreadable or fails `validate`, and tensors that
/// are not the configuration's `shapes` are errors (exit 2) naming the file.
private func loadSequenceModel<Configuration: Decodable>(_ path: String, kind: String, label: String,
                                                         validate: (Configuration) throws -> Void,
                                                         shapes: (Configuration) -> [(name: String, shape: Shape)]) throws -> (Configuration, Checkpoint) {
    let header = try Checkpoint.read(path)
    guard header.kind == kind else { throw CommandError.badFile("\(path) holds a '\(header.kind)' checkpoint, not a \(label)") }
    guard let configuration = try? JSONDecoder().decode(Configuration.self, from: Data(header.configurationJSON.utf8)) else {
        throw CommandError.badFile("\(path): the \(label) configuration in its metadata is missing or unreadable")
    }
    do {
        try validate(configuration)
    } catch {
        throw CommandError.badFile("\(path): the \(label) configuration in its metadata does not fit together: \(error)")
    }
    let checkpoint = try Checkpoint.read(path, expectedShapes: shapes(configuration))
    warnIfNonFinite(checkpoint, path: path)
    return (configuration, checkpoint)
}

/// Prints a warning naming the file and each tensor that holds NaN or ±Inf.
func warnIfNonFinite(_ checkpoint: Checkpoint, path: String) {
    let values = checkpoint.nonFiniteValues
    guard !values.isEmpty else { return }
    FileHandle.standardError.write(Data("warning: checkpoint \(path) holds non-finite values: \(values)\n".utf8))
}

/// Writes `checkpoint` durably, refusing one whose weights or optimizer state hold NaN or ±Inf
/// (an existing checkpoint at `path` stays as it is).
func writeCheckpoint(_ checkpoint: Checkpoint, to path: String) throws {
    let values = checkpoint.nonFiniteValues
    guard values.isEmpty else {
        throw CommandError.nonFinite("not writing \(path): the weights of step \(checkpoint.step) hold non-finite values: \(values)")
    }
    try checkpoint.write(to: path)
}

/// A GPT prompt's tokens; a names model's prompt follows the end token, as every name does in training.
func gptPromptTokens(_ text: String, vocabulary: CharVocabulary) throws -> [Int32] {
    var tokens = try vocabulary.encode(text, source: "--prompt")
    if vocabulary == .names, let end = vocabulary.id(of: "\n"), tokens.first != end { tokens.insert(end, at: 0) }
    return tokens
}

/// How a token shows in tables and heat maps (`⏎` for the end token).
func tokenLabel(_ index: Int, _ vocabulary: CharVocabulary) -> String {
    vocabulary.characters[index] == "\n" ? "⏎" : String(vocabulary.characters[index])
}

/// The `topK` most likely next tokens after `logits` with bars, and each one's probability under
/// `compare` (the logits before a change) when given.
func printDistribution(_ logits: [Float], vocabulary: CharVocabulary, topK: Int, compare: [Float]? = nil) {
    let probabilities = { (logits: [Float]) in Sampler(temperature: 1).distribution(logits) }
    let p = probabilities(logits)
    let old = compare.map(probabilities)
    for index in p.indices.sorted(by: { p[$0] > p[$1] }).prefix(topK) {
        let name = tokenLabel(index, vocabulary)
        let bar = String(repeating: "█", count: Int((p[index] * 40).rounded()))
        if let old {
            print(String(format: "  %@  %6.2f%%  (was %6.2f%%)  %@", name, 100 * p[index], 100 * old[index], bar))
        } else {
            print(String(format: "  %@  %6.2f%%  %@", name, 100 * p[index], bar))
        }
    }
}
