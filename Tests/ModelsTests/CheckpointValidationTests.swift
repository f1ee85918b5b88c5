import Foundation
import Models
import TensorGraph
import Testing

/// What `Checkpoint.read` refuses (each error naming the file and the tensor) and what it reports:
/// tensors of a dtype the model cannot use, tensors the model does not have, and non-finite values.
@Suite struct CheckpointValidationTests {
    private let model = MLPConfiguration(vocabulary: 27, context: 3, embedding: 4, hidden: 8)

    private func write(_ tensors: [String: SafeTensors.Entry], _ label: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoint-\(label)-\(getpid()).safetensors").path
        try SafeTensors.write(tensors, metadata: ["clgraph.kind": "mlp"], to: path)
        return path
    }

    private var tensors: [String: SafeTensors.Entry] {
        MLPModel.initialParameters(model).mapValues { SafeTensors.Entry(floats: $0.floats, shape: $0.shape.dims) }
    }

    @Test func aTensorOfAnotherDTypeIsNamedWithItsFile() throws {
        // I32: no weight loads from it (F16 widens to f32, U8 needs a quantized format's metadata).
        var integers = tensors
        let hidden = integers["hidden.weight"]!
        integers["hidden.weight"] = SafeTensors.Entry(dtype: .i32, shape: hidden.shape, bytes: hidden.bytes)
        let path = try write(integers, "i32")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: SafeTensors.CheckpointError.self) { _ = try Checkpoint.read(path, expectedShapes: model.parameterShapes) }
        #expect("\(error!)".contains(path) && "\(error!)".contains("'hidden.weight'") && "\(error!)".contains("I32"), "\(error!)")
    }

    @Test func aTensorTheModelDoesNotHaveIsRefused() throws {
        var extra = tensors
        extra["hidden2.weight"] = SafeTensors.Entry(floats: [1, 2], shape: [2])
        let path = try write(extra, "extra")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: SafeTensors.CheckpointError.self) { _ = try Checkpoint.read(path, expectedShapes: model.parameterShapes) }
        #expect(error == .unexpectedTensor(path: path, name: "hidden2.weight", expected: model.parameterShapes.map(\.name)))
        #expect("\(error!)".contains(path))
        _ = try Checkpoint.read(path)   // without expected shapes, every tensor loads
    }

    @Test func nonFiniteValuesAreCountedPerTensor() throws {
        var parameters = MLPModel.initialParameters(model)
        var hidden = parameters["hidden.weight"]!.floats
        (hidden[0], hidden[3], hidden[7]) = (.nan, .infinity, -.infinity)
        parameters["hidden.weight"] = TensorData(shape: parameters["hidden.weight"]!.shape, floats: hidden)
        let checkpoint = Checkpoint(kind: "mlp", configurationJSON: "{}", vocabulary: .names, step: 1, parameters: parameters,
                                    optimizerState: ["output.bias.m": TensorData(shape: [27], floats: [Float](repeating: .nan, count: 27))])
        let values = checkpoint.nonFiniteValues
        #expect(values.entries == [.init(name: "hidden.weight", nan: 1, positiveInfinity: 1, negativeInfinity: 1, count: 96),
                                   .init(name: "optimizer/output.bias.m", nan: 27, positiveInfinity: 0, negativeInfinity: 0, count: 27)])
        #expect(values.description == "'hidden.weight' (1 NaN, 1 +Inf, 1 -Inf of 96), 'optimizer/output.bias.m' (27 NaN of 27)")
        #expect(NonFiniteValues(MLPModel.initialParameters(model)).isEmpty)
    }
}
