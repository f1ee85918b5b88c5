import DurableFiles
import Foundation
import Models
import TensorGraph

/// A names MLP being edited: the device plan (through ``MLPInference``), a host copy of its
/// parameters for the view, the loaded values for reset, and an undo stack. Not thread-safe: the
/// ``PlaygroundState`` actor owns it, so each request sees every edit whole or not at all.
final class MLPSession {
    let inference: MLPInference
    let checkpointPath: String
    private let checkpoint: Checkpoint
    private var parameters: [String: TensorData]
    private var undoStack: [(name: String, value: TensorData)] = []
    /// Hidden units the view shows.
    static let shownUnits = 24

    var configuration: MLPConfiguration { inference.configuration }
    var vocabulary: CharVocabulary { inference.vocabulary }

    init(_ configuration: MLPConfiguration, checkpoint: Checkpoint, path: String, backend: any Backend) throws {
        inference = try MLPInference(configuration, vocabulary: checkpoint.vocabulary, backend: backend, parameters: checkpoint.parameters)
        self.checkpoint = checkpoint
        checkpointPath = path
        parameters = checkpoint.parameters
    }

    /// The padded context tokens of `text`, refusing characters outside the vocabulary.
    func contextTokens(_ text: String?) throws -> [Int32] {
        do {
            return try inference.context(for: text ?? "")
        } catch let error as DataError {
            throw PlaygroundError.badRequest("'context': \(error)")
        }
    }

