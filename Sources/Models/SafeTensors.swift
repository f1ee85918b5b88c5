import DurableFiles
import Foundation
import TensorGraph

/// Reads and writes the safetensors format (8-byte little-endian header length, a JSON header of
/// `name: {dtype, shape, data_offsets}` plus `__metadata__`, then the raw little-endian data), so
/// weights move between CLGraph and PyTorch (`safetensors.torch.save_file` / `load_file`).
public enum SafeTensors {
    public enum DType: String, Sendable, Codable {
        case f32 = "F32", i32 = "I32", u8 = "U8", f16 = "F16"
        var byteSize: Int {
            switch self {
            case .f32, .i32: return 4
            case .f16: return 2
            case .u8: return 1
            }
        }
    }

    /// One stored tensor: its dtype, shape and raw little-endian bytes.
    public struct Entry: Equatable, Sendable {
        public var dtype: DType
        public var shape: [Int]
        public var bytes: [UInt8]

        public init(dtype: DType, shape: [Int], bytes: [UInt8]) {
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }

        public init(floats: [Float], shape: [Int]) {
            self.init(dtype: .f32, shape: shape, bytes: floats.withUnsafeBytes { Array($0) })
        }

        /// The values as floats (F32, or F16 widened exactly).
        public func floats() throws -> [Float] {
            if dtype == .f16 { return Quantization.floats(halfBytes: bytes) }
            guard dtype == .f32 else { throw CheckpointError.wrongDType(expected: "F32 or F16", got: dtype.rawValue) }
            return bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
    }

    /// Problems reading a checkpoint: each says which file and what is wrong; nothing is guessed.
    public enum CheckpointError: Error, CustomStringConvertible, Equatable, Sendable {
        case unreadable(path: String, reason: String)
        case corrupt(path: String, reason: String)
        case missingTensor(path: String, name: String)
        case shapeMismatch(path: String, name: String, expected: [Int], got: [Int])
        case wrongDType(expected: String, got: String)
        /// A tensor of a dtype the model cannot load (e.g. F16 where F32 is needed).
        case unsupportedDType(path: String, name: String, dtype: String, expected: String)
        /// A tensor the model does not have (another model's checkpoint, or a renamed parameter).
        case unexpectedTensor(path: String, name: String, expected: [String])

        public var description: String {
            switch self {
            case let .unreadable(path, reason): return "cannot read checkpoint \(path): \(reason)"
            case let .corrupt(path, reason): return "checkpoint \(path) is corrupt or truncated: \(reason)"
            case let .missingTensor(path, name): return "checkpoint \(path) has no tensor '\(name)'"
            case let .shapeMismatch(path, name, expected, got):
                return "checkpoint \(path): tensor '\(name)' has shape \(got), the model needs \(expected)"
            case let .wrongDType(expected, got): return "tensor has dtype \(got), expected \(expected)"
            case let .unsupportedDType(path, name, dtype, expected):
                return "checkpoint \(path): tensor '\(name)' has dtype \(dtype); CLGraph loads \(expected) "
                    + "(convert it to float32 before saving, e.g. tensor.float() in PyTorch)"
            case let .unexpectedTensor(path, name, expected):
                let shown = expected.count > 8 ? expected.prefix(8).joined(separator: ", ") + ", …" : expected.joined(separator: ", ")
                return "checkpoint \(path) has a tensor '\(name)' that the model does not have (it has \(shown)); "
                    + "is it another model's checkpoint?"
            }
        }
    }

