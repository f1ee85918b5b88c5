import TensorGraph

/// Quantizing a model's 2-D weight matrices (`q8_0` / `q4_0`, or half precision `f16`) for inference.
///
/// Only matrices read as `linear` weights `[out, in]` can be quantized, and for the block formats
/// only when `in` (K, the blocked axis) is a multiple of 32; others stay f32 and are reported as
/// skipped (`f16` takes any K). Embedding tables and biases always stay f32.
public enum ModelQuantization {
    /// The result of quantizing a set of parameters.
    public struct Result: Sendable {
        /// Every parameter: the quantized ones as llama.cpp-layout `TensorData`, the rest unchanged.
        public var parameters: [String: TensorData]
        /// Names that were quantized.
        public var quantized: [String]
        /// Names asked for but left f32, with the reason.
        public var skipped: [String: String]
    }

    /// Quantizes the parameters named in `names` to `format`.
    /// - Throws: ``QuantizationError`` when a named parameter is missing or not a rank-2 f32 matrix.
    public static func quantize(_ parameters: [String: TensorData], names: [String], format: QuantFormat) throws -> Result {
        var result = Result(parameters: parameters, quantized: [], skipped: [:])
        for name in names.sorted() {
            guard let value = parameters[name] else { throw QuantizationError("quantize: no parameter '\(name)'") }
            guard value.dtype == .f32, value.shape.rank == 2 else {
                throw QuantizationError("quantize: '\(name)' is \(value.dtype.rawValue) \(value.shape), expected an f32 [out, in] matrix")
            }
            guard value.shape[1] % format.blockSize == 0 else {
                result.skipped[name] = "K = \(value.shape[1]) is not a multiple of \(format.blockSize); left f32"
                continue
            }
            result.parameters[name] = try value.quantized(format)
            result.quantized.append(name)
        }
        return result
    }

    /// The quantized format of each quantized parameter (what a model graph must declare).
    public static func formats(of parameters: [String: TensorData]) -> [String: QuantFormat] {
        parameters.compactMapValues { $0.dtype.quantFormat }
    }
}

extension MLPConfiguration {
    /// The MLP's `linear` weight matrices, the candidates for quantization. `hidden.weight`
    /// is [hidden, context·embedding] = [512, 144] by default: K = 144 is not a multiple of 32,
    /// so it stays f32 (padding K would need a padded input too); `output.weight` [27, 512] quantizes.
    public var quantizableWeights: [String] { ["hidden.weight", "output.weight"] }
}

extension GPTConfiguration {
    /// The GPT's `linear` weight matrices (attention and MLP projections, the head): K is the
    /// embedding or 4× it, a multiple of 32 for the usual widths. Embedding tables stay f32.
    public var quantizableWeights: [String] {
        parameterShapes.map(\.name).filter { $0.hasSuffix(".weight") && ($0.contains(".c_") || $0 == "lm_head.weight") }
    }
}