    func view(_ text: String?) throws -> MLPView {
        let tokens = try contextTokens(text)
        let logits = try inference.logits(context: tokens)
        let c = configuration
        let embedding = parameters["embedding.weight"]!.floats, hiddenWeight = parameters["hidden.weight"]!.floats
        let hiddenBias = parameters["hidden.bias"]!.floats, output = parameters["output.weight"]!.floats
        let fanIn = c.context * c.embedding
        var drives = [[Float]](repeating: [Float](repeating: 0, count: c.context), count: c.hidden)
        var activations = [Float](repeating: 0, count: c.hidden), scores = [Float](repeating: 0, count: c.hidden)
        for h in 0..<c.hidden {
            for (p, token) in tokens.enumerated() {
                var sum: Float = 0
                for k in 0..<c.embedding { sum += hiddenWeight[h * fanIn + p * c.embedding + k] * embedding[Int(token) * c.embedding + k] }
                drives[h][p] = sum
            }
            activations[h] = Foundation.tanh(drives[h].reduce(hiddenBias[h], +))
            scores[h] = (0..<c.vocabulary).map { abs(activations[h] * output[$0 * c.hidden + h]) }.max() ?? 0
        }
        let shown = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }.prefix(Self.shownUnits)
        let units = shown.map { h in
            MLPView.Unit(unit: h, activation: activations[h], drive: drives[h], outgoing: (0..<c.vocabulary).map { output[$0 * c.hidden + h] })
        }
        return MLPView(context: text ?? "", contextLabels: tokens.map { label(Int($0)) },
                       labels: (0..<c.vocabulary).map(label), logits: logits,
                       probabilities: Sampler(temperature: 1).distribution(logits), units: units, edits: undoStack.count)
    }

    func label(_ token: Int) -> String { vocabulary.characters[token] == "\n" ? "⏎" : String(vocabulary.characters[token]) }

    /// `name[index] = value`; validated before anything changes.
    func set(name: String, index: [Int], value: Double) throws -> [MLPEditResponse.Change] {
        guard let tensor = parameters[name] else {
            throw PlaygroundError.badRequest("'name': no parameter '\(name)'; parameters: \(parameters.keys.sorted().joined(separator: ", "))")
        }
        guard index.count == tensor.shape.rank, zip(index, tensor.shape.dims).allSatisfy({ $0 >= 0 && $0 < $1 }) else {
            throw PlaygroundError.badRequest("'index': \(name) has shape \(tensor.shape); index \(index) is outside it")
        }
        let new = try finite(value, "value")
        let offset = zip(index, tensor.shape.strides).reduce(0) { $0 + $1.0 * $1.1 }
        var values = tensor.floats
        let old = values[offset]
        values[offset] = new
        try replace(name, with: TensorData(shape: tensor.shape, floats: values))
        return [.init(name: name, index: index, old: old, new: new)]
    }

    /// The `--connect` rule from the character at context `position` (default: the last) to `to`.
    func connect(context: String?, position: Int?, to: String, strength: Double?) throws -> [MLPEditResponse.Change] {
        let tokens = try contextTokens(context)
        let position = position ?? configuration.context - 1
        guard (0..<configuration.context).contains(position) else {
            throw PlaygroundError.badRequest("'position' must be in 0..<\(configuration.context) (the context length), got \(position)")
        }
        guard to.count == 1, let target = vocabulary.id(of: to.first!) else {
            throw PlaygroundError.badRequest("'to' must be one character of the vocabulary \(String(vocabulary.characters).debugDescription), got \(to.debugDescription)")
        }
        let strength = try finite(strength ?? 2, "strength")
        let before = parameters["output.weight"]!
        let connection = try inference.connect(from: tokens[position], to: target, strength: strength, position: position)
        parameters["output.weight"] = try inference.parameter("output.weight")
        undoStack.append(("output.weight", before))
        return connection.changes.map { .init(name: "output.weight", index: [Int(target), $0.unit], old: $0.old, new: $0.new) }
    }

    func undo() throws -> [MLPEditResponse.Change] {
        guard let (name, value) = undoStack.last else { throw PlaygroundError.badRequest("nothing to undo") }
        let changes = Self.differences(name, from: parameters[name]!, to: value)
        try inference.setParameter(name, value)
        parameters[name] = value
        undoStack.removeLast()
        return changes
    }

    func reset() throws -> [MLPEditResponse.Change] {
        var changes: [MLPEditResponse.Change] = []
        for name in parameters.keys.sorted() where parameters[name] != checkpoint.parameters[name] {
            changes += Self.differences(name, from: parameters[name]!, to: checkpoint.parameters[name]!)
            try inference.setParameter(name, checkpoint.parameters[name]!)
            parameters[name] = checkpoint.parameters[name]!
        }
        undoStack.removeAll()
        return changes
    }

    func sample(count: Int?, seed: UInt64?, temperature: Double?) throws -> [String] {
        let count = count ?? 10
        guard (1...100).contains(count) else { throw PlaygroundError.badRequest("'count' must be in 1...100, got \(count)") }
        let t = temperature ?? 1
        guard t.isFinite, t > 0 else { throw PlaygroundError.badRequest("'temperature' must be finite and positive, got \(t)") }
        var sampler = Sampler(seed: seed ?? 42, temperature: t)
        return try (0..<count).map { _ in try inference.sampleName(&sampler) }
    }

    /// Writes the current weights as a new checkpoint `file` beside the loaded one; refuses a path
    /// that exists (the loaded checkpoint included) or a name with a folder in it.
    func save(file: String) throws -> String {
        guard !file.isEmpty, !file.contains("/"), !file.hasPrefix("."), file.hasSuffix(".safetensors") else {
            throw PlaygroundError.badRequest("'file' must be a plain file name ending in .safetensors (it is written beside the loaded checkpoint), got \(file.debugDescription)")
        }
        let folder = URL(fileURLWithPath: checkpointPath).deletingLastPathComponent()
        let path = folder.appendingPathComponent(file).path
        guard !FileManager.default.fileExists(atPath: path) else {
            throw PlaygroundError.badRequest("'file': \(path) exists; the playground never overwrites a checkpoint, choose a new name")
        }
        var saved = checkpoint
        saved.parameters = parameters
        saved.optimizerState = [:]
        guard saved.nonFiniteValues.isEmpty else { throw PlaygroundError.badRequest("the weights hold non-finite values: \(saved.nonFiniteValues)") }
        do {
            try saved.write(to: path)
        } catch let error as DurableFileError {
            throw PlaygroundError.badRequest("'file': \(error)")
        }
        return path
    }

    private func replace(_ name: String, with value: TensorData) throws {
        try inference.setParameter(name, value)
        undoStack.append((name, parameters[name]!))
        parameters[name] = value
    }

    private static func differences(_ name: String, from old: TensorData, to new: TensorData) -> [MLPEditResponse.Change] {
        let a = old.floats, b = new.floats
        return a.indices.filter { a[$0] != b[$0] }.map { offset in
            var rest = offset
            let index = old.shape.strides.map { stride -> Int in defer { rest %= stride }; return rest / stride }
            return .init(name: name, index: index, old: a[offset], new: b[offset])
        }
    }
}
