import TensorGraph

/// A module's weights as a plain safetensors file: tensors by parameter name and no CLGraph
/// model metadata, what PyTorch's `safetensors.torch.save_file` writes for a `state_dict`.
extension SafeTensors {
    /// Writes `parameters` (``Module/values(in:)``) to `path`; quantized and half-precision
    /// values are stored as ``Checkpoint`` stores them.
    public static func write(parameters: [String: TensorData], to path: String) throws {
        var tensors: [String: Entry] = [:]
        var metadata = ["format": "pt"]
        for (name, value) in parameters {
            if let (entry, quantization) = QuantizedCheckpointEntry.encode(value) {
                tensors[name] = entry
                metadata[QuantizedCheckpointEntry.metadataPrefix + name] = quantization
            } else {
                tensors[name] = Entry(floats: value.floats, shape: value.shape.dims)
            }
        }
        try write(tensors, metadata: metadata, to: path)
    }

    /// The parameters stored at `path`, checked against `expectedShapes` (``Module/parameterShapes``)
    /// when given: each must be there with that shape, and no other.
    /// - Throws: ``CheckpointError`` naming the file and the tensor.
    public static func readParameters(_ path: String, expectedShapes: [(name: String, shape: Shape)]? = nil) throws -> [String: TensorData] {
        try Checkpoint.read(path, expectedShapes: expectedShapes).parameters
    }
}
