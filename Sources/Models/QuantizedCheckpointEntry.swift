import Foundation
import TensorGraph

/// How a quantized parameter is stored in a safetensors checkpoint: a `U8` tensor of its
/// llama.cpp-layout bytes (shape `[byte count]`, so any safetensors reader loads it) and a
/// metadata entry `clgraph.quant.<name> = <format>,[N,K]` with the format and logical shape.
enum QuantizedCheckpointEntry {
    static let metadataPrefix = "clgraph.quant."

    /// The entry and metadata value for a quantized tensor, `nil` for f32 / i32.
    static func encode(_ value: TensorData) -> (SafeTensors.Entry, String)? {
        guard let (format, bytes) = value.quantizedBytes else { return nil }
        let shape = "[" + value.shape.dims.map(String.init).joined(separator: ",") + "]"
        return (SafeTensors.Entry(dtype: .u8, shape: [bytes.count], bytes: bytes), "\(format.rawValue),\(shape)")
    }

    /// The quantized tensor an entry holds, `nil` when it has no quantization metadata.
    static func decode(_ entry: SafeTensors.Entry, metadata: String?, name: String, path: String) throws -> TensorData? {
        guard let metadata else { return nil }
        func corrupt(_ reason: String) -> SafeTensors.CheckpointError {
            .corrupt(path: path, reason: "quantized tensor '\(name)' (\(metadataPrefix)\(name) = \(metadata)): \(reason)")
        }
        guard let comma = metadata.firstIndex(of: ","), let format = QuantFormat(rawValue: String(metadata[..<comma])) else {
            throw corrupt("expected '<q8_0|q4_0>,[N,K]'")
        }
        let dims = metadata[metadata.index(after: comma)...].trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
            .split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !dims.isEmpty, dims.allSatisfy({ ($0 ?? 0) > 0 }) else { throw corrupt("bad shape") }
        let shape = Shape(dims.map { $0! })
        guard shape[-1] % QuantFormat.blockSize == 0 else { throw corrupt("the last axis is not a multiple of 32") }
        guard entry.dtype == .u8, entry.bytes.count == format.byteCount(elements: shape.count) else {
            throw corrupt("a \(entry.dtype.rawValue) tensor of \(entry.bytes.count) bytes; \(format.rawValue) \(shape) needs U8 of \(format.byteCount(elements: shape.count))")
        }
        return TensorData(shape: shape, format: format, bytes: entry.bytes)
    }
}
