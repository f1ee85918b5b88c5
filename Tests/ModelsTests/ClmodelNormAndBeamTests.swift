import Foundation
import Testing

/// `clmodel train gpt --norm proportions|none` end to end, and `sample gpt --beam` with its errors.
@Suite struct ClmodelNormAndBeamTests {
    private func clmodel(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        try Clmodel.run(arguments)
    }

    @Test func trainTheNewNormsThenSearchBeams() throws {
        let data = try Clmodel.namesFolder("norm-beam")
        defer { try? FileManager.default.removeItem(at: data) }
        for norm in ["proportions", "none"] {
            let checkpoint = data.appendingPathComponent("gpt-\(norm).safetensors").path
            let train = try clmodel(["train", "gpt", "--data", data.path, "--norm", norm, "--steps", "10", "--batch", "4",
                                     "--layers", "1", "--heads", "2", "--embedding", "16", "--log-every", "10",
                                     "--eval-every", "10", "--checkpoint", checkpoint, "--quiet"])
            #expect(train.status == 0, "\(norm): \(train.errors)")
            #expect(train.output.contains(", \(norm),"), "the model line names the norm: \(train.output)")
            // The norm is recorded: resuming with another one is refused, eval reads it back.
            let resume = try clmodel(["train", "gpt", "--data", data.path, "--resume", checkpoint, "--norm", "layernorm", "--steps", "12",
                                      "--checkpoint", checkpoint])
            #expect(resume.status == 64, "\(resume.status) \(resume.errors)")
            let eval = try clmodel(["eval", "gpt", "--checkpoint", checkpoint, "--data", data.path, "--split", "val"])
            #expect(eval.status == 0 && eval.output.hasPrefix("val_loss "), "\(eval.errors)")

            let beams = try clmodel(["sample", "gpt", "--checkpoint", checkpoint, "--beam", "3", "--length-penalty", "0.6"])
            #expect(beams.status == 0, "\(beams.errors)")
            let lines = beams.output.split(separator: "\n")
            #expect(lines.count == 3, "\(beams.output)")
            #expect(lines.allSatisfy { $0.contains("logp") && $0.contains("score") }, "\(beams.output)")
            #expect(beams.errors.contains("decode steps"), "\(beams.errors)")
        }
    }

    @Test func badBeamSettingsAreUsageErrors() throws {
        let data = try Clmodel.namesFolder("beam-errors")
        defer { try? FileManager.default.removeItem(at: data) }
        let checkpoint = data.appendingPathComponent("gpt.safetensors").path
        let train = try clmodel(["train", "gpt", "--data", data.path, "--steps", "1", "--batch", "2", "--layers", "1", "--heads", "1",
                                 "--embedding", "8", "--checkpoint", checkpoint, "--quiet"])
        #expect(train.status == 0, "\(train.errors)")
        for extra in [["--beam", "0"], ["--beam", "2", "--length-penalty", "-1"], ["--beam", "2", "--no-cache"],
                      ["--beam", "2", "--end-char", "ab"], ["--beam", "2", "--end-char", "%"], ["--norm-typo"]] {
            let run = try clmodel(["sample", "gpt", "--checkpoint", checkpoint] + extra)
            #expect(run.status == 64, "\(extra): \(run.status) \(run.errors)")
        }
        let bad = try clmodel(["train", "gpt", "--data", data.path, "--norm", "batchnorm", "--steps", "1"])
        #expect(bad.status == 64 && bad.errors.contains("batchnorm"), "\(bad.status) \(bad.errors)")
    }
}
