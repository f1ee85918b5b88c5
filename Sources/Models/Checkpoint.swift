import Foundation
import TensorGraph

/// A model checkpoint in safetensors: parameters as F32 tensors, and in `__metadata__` the model
/// kind, its configuration (JSON), the vocabulary and the training state (step) for resuming.
public struct Checkpoint: Sendable {
    public var kind: String
    public var configurationJSON: String
    public var vocabulary: CharVocabulary
    public var step: Int
    public var parameters: [String: TensorData]
    /// Optimizer state tensors (e.g. AdamW moments), saved beside the parameters under `optimizer/…`.
    public var optimizerState: [String: TensorData]

    public init(kind: String, configurationJSON: String, vocabulary: CharVocabulary, step: Int,
                parameters: [String: TensorData], optimizerState: [String: TensorData] = [:]) {
        self.kind = kind
        self.configurationJSON = configurationJSON
        self.vocabulary = vocabulary
        self.step = step
        self.parameters = parameters
        self.optimizerState = optimizerState
    }

    public func write(to path: String) throws {
        var tensors: [String: SafeTensors.Entry] = [:]
        var quantMetadata: [String: String] = [:]
        for (name, value) in parameters {
            if let (entry, metadata) = QuantizedCheckpointEntry.encode(value) {
                tensors[name] = entry
                quantMetadata[QuantizedCheckpointEntry.metadataPrefix + name] = metadata
            } else {
                tensors[name] = SafeTensors.Entry(floats: value.floats, shape: value.shape.dims)
            }
        }
        for (name, value) in optimizerState {
            tensors["optimizer/" + name] = SafeTensors.Entry(floats: value.floats, shape: value.shape.dims)
        }
        try SafeTensors.write(tensors, metadata: [
            "format": "pt", "clgraph.kind": kind, "clgraph.config": configurationJSON,
            "clgraph.vocabulary": String(vocabulary.characters), "clgraph.step": String(step),
        ].merging(quantMetadata) { first, _ in first }, to: path)
    }

    /// Reads a checkpoint; `expectedShapes` (name → shape) are checked when given. Files written by
    /// PyTorch without CLGraph metadata load when `defaultKind`/`defaultConfigurationJSON` are given.
    public static func read(_ path: String, expectedShapes: [(name: String, shape: Shape)]? = nil) throws -> Checkpoint {
        let (tensors, metadata) = try SafeTensors.read(path)
        var parameters: [String: TensorData] = [:]
        var optimizerState: [String: TensorData] = [:]
        for (name, entry) in tensors {
            let value = try QuantizedCheckpointEntry.decode(entry, metadata: metadata[QuantizedCheckpointEntry.metadataPrefix + name],
                                                            name: name, path: path)
                ?? TensorData(shape: Shape(entry.shape), floats: try entry.floats())
            if name.hasPrefix("optimizer/") { optimizerState[String(name.dropFirst("optimizer/".count))] = value }
            else { parameters[name] = value }
        }
        if let expectedShapes {
            for (name, shape) in expectedShapes {
                guard let value = parameters[name] else { throw SafeTensors.CheckpointError.missingTensor(path: path, name: name) }
                guard value.shape == shape else {
                    throw SafeTensors.CheckpointError.shapeMismatch(path: path, name: name, expected: shape.dims, got: value.shape.dims)
                }
            }
        }
        let vocabulary = metadata["clgraph.vocabulary"].map { CharVocabulary(characters: Array($0)) } ?? .names
        return Checkpoint(kind: metadata["clgraph.kind"] ?? "unknown", configurationJSON: metadata["clgraph.config"] ?? "{}",
                          vocabulary: vocabulary, step: Int(metadata["clgraph.step"] ?? "0") ?? 0,
                          parameters: parameters, optimizerState: optimizerState)
    }
}
