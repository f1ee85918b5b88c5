import Foundation
import Testing

/// Runs the built `clmodel` end to end on a tiny babyLLM: train (with a time limit), eval,
/// sample and inspect from the checkpoint, and the errors of a wrong or corrupt checkpoint.
@Suite struct ClmodelBabyLLMTests {
    @Test func trainEvalSampleAndInspectATinyBabyLLM() throws {
        let data = try Clmodel.namesFolder("babyllm-run")
        defer { try? FileManager.default.removeItem(at: data) }
        let checkpoint = data.appendingPathComponent("babyllm.safetensors").path
        let train = try Clmodel.run(["train", "babyllm", "--data", data.path, "--steps", "20", "--batch", "4", "--embedding", "8",
                                     "--neurons", "12", "--memory", "16", "--windows", "1,2,4,32", "--log-every", "10",
                                     "--eval-every", "20", "--checkpoint", checkpoint, "--quiet"])
        #expect(train.status == 0, "\(train.errors)")
        #expect(train.output.contains("model: babyllm embedding 8, 12 neurons, windows 1,2,4,32"))
        #expect(train.output.contains("step 20 | train_loss"))
        #expect(train.output.contains("test_loss"))

        let eval = try Clmodel.run(["eval", "babyllm", "--checkpoint", checkpoint, "--data", data.path, "--split", "test"])
        #expect(eval.status == 0, "\(eval.errors)")
        #expect(eval.output.hasPrefix("test_loss "))

        let sample = try Clmodel.run(["sample", "babyllm", "--checkpoint", checkpoint, "--count", "3", "--seed", "5"])
        #expect(sample.status == 0, "\(sample.errors)")
        #expect(sample.output.split(separator: "\n", omittingEmptySubsequences: false).count == 4, "three names: \(sample.output)")
        #expect(sample.errors.contains("tokens/s"))

        let inspect = try Clmodel.run(["inspect", "babyllm", "--checkpoint", checkpoint, "--prompt", "ab", "--neurons", "3"])
        #expect(inspect.status == 0, "\(inspect.errors)")
        for window in [1, 2, 4, 32] { #expect(inspect.output.contains(String(format: "window %4d", window))) }
        #expect(inspect.output.contains("neurons that fire most at each position"))
        #expect(inspect.output.contains("next token after \"ab\""))

        // A run stopped by the time limit ends as a finished one: evaluated, tested and saved at its last step.
        let limited = try Clmodel.run(["train", "babyllm", "--data", data.path, "--steps", "100000", "--batch", "2", "--embedding", "4",
                                       "--neurons", "4", "--memory", "4", "--windows", "1,2", "--time-limit", "0.001",
                                       "--checkpoint", checkpoint, "--quiet"])
        #expect(limited.status == 0, "\(limited.errors)")
        #expect(limited.output.contains("time limit: stopped after step 10 of 100000"), "\(limited.output)")
        #expect(limited.output.contains("step 10 | train_loss") && limited.output.contains("val_loss") && limited.output.contains("test_loss"))
        let resumed = try Clmodel.run(["eval", "babyllm", "--checkpoint", checkpoint, "--data", data.path])
        #expect(resumed.status == 0 && resumed.output.hasPrefix("val_loss "), "\(resumed.errors)")

        let gpt = data.appendingPathComponent("gpt.safetensors").path
        try Clmodel.writeGPTCheckpoint(gpt, block: 8)
        let wrongKind = try Clmodel.run(["eval", "babyllm", "--checkpoint", gpt, "--data", data.path])
        #expect(wrongKind.status == 2 && wrongKind.errors.contains("not a babyLLM"), "\(wrongKind.errors)")
        let corrupt = data.appendingPathComponent("corrupt.safetensors").path
        let bytes = try Data(contentsOf: URL(fileURLWithPath: checkpoint))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: corrupt))
        let refused = try Clmodel.run(["sample", "babyllm", "--checkpoint", corrupt])
        #expect(refused.status == 2 && refused.errors.contains(corrupt), "\(refused.errors)")
        let badWindows = try Clmodel.run(["train", "babyllm", "--data", data.path, "--windows", "1,0"])
        #expect(badWindows.status == 64 && badWindows.errors.contains("--windows"), "\(badWindows.errors)")
    }
}
