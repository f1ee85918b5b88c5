import CLBackend
import Foundation
import Models
import TensorGraph
import Testing

/// Training the MLP: the device plan (forward + backward + AdamW, one run per step) against the
/// reference backend, and checkpoints that resume exactly.
@Suite struct MLPTrainingTests {
    static let model = MLPConfiguration(vocabulary: 27, context: 3, embedding: 8, hidden: 33)
    static var training: MLPTrainingConfiguration {
        var t = MLPTrainingConfiguration()
        t.steps = 6
        t.batchSize = 17
        t.learningRate = 0.01
        return t
    }
    static let stream = TokenStream(tokens: (0..<500).map { Int32(($0 * 7 + $0 / 5) % 27) }, source: "synthetic")

    static func trainer(_ backend: any Backend, parameters: [String: TensorData]? = nil,
                        state: [String: TensorData] = [:], step: Int = 0) throws -> MLPTrainer {
        try MLPTrainer(model: model, training: training, data: stream, backend: backend,
                       parameters: parameters ?? MLPModel.initialParameters(model), optimizerState: state, step: step)
    }

    @Test func deviceTrainingMatchesTheReference() throws {
        let device = try Self.trainer(OpenCLBackend()), reference = try Self.trainer(ReferenceBackend())
        var deviceLosses: [Float] = [], referenceLosses: [Float] = []
        for _ in 0..<Self.training.steps {
            deviceLosses.append(try device.trainStep())
            referenceLosses.append(try reference.trainStep())
        }
        #expect(deviceLosses.last! < deviceLosses.first!, "loss should fall: \(deviceLosses)")
        for (d, r) in zip(deviceLosses, referenceLosses) { #expect(abs(d - r) < 1e-4, "device \(d) vs reference \(r)") }
        let deviceWeights = try device.parameters(), referenceWeights = try reference.parameters()
        for (name, value) in referenceWeights {
            let a = value.floats, b = deviceWeights[name]!.floats
            let error = zip(a, b).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +)
            let power = a.map { Double($0) * Double($0) }.reduce(0, +)
            #expect(error / max(power, 1e-30) < 1e-9, "\(name): NMSE \(error / max(power, 1e-30))")
        }
    }

    /// 3 steps, checkpoint, reload, 3 more steps == 6 steps straight (weights, moments, schedule, data position).
    @Test func resumingFromACheckpointContinuesExactly() throws {
        let straight = try Self.trainer(OpenCLBackend())
        for _ in 0..<6 { try straight.trainStep() }

        let first = try Self.trainer(OpenCLBackend())
        for _ in 0..<3 { try first.trainStep() }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("clgraph-resume-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Checkpoint(kind: "mlp", configurationJSON: "{}", vocabulary: .names, step: first.step,
                       parameters: try first.parameters(), optimizerState: try first.optimizerState()).write(to: path)
        let loaded = try Checkpoint.read(path, expectedShapes: Self.model.parameterShapes)
        #expect(loaded.step == 3)
        let resumed = try Self.trainer(OpenCLBackend(), parameters: loaded.parameters, state: loaded.optimizerState, step: loaded.step)
        for _ in 0..<3 { try resumed.trainStep() }
        for (name, value) in try straight.parameters() {
            #expect(try resumed.parameters()[name]!.floats == value.floats, "\(name) differs after resuming")
        }
    }

    /// Enqueued steps (no wait per step) give the same weights and the same loss sum as waited-for steps.
    @Test func enqueuedStepsMatchSynchronousSteps() throws {
        let waited = try Self.trainer(OpenCLBackend()), enqueued = try Self.trainer(OpenCLBackend())
        var losses = 0.0
        for _ in 0..<5 { losses += Double(try waited.trainStep()) }
        for _ in 0..<5 { try enqueued.enqueueStep() }
        let sum = try enqueued.takeLossSum()
        #expect(abs(sum - losses) < 1e-4 * abs(losses), "sum \(sum) vs \(losses)")
        let waitedSum = try waited.takeLossSum()   // waited-for steps add to the device sum too
        #expect(abs(waitedSum - losses) < 1e-4 * abs(losses), "waited sum \(waitedSum) vs \(losses)")
        for (name, value) in try waited.parameters() {
            #expect(try enqueued.parameters()[name]!.floats == value.floats, "\(name) differs")
        }
        #expect(try enqueued.takeLossSum() == 0)   // reset by the previous take
    }
}
