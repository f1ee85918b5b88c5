import Foundation
import Models
import TensorGraph
import Testing

/// Bad data and checkpoint files: each error names the file (and the tensor or line) and says what
/// was expected; all exit 2 without a usage text, as the README's exit codes say.
@Suite struct ClmodelFileErrorTests {
    @Test func windowsLineEndsReadAsLineEnds() throws {
        let unix = try Clmodel.namesFolder("lf"), windows = try Clmodel.namesFolder("crlf", lineEnd: "\r\n")
        defer { for folder in [unix, windows] { try? FileManager.default.removeItem(at: folder) } }
        var losses: [String] = []
        for folder in [unix, windows] {
            let run = try Clmodel.run(["eval", "mlp", "--data", folder.path, "--batch", "8", "--device", "reference"])
            #expect(run.status == 0, "\(run.errors)")
            losses.append(run.output)
        }
        #expect(losses[0].hasPrefix("val_loss ") && losses[0] == losses[1], "\(losses)")
    }

    @Test func aFolderWhereAFileBelongsIsNamedAsAFolder() throws {
        let data = try Clmodel.namesFolder("folder-as-file")
        defer { try? FileManager.default.removeItem(at: data) }
        let checkpoint = try Clmodel.run(["eval", "mlp", "--checkpoint", data.path, "--data", data.path, "--device", "reference"])
        #expect(checkpoint.status == 2 && checkpoint.errors.contains(data.path) && checkpoint.errors.contains("folder"), "\(checkpoint.errors)")
        #expect(!checkpoint.errors.contains("permission denied"))
        let val = data.appendingPathComponent("val.txt")
        try FileManager.default.removeItem(at: val)
        try FileManager.default.createDirectory(at: val, withIntermediateDirectories: false)
        let split = try Clmodel.run(["eval", "mlp", "--data", data.path, "--device", "reference"])
        #expect(split.status == 2 && split.errors.contains(val.path) && split.errors.contains("folder"), "\(split.errors)")
        #expect(!split.errors.contains("permission denied"))
    }

    @Test func checkpointTensorErrorsNameTheFileAndTheTensor() throws {
        let folder = try Clmodel.folder("tensor-errors")
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = folder.appendingPathComponent("good.safetensors").path
        try Clmodel.writeMLPCheckpoint(good)
        var (tensors, metadata) = try SafeTensors.read(good) as ([String: SafeTensors.Entry], [String: String])
        // hidden.weight as I32, a dtype no weight loads from.
        let integers = folder.appendingPathComponent("integers.safetensors").path
        var i32 = tensors
        let hidden = tensors["hidden.weight"]!
        i32["hidden.weight"] = SafeTensors.Entry(dtype: .i32, shape: hidden.shape, bytes: hidden.bytes)
        try SafeTensors.write(i32, metadata: metadata, to: integers)
        // One tensor the model does not have.
        let extra = folder.appendingPathComponent("extra.safetensors").path
        tensors["extra.weight"] = SafeTensors.Entry(floats: [1, 2], shape: [2])
        try SafeTensors.write(tensors, metadata: metadata, to: extra)
        for (path, tensor) in [(integers, "hidden.weight"), (extra, "extra.weight")] {
            let run = try Clmodel.run(["sample", "mlp", "--checkpoint", path, "--count", "1", "--device", "reference"])
            #expect(run.status == 2, "\(path): \(run.status) \(run.errors)")
            #expect(run.errors.contains(path) && run.errors.contains(tensor), "\(run.errors)")
        }
    }

    @Test func dataThatDoesNotFitTheCheckpointIsABadFile() throws {
        let data = try Clmodel.namesFolder("mismatch")
        defer { try? FileManager.default.removeItem(at: data) }
        // A text GPT of vocabulary "\nabc" given a text of other characters.
        let gpt = data.appendingPathComponent("gpt.safetensors").path
        _ = try Clmodel.writeGPTCheckpoint(gpt, block: 8, vocabulary: CharVocabulary(characters: Array("\nabc")))
        let text = data.appendingPathComponent("input.txt")
        try Data(String(repeating: "hello world\n", count: 20).utf8).write(to: text)
        let run = try Clmodel.run(["eval", "gpt", "--checkpoint", gpt, "--data", text.path, "--device", "reference"])
        #expect(run.status == 2, "\(run.status) \(run.errors)")
        #expect(run.errors.contains(gpt) && run.errors.contains(text.path) && !run.errors.contains("USAGE"), "\(run.errors)")
        let mlp = data.appendingPathComponent("mlp.safetensors").path
        try Clmodel.writeMLPCheckpoint(mlp)
        let wrongKind = try Clmodel.run(["sample", "gpt", "--checkpoint", mlp, "--device", "reference"])
        #expect(wrongKind.status == 2 && wrongKind.errors.contains(mlp) && !wrongKind.errors.contains("USAGE"), "\(wrongKind.errors)")
    }

    @Test func aNamesGPTGivenATextFileSaysWhatItExpected() throws {
        let folder = try Clmodel.folder("names-file")
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = folder.appendingPathComponent("sh.txt")
        try Data("First Citizen:\nBefore we proceed any further, hear me speak.\n".utf8).write(to: text)
        let run = try Clmodel.run(["train", "gpt", "--data", text.path, "--steps", "1", "--device", "reference", "--quiet"])
        #expect(run.status == 2, "\(run.status) \(run.errors)")
        #expect(run.errors.contains(text.path) && run.errors.contains("folder") && run.errors.contains("--dataset shakespeare"), "\(run.errors)")
        #expect(!run.errors.contains("sh.txt/train.txt"), "\(run.errors)")
    }

    /// A names GPT's block fits the longest name of the splits it was trained on; a longer name in
    /// one split is an error naming its line when that split is evaluated, and no concern of another.
    @Test func aLongNameInOneSplitStopsOnlyThatSplit() throws {
        let long = String(repeating: "z", count: 20)
        let data = try Clmodel.namesFolder("long-name", extraTest: [long])
        defer { try? FileManager.default.removeItem(at: data) }
        let gpt = data.appendingPathComponent("gpt.safetensors").path
        _ = try Clmodel.writeGPTCheckpoint(gpt, block: 8)   // the longest name of train and val (7) + 1
        let val = try Clmodel.run(["eval", "gpt", "--checkpoint", gpt, "--data", data.path, "--split", "val", "--device", "reference"])
        #expect(val.status == 0, "\(val.status) \(val.errors)")
        #expect(val.output.hasPrefix("val_loss "))
        let test = try Clmodel.run(["eval", "gpt", "--checkpoint", gpt, "--data", data.path, "--split", "test", "--device", "reference"])
        #expect(test.status == 2, "\(test.status) \(test.errors)")
        #expect(test.errors.contains(data.appendingPathComponent("test.txt").path + ":11"), "names the file and line: \(test.errors)")
        #expect(test.errors.contains("20"), "\(test.errors)")
    }
}
