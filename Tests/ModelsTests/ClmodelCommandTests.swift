import Foundation
import Testing

/// Runs the built `clmodel` end to end on a tiny GPT: train, eval, sample through the KV cache,
/// inspect, and the errors a user meets (bad arguments, a corrupt checkpoint).
@Suite struct ClmodelCommandTests {
    private func clmodel(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        try Clmodel.run(arguments)
    }

    private func namesFolder(_ label: String) throws -> URL { try Clmodel.namesFolder("command-\(label)") }

    @Test func trainEvalSampleAndInspectATinyGPT() throws {
        let data = try namesFolder("run")
        defer { try? FileManager.default.removeItem(at: data) }
        let checkpoint = data.appendingPathComponent("gpt.safetensors").path, plot = data.appendingPathComponent("loss.svg").path
        let train = try clmodel(["train", "gpt", "--data", data.path, "--steps", "20", "--batch", "4", "--layers", "1", "--heads", "2",
                                 "--embedding", "16", "--log-every", "10", "--eval-every", "20", "--checkpoint", checkpoint,
                                 "--loss-plot", plot, "--quiet"])
        #expect(train.status == 0, "\(train.errors)")
        #expect(train.output.contains("step 20 | train_loss"))
        #expect(train.output.contains("test_loss"))
        #expect(try String(contentsOfFile: plot, encoding: .utf8).hasPrefix("<svg"))

        let eval = try clmodel(["eval", "gpt", "--checkpoint", checkpoint, "--data", data.path, "--split", "test"])
        #expect(eval.status == 0, "\(eval.errors)")
        #expect(eval.output.hasPrefix("test_loss "))

        let sample = try clmodel(["sample", "gpt", "--checkpoint", checkpoint, "--count", "3", "--greedy"])
        let uncached = try clmodel(["sample", "gpt", "--checkpoint", checkpoint, "--count", "3", "--greedy", "--no-cache"])
        #expect(sample.status == 0 && uncached.status == 0, "\(sample.errors) \(uncached.errors)")
        #expect(sample.output.split(separator: "\n").count == 3)
        #expect(sample.output == uncached.output, "the KV cache changed the greedy names")
        #expect(sample.errors.contains("decode:") && sample.errors.contains("tokens/s"))

        let inspect = try clmodel(["inspect", "gpt", "--checkpoint", checkpoint, "--prompt", "ab", "--top-k", "3"])
        #expect(inspect.status == 0, "\(inspect.errors)")
        #expect(inspect.output.contains("layer 0 head 1"))
        #expect(inspect.output.contains("next token after \"ab\""))
    }

    @Test func badArgumentsAndCorruptCheckpointsAreClearErrors() throws {
        let data = try namesFolder("errors")
        defer { try? FileManager.default.removeItem(at: data) }
        for arguments in [["train", "gpt", "--data", data.path, "--dropout", "1"], ["train", "gpt", "--data", data.path, "--heads", "3"],
                          ["train", "gpt", "--data", data.path, "--log-every", "0"], ["train", "gpt", "--data", data.path, "--lr", "inf"],
                          ["train", "mlp", "--data", data.path, "--lr", "inf"]] {
            let run = try clmodel(arguments)
            #expect(run.status == 64, "\(arguments): \(run.status) \(run.errors)")
        }
        let corrupt = data.appendingPathComponent("corrupt.safetensors")
        try Data(repeating: 7, count: 100).write(to: corrupt)
        let run = try clmodel(["sample", "gpt", "--checkpoint", corrupt.path])
        #expect(run.status == 2, "\(run.status) \(run.errors)")
        #expect(run.errors.contains(corrupt.path))
    }
}
