import Foundation
import Models
import Testing

/// Flags that cannot work are refused with a message naming the flag (exit 64, as ArgumentParser's
/// own validation): sampler settings outside their range, and `--resume` with model flags that
/// disagree with the checkpoint.
@Suite struct ClmodelArgumentTests {
    @Test func samplerSettingsOutsideTheirRangeAreRefused() throws {
        let folder = try Clmodel.folder("sampler-flags")
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = folder.appendingPathComponent("gpt.safetensors").path
        _ = try Clmodel.writeGPTCheckpoint(checkpoint, block: 8)
        for (flag, value) in [("--min-p", "2"), ("--min-p", "-0.1"), ("--top-p", "1.5"), ("--top-p", "-0.5"), ("--top-p", "0"),
                              ("--top-k", "0"), ("--top-k", "-3"), ("--temperature", "inf"), ("--temperature", "nan")] {
            for model in ["gpt", "mlp"] {
                let run = try Clmodel.run(["sample", model, "--checkpoint", checkpoint, "--count", "2", flag, value, "--device", "reference"])
                #expect(run.status == 64, "\(model) \(flag) \(value): \(run.status) \(run.output) \(run.errors)")
                #expect(run.errors.contains(flag), "\(model) \(flag) \(value): \(run.errors)")
            }
        }
        // The edges of the ranges are accepted.
        let edges = try Clmodel.run(["sample", "gpt", "--checkpoint", checkpoint, "--count", "2", "--min-p", "1", "--top-p", "1",
                                     "--top-k", "1", "--length", "5", "--device", "reference"])
        #expect(edges.status == 0, "\(edges.errors)")
        #expect(edges.output.split(separator: "\n", omittingEmptySubsequences: false).count == 3)
    }

    @Test func resumeRefusesModelFlagsThatDisagreeWithTheCheckpoint() throws {
        let data = try Clmodel.namesFolder("resume-flags")
        defer { try? FileManager.default.removeItem(at: data) }
        let mlp = data.appendingPathComponent("mlp.safetensors").path
        try Clmodel.writeMLPCheckpoint(mlp, step: 2)
        let common = ["--data", data.path, "--steps", "2", "--batch", "4", "--checkpoint", data.appendingPathComponent("out.safetensors").path,
                      "--device", "reference", "--quiet"]
        for (flag, value) in [("--hidden", "16"), ("--embedding", "5"), ("--context", "4")] {
            let run = try Clmodel.run(["train", "mlp", "--resume", mlp, flag, value] + common)
            #expect(run.status == 64, "\(flag) \(value): \(run.status) \(run.output) \(run.errors)")
            #expect(run.errors.contains(flag) && run.errors.contains(mlp), "\(run.errors)")
        }
        // Flags that agree with the checkpoint are fine.
        let agreeing = try Clmodel.run(["train", "mlp", "--resume", mlp, "--hidden", "8", "--embedding", "4"] + common)
        #expect(agreeing.status == 0, "\(agreeing.errors)")

        let block = NameSequences.length(fitting: try ["train", "val", "test"].map {
            try TokenStream(contentsOf: data.appendingPathComponent("\($0).txt").path, vocabulary: .names)
        })
        let gpt = data.appendingPathComponent("gpt.safetensors").path
        _ = try Clmodel.writeGPTCheckpoint(gpt, block: block)   // 1 layer, 2 heads, embedding 16
        for (flag, value) in [("--layers", "2"), ("--heads", "4"), ("--embedding", "32"), ("--positions", "rotary"), ("--norm", "rmsnorm"),
                              ("--dataset", "shakespeare")] {
            let run = try Clmodel.run(["train", "gpt", "--resume", gpt, flag, value, "--data", data.path, "--steps", "1"] + common.dropFirst(4))
            #expect(run.status == 64, "\(flag) \(value): \(run.status) \(run.output) \(run.errors)")
            #expect(run.errors.contains(flag) && run.errors.contains(gpt), "\(run.errors)")
        }
    }
}
