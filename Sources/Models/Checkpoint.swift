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

    /// The parameters and optimizer state (`optimizer/…`) that hold NaN or ±Inf.
    public var nonFiniteValues: NonFiniteValues {
        NonFiniteValues(parameters.merging(optimizerState.map { ("optimizer/" + $0.key, $0.value) }) { first, _ in first })
    }

    /// Reads a checkpoint; `expectedShapes` (name → shape) are checked when given: every one must be
    /// there with that shape, and no other parameter may be (optimizer state aside). A file written by
    /// PyTorch without CLGraph metadata loads as kind `unknown` with the names vocabulary.
    public static func read(_ path: String, expectedShapes: [(name: String, shape: Shape)]? = nil) throws -> Checkpoint {
        let (tensors, metadata) = try SafeTensors.read(path)
        var parameters: [String: TensorData] = [:]
        var optimizerState: [String: TensorData] = [:]
        for (name, entry) in tensors {
            let quantized = try QuantizedCheckpointEntry.decode(entry, metadata: metadata[QuantizedCheckpointEntry.metadataPrefix + name],
                                                                name: name, path: path)
            // A plain F16 tensor (a half-precision PyTorch checkpoint) widens to f32 exactly.
            guard quantized != nil || entry.dtype == .f32 || entry.dtype == .f16 else {
                throw SafeTensors.CheckpointError.unsupportedDType(path: path, name: name, dtype: entry.dtype.rawValue,
                                                                   expected: "F32 or F16 (or U8 blocks of q8_0 / q4_0 with their metadata)")
            }
            let value = try quantized ?? TensorData(shape: Shape(entry.shape), floats: entry.floats())
            if name.hasPrefix("optimizer/") { optimizerState[String(name.dropFirst("optimizer/".count))] = value }
            else { parameters[name] = value }
        }
        if let expectedShapes {
            let expectedNames = expectedShapes.map(\.name)
            if let extra = parameters.keys.sorted().first(where: { !expectedNames.contains($0) }) {
                throw SafeTensors.CheckpointError.unexpectedTensor(path: path, name: extra, expected: expectedNames)
            }
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
