import Foundation
import Models
import TensorGraph
import Testing

/// Training and evaluation stop on NaN or ±Inf (exit 3, naming the step and what went
/// non-finite), never write a checkpoint of non-finite weights, and loading a checkpoint that holds
/// NaN or Inf warns, naming the file and the tensor.
@Suite struct ClmodelNonFiniteTests {
    /// A learning rate of 1e38 sends the weights to ±Inf within two steps (AdamW's decay factor
    /// 1 − lr·wd alone is −1e34), on the reference backend, whose arithmetic hides nothing.
    @Test func divergingTrainingStopsAndKeepsTheLastGoodCheckpoint() throws {
        let data = try Clmodel.namesFolder("diverge")
        defer { try? FileManager.default.removeItem(at: data) }
        let checkpoint = data.appendingPathComponent("mlp.safetensors")
        try Clmodel.writeMLPCheckpoint(checkpoint.path)
        let good = try Data(contentsOf: checkpoint)
        let run = try Clmodel.run(["train", "mlp", "--data", data.path, "--steps", "20", "--batch", "4", "--embedding", "4", "--hidden", "8",
                                   "--lr", "1e38", "--log-every", "10", "--eval-every", "10", "--checkpoint", checkpoint.path,
                                   "--device", "reference", "--quiet"])
        #expect(run.status == 3, "\(run.status) \(run.output) \(run.errors)")
        #expect(run.errors.contains("step 10"), "names the step: \(run.errors)")
        #expect(run.errors.contains("NaN") || run.errors.contains("Inf"), "\(run.errors)")
        #expect(!run.errors.contains("USAGE"), "\(run.errors)")
        #expect(try Data(contentsOf: checkpoint) == good, "the good checkpoint was overwritten")
    }

    /// The case: one NaN in hidden.weight, then `train mlp --resume` on the OpenCL device.
    @Test func resumingFromACheckpointWithANaNWarnsAndStops() throws {
        let data = try Clmodel.namesFolder("nan-resume")
        defer { try? FileManager.default.removeItem(at: data) }
        let poisoned = data.appendingPathComponent("nan.safetensors").path, output = data.appendingPathComponent("out.safetensors").path
        try Clmodel.writeMLPCheckpoint(poisoned, step: 2) { parameters in
            var values = parameters["hidden.weight"]!.floats
            values[5] = .nan
            parameters["hidden.weight"] = TensorData(shape: parameters["hidden.weight"]!.shape, floats: values)
        }
        let run = try Clmodel.run(["train", "mlp", "--resume", poisoned, "--data", data.path, "--steps", "12", "--batch", "4",
                                   "--log-every", "5", "--eval-every", "5", "--checkpoint", output, "--quiet"])
        #expect(run.errors.contains("warning") && run.errors.contains(poisoned) && run.errors.contains("hidden.weight"), "\(run.errors)")
        #expect(run.status == 3, "\(run.status) \(run.output) \(run.errors)")
        #expect(!FileManager.default.fileExists(atPath: output), "a checkpoint of NaN weights was written")
        // Evaluating it warns too, and the reference backend's NaN loss stops the evaluation.
        let eval = try Clmodel.run(["eval", "mlp", "--checkpoint", poisoned, "--data", data.path, "--batch", "8", "--device", "reference"])
        #expect(eval.errors.contains("warning") && eval.errors.contains("hidden.weight"), "\(eval.errors)")
        #expect(eval.status == 3 && eval.errors.contains("val_loss"), "\(eval.status) \(eval.output) \(eval.errors)")
    }
}
