import ArgumentParser
import Foundation
import Models
import TensorGraph

struct Next: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the next-character distribution for a context; optionally change a weight and show it again.",
        discussion: """
            --set takes NAME[i,j]=VALUE (or NAME[i]=VALUE) on a parameter, e.g. output.bias[5]=4. \
            --connect X:Y makes context character X push the output towards Y: it adds --strength to \
            the hidden-to-output path, by raising output.weight[Y, h] for the hidden units h that X's \
            embedding (through the last context position) drives most.
            """)

    @Argument(help: "Model kind: mlp.")
    var model: String
    @Option(help: "Checkpoint file (safetensors).")
    var checkpoint: String
    @Option(help: "Context text, e.g. \"emm\" (shorter contexts are padded with the end token).")
    var context: String = ""
    @Option(help: "How many of the most likely characters to show.")
    var topK: Int = 10
    @Option(parsing: .singleValue, help: "Set a weight: NAME[i,j]=VALUE (repeatable).")
    var set: [String] = []
    @Option(help: "Draw a connection: X:Y makes context character X raise output Y.")
    var connect: String?
    @Option(help: "Strength of --connect.")
    var strength: Float = 2
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        guard model == "mlp" else { throw ValidationError("unknown model '\(model)'; models: mlp") }
        guard topK > 0 else { throw ValidationError("--top-k must be positive") }
    }

    func run() throws {
        try reportingErrors {
            let (configuration, checkpoint) = try loadMLP(self.checkpoint)
            let inference = try MLPInference(configuration, vocabulary: checkpoint.vocabulary, backend: try runOptions.backend(),
                                             parameters: checkpoint.parameters)
            let contextTokens = try inference.context(for: context)
            let before = try inference.logits(context: contextTokens)
            print("context \(context.debugDescription) → next character:")
            if set.isEmpty && connect == nil {
                printDistribution(before, vocabulary: checkpoint.vocabulary, topK: topK)
                return
            }
            for assignment in set { try apply(assignment, to: inference) }
            if let connect { try drawConnection(connect, inference: inference, configuration: configuration, vocabulary: checkpoint.vocabulary) }
            let after = try inference.logits(context: contextTokens)
            printDistribution(after, vocabulary: checkpoint.vocabulary, topK: topK, compare: before)
        }
    }

    /// NAME[i,j]=VALUE
    private func apply(_ assignment: String, to inference: MLPInference) throws {
        let pattern = assignment.split(separator: "=", maxSplits: 1)
        guard pattern.count == 2, let value = Float(pattern[1]), let open = pattern[0].firstIndex(of: "["),
              pattern[0].hasSuffix("]") else {
            throw ValidationError("--set expects NAME[i,j]=VALUE, got '\(assignment)'")
        }
        let name = String(pattern[0][..<open])
        let indices = pattern[0][pattern[0].index(after: open)..<pattern[0].index(before: pattern[0].endIndex)]
            .split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        var tensor = try inference.parameter(name)
        guard indices.count == tensor.shape.rank, zip(indices, tensor.shape.dims).allSatisfy({ $0 >= 0 && $0 < $1 }) else {
            throw ValidationError("--set: \(name) has shape \(tensor.shape); index \(indices) is outside it")
        }
        let offset = zip(indices, tensor.shape.strides).reduce(0) { $0 + $1.0 * $1.1 }
        var values = tensor.floats
        print("set \(name)\(indices) from \(values[offset]) to \(value)")
        values[offset] = value
        tensor = TensorData(shape: tensor.shape, floats: values)
        try inference.setParameter(name, tensor)
    }

    private func drawConnection(_ text: String, inference: MLPInference, configuration: MLPConfiguration,
                                vocabulary: CharVocabulary) throws {
        let parts = Array(text)
        guard parts.count == 3, parts[1] == ":", let from = vocabulary.id(of: parts[0]), let to = vocabulary.id(of: parts[2]) else {
            throw ValidationError("--connect expects X:Y with two characters of the vocabulary, got '\(text)'")
        }
        // Hidden units that X in the last context position drives: W1[:, last block] · emb[X].
        let connection = try inference.connect(from: from, to: to, strength: strength)
        print("connected '\(parts[0])' → '\(parts[2])' through \(connection.changes.count) hidden units (strength \(strength))")
    }
}