    /// Serialises tensors (sorted by name, as the reference implementation does) and metadata.
    public static func encode(_ tensors: [String: Entry], metadata: [String: String] = [:]) throws -> [UInt8] {
        var header: [String: Any] = [:]
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let entry = tensors[name]!
            header[name] = ["dtype": entry.dtype.rawValue, "shape": entry.shape, "data_offsets": [offset, offset + entry.bytes.count]]
            offset += entry.bytes.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = Array(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        while json.count % 8 != 0 { json.append(0x20) }  // pad with spaces: data starts 8-byte aligned
        var bytes = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * UInt64($0))) }
        bytes += json
        for name in names { bytes += tensors[name]!.bytes }
        return bytes
    }

    /// Parses and validates a whole file's bytes.
    public static func decode(_ bytes: [UInt8], path: String = "checkpoint") throws -> (tensors: [String: Entry], metadata: [String: String]) {
        guard bytes.count >= 8 else { throw CheckpointError.corrupt(path: path, reason: "\(bytes.count) bytes, shorter than the 8-byte header length") }
        let headerLength = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) }
        guard headerLength <= UInt64(bytes.count - 8), headerLength < 100_000_000 else {
            throw CheckpointError.corrupt(path: path, reason: "header length \(headerLength) exceeds the file (\(bytes.count) bytes)")
        }
        let headerEnd = 8 + Int(headerLength)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])) as? [String: Any] else {
            throw CheckpointError.corrupt(path: path, reason: "the header is not a JSON object")
        }
        let dataCount = bytes.count - headerEnd
        var tensors: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        var ranges: [(Int, Int)] = []
        for (name, value) in object {
            if name == "__metadata__" {
                metadata = (value as? [String: String]) ?? [:]
                continue
            }
            guard let fields = value as? [String: Any], let dtypeName = fields["dtype"] as? String,
                  let shape = fields["shape"] as? [Int], let offsets = fields["data_offsets"] as? [Int], offsets.count == 2
            else { throw CheckpointError.corrupt(path: path, reason: "tensor '\(name)' has a malformed header entry") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw CheckpointError.corrupt(path: path, reason: "tensor '\(name)' has unsupported dtype \(dtypeName)")
            }
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataCount else {
                throw CheckpointError.corrupt(path: path, reason: "tensor '\(name)' lies outside the file's \(dataCount) data bytes")
            }
            let expected = shape.reduce(1, *) * dtype.byteSize
            guard offsets[1] - offsets[0] == expected else {
                throw CheckpointError.corrupt(path: path, reason: "tensor '\(name)' of shape \(shape) needs \(expected) bytes, has \(offsets[1] - offsets[0])")
            }
            ranges.append((offsets[0], offsets[1]))
            tensors[name] = Entry(dtype: dtype, shape: shape, bytes: Array(bytes[(headerEnd + offsets[0])..<(headerEnd + offsets[1])]))
        }
        let sorted = ranges.sorted { $0.0 < $1.0 }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.0 < a.1 {
            throw CheckpointError.corrupt(path: path, reason: "tensor data ranges overlap")
        }
        if let last = sorted.last, last.1 != dataCount {
            throw CheckpointError.corrupt(path: path, reason: "\(dataCount - last.1) bytes after the last tensor (truncated or padded file)")
        }
        return (tensors, metadata)
    }

    public static func read(_ path: String) throws -> (tensors: [String: Entry], metadata: [String: String]) {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw CheckpointError.unreadable(path: path, reason: "no such file")
        }
        guard !isFolder.boolValue else { throw CheckpointError.unreadable(path: path, reason: "it is a folder, not a checkpoint file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = access(path, R_OK) != 0 ? String(cString: strerror(errno)).lowercased() : "the read failed"
            throw CheckpointError.unreadable(path: path, reason: reason)
        }
        return try decode(Array(data), path: path)
    }

    /// Writes atomically and durably (`DurableFile.write`: a temporary file beside
    /// the target, fsync, rename), so an existing checkpoint is never left half-written and a killed
    /// writer's temporary file is removed by the next write.
    /// - Throws: `DurableFileError` naming the path when it cannot be written.
    public static func write(_ tensors: [String: Entry], metadata: [String: String] = [:], to path: String) throws {
        try DurableFile.write(Data(try encode(tensors, metadata: metadata)), to: path)
    }
}
