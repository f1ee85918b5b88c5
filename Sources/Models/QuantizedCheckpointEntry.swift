import Foundation
import TensorGraph

/// How a quantized parameter is stored in a safetensors checkpoint: a `U8` tensor of its
/// llama.cpp-layout bytes (shape `[byte count]`, so any safetensors reader loads it) and a
/// metadata entry `clgraph.quant.<name> = <format>,[N,K]` with the format and logical shape.
/// An `f16` weight is a plain safetensors `F16` tensor of its own shape (PyTorch loads it as
/// `torch.float16`) with the same metadata entry, which marks it as a weight the model reads in
/// half precision; an `F16` tensor without the entry (a half-precision PyTorch checkpoint) loads
/// as f32.
enum QuantizedCheckpointEntry {
    static let metadataPrefix = "clgraph.quant."

    /// The entry and metadata value for a quantized tensor, `nil` for f32 / i32.
    static func encode(_ value: TensorData) -> (SafeTensors.Entry, String)? {
        guard let (format, bytes) = value.quantizedBytes else { return nil }
        let shape = "[" + value.shape.dims.map(String.init).joined(separator: ",") + "]"
        let entry = format == .f16 ? SafeTensors.Entry(dtype: .f16, shape: value.shape.dims, bytes: bytes)
            : SafeTensors.Entry(dtype: .u8, shape: [bytes.count], bytes: bytes)
        return (entry, "\(format.rawValue),\(shape)")
    }

    /// The quantized tensor an entry holds, `nil` when it has no quantization metadata.
    static func decode(_ entry: SafeTensors.Entry, metadata: String?, name: String, path: String) throws -> TensorData? {
        guard let metadata else { return nil }
        func corrupt(_ reason: String) -> SafeTensors.CheckpointError {
            .corrupt(path: path, reason: "quantized tensor '\(name)' (\(metadataPrefix)\(name) = \(metadata)): \(reason)")
        }
        guard let comma = metadata.firstIndex(of: ","), let format = QuantFormat(rawValue: String(metadata[..<comma])) else {
            throw corrupt("expected '<\(QuantFormat.allCases.map(\.rawValue).joined(separator: "|"))>,[N,K]'")
        }
        let dims = metadata[metadata.index(after: comma)...].trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
            .split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !dims.isEmpty, dims.allSatisfy({ ($0 ?? 0) > 0 }) else { throw corrupt("bad shape") }
        let shape = Shape(dims.map { $0! })
        guard shape[-1] % format.blockSize == 0 else { throw corrupt("the last axis is not a multiple of \(format.blockSize)") }
        let storedAs: SafeTensors.DType = format == .f16 ? .f16 : .u8
        guard entry.dtype == storedAs, entry.bytes.count == format.byteCount(elements: shape.count),
              format != .f16 || entry.shape == shape.dims else {
            throw corrupt("a \(entry.dtype.rawValue) tensor \(entry.shape) of \(entry.bytes.count) bytes; \(format.rawValue) \(shape) needs \(storedAs.rawValue) of \(format.byteCount(elements: shape.count))")
        }
        return TensorData(shape: shape, format: format, bytes: entry.bytes)
    }
}
