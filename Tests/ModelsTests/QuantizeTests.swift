import CLBackend
import Foundation
import Models
import TensorGraph
import Testing

/// Quantized MLP checkpoints: what is quantized, the safetensors round trip, and the effect on
/// the validation loss of the reference initialisation.
@Suite struct QuantizeTests {
    @Test func quantizesOnlyMatricesWithBlockedK() throws {
        let configuration = MLPConfiguration()
        let result = try ModelQuantization.quantize(MLPModel.initialParameters(configuration),
                                                    names: configuration.quantizableWeights, format: .q8_0)
        #expect(result.quantized == ["output.weight"])
        #expect(result.skipped["hidden.weight"]?.contains("144") == true)
        #expect(result.parameters["output.weight"]?.dtype == .q8_0)
        #expect(result.parameters["hidden.weight"]?.dtype == .f32)
        #expect(throws: QuantizationError.self) {
            try ModelQuantization.quantize(result.parameters, names: ["hidden.bias"], format: .q4_0)
        }
    }

    @Test func checkpointRoundTripKeepsQuantizedBytes() throws {
        let configuration = MLPConfiguration()
        let result = try ModelQuantization.quantize(MLPModel.initialParameters(configuration),
                                                    names: configuration.quantizableWeights, format: .q4_0)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("quant-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let json = String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self)
        try Checkpoint(kind: "mlp", configurationJSON: json, vocabulary: .names, step: 0, parameters: result.parameters).write(to: path)
        let (tensors, metadata) = try SafeTensors.read(path)
        #expect(tensors["output.weight"]?.dtype == .u8)
        #expect(metadata["clgraph.quant.output.weight"] == "q4_0,[27,512]")
        let loaded = try Checkpoint.read(path, expectedShapes: configuration.parameterShapes)
        #expect(loaded.parameters == result.parameters)
    }

    /// q8_0 on the output layer (the hidden layer's K = 144 stays f32) moves the initial
    /// validation loss by less than 0.5%; on the OpenCL backend and on the reference.
    @Test func q8_0InitialMLPValidationLossWithinHalfPercent() throws {
        let configuration = MLPConfiguration()
        let parameters = MLPModel.initialParameters(configuration)
        let quantized = try ModelQuantization.quantize(parameters, names: configuration.quantizableWeights, format: .q8_0).parameters
        let val = try TokenStream(contentsOf: namesDirectory + "/val.txt", vocabulary: .names)
        let float = try MLPEvaluator(configuration, backend: try OpenCLBackend())
        try float.setParameters(parameters)
        let baseline = try float.loss(of: val)
        let evaluator = try MLPEvaluator(configuration, backend: try OpenCLBackend(),
                                         weightFormats: ModelQuantization.formats(of: quantized))
        try evaluator.setParameters(quantized)
        let loss = try evaluator.loss(of: val)
        print("initial validation loss f32 \(baseline), q8_0 \(loss)")
        #expect(abs(loss - baseline) / baseline < 0.005, "f32 \(baseline) vs q8_0 \(loss)")
        #expect(loss != baseline)  // the quantized weights were really used
    }
}
