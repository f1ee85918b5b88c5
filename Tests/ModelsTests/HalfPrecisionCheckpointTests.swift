import BuiltProducts
import Foundation
import Models
import TensorGraph
import Testing

/// f16 model weights: which matrices convert (any K), the safetensors form (plain `F16` tensors of
/// their own shape), a half-precision PyTorch checkpoint without CLGraph metadata loading as f32,
/// and `clmodel quantize --format f16` end to end on a tiny MLP checkpoint, evaluated after.
@Suite struct HalfPrecisionCheckpointTests {
    private func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("f16-\(getpid())-\(name)").path
    }

    @Test func f16ConvertsEveryLinearWeightAndRoundTripsAsF16Tensors() throws {
        let configuration = MLPConfiguration()
        let parameters = MLPModel.initialParameters(configuration)
        let result = try ModelQuantization.quantize(parameters, names: configuration.quantizableWeights, format: .f16)
        #expect(result.quantized == ["hidden.weight", "output.weight"] && result.skipped.isEmpty)  // K = 144 is fine for f16
        let hidden = try #require(result.parameters["hidden.weight"])
        #expect(hidden.dtype == .f16 && hidden.shape == [512, 144])
        let original = try #require(parameters["hidden.weight"]).floats
        #expect(hidden.floats == original.map { Float(Float16($0)) })
        let path = temporary("roundtrip.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let json = String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self)
        try Checkpoint(kind: "mlp", configurationJSON: json, vocabulary: .names, step: 0, parameters: result.parameters).write(to: path)
        let (tensors, metadata) = try SafeTensors.read(path)
        #expect(tensors["hidden.weight"]?.dtype == .f16 && tensors["hidden.weight"]?.shape == [512, 144])
        #expect(metadata["clgraph.quant.hidden.weight"] == "f16,[512,144]")
        let loaded = try Checkpoint.read(path, expectedShapes: configuration.parameterShapes)
        #expect(loaded.parameters == result.parameters)
        #expect(ModelQuantization.formats(of: loaded.parameters) == ["hidden.weight": .f16, "output.weight": .f16])
    }

    /// An `F16` tensor without CLGraph's metadata (as `safetensors.torch.save_file` writes a
    /// half model) loads as f32 with the exact half values; metadata that contradicts the tensor
    /// is a clear corruption error naming the tensor.
    @Test func plainF16TensorsLoadAsF32AndMismatchesAreNamed() throws {
        let values: [Float] = [1, -2.5, 65504, 0x1p-24, -0.0, 3.140625]
        let bytes = Quantization.halfBytes(values)
        let path = temporary("plain.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafeTensors.write(["w": SafeTensors.Entry(dtype: .f16, shape: [2, 3], bytes: bytes)], to: path)
        let loaded = try Checkpoint.read(path)
        #expect(loaded.parameters["w"] == TensorData(shape: [2, 3], floats: values))
        try SafeTensors.write(["w": SafeTensors.Entry(dtype: .f16, shape: [2, 3], bytes: bytes)],
                              metadata: ["clgraph.quant.w": "f16,[3,2]"], to: path)
        do {
            _ = try Checkpoint.read(path)
            Issue.record("a shape that contradicts the F16 tensor was accepted")
        } catch let error as SafeTensors.CheckpointError {
            #expect("\(error)".contains("'w'") && "\(error)".contains("f16"), "\(error)")
        }
    }

    /// `clmodel quantize --format f16` converts both MLP matrices and `clmodel eval` runs the
    /// result with a loss within 0.1% of the f32 checkpoint's.
    @Test func clmodelQuantizeF16RoundTrip() throws {
        let folder = temporary("names")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        var names: [String] = []
        for i in 0..<40 {
            var name = ""
            for j in 0..<(3 + i % 4) { name.append(letters[(i * 5 + j * 7) % 26]) }
            names.append(name)
        }
        try (names.joined(separator: "\n") + "\n").write(toFile: folder + "/val.txt", atomically: true, encoding: .utf8)
        let configuration = MLPConfiguration()
        let json = String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self)
        let input = folder + "/mlp.safetensors", output = folder + "/mlp-f16.safetensors"
        try Checkpoint(kind: "mlp", configurationJSON: json, vocabulary: .names, step: 0,
                       parameters: MLPModel.initialParameters(configuration)).write(to: input)
        let quantize = try BuiltProduct.run("clmodel", ["quantize", "--checkpoint", input, "--format", "f16", "--output", output])
        #expect(quantize.status == 0, "\(quantize.errors)")
        #expect(quantize.output.contains("hidden.weight [512, 144] -> f16 (147456 bytes, was 294912)"), "\(quantize.output)")
        #expect(quantize.output.contains("output.weight [27, 512] -> f16"))
        let stored = try Checkpoint.read(output)
        #expect(stored.parameters["hidden.weight"]?.dtype == .f16 && stored.parameters["embedding.weight"]?.dtype == .f32)
        var losses: [Double] = []
        for path in [input, output] {
            let eval = try BuiltProduct.run("clmodel", ["eval", "mlp", "--checkpoint", path, "--data", folder, "--split", "val"])
            #expect(eval.status == 0, "\(eval.errors)")
            losses.append(Double(eval.output.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? "") ?? .nan)
        }
        #expect(losses[0].isFinite && abs(losses[1] - losses[0]) / losses[0] < 1e-3, "f32 \(losses[0]) vs f16 \(losses[1])")
    }
}
