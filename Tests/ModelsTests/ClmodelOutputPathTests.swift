import Foundation
import Testing

/// Output paths of `clmodel` are checked before any work starts (a bad one exits 2 at once, the
/// weights of a long run are never lost to a typo), and files are written durably: a killed
/// writer's `.NAME.<pid>.tmp` is removed by the next write.
@Suite struct ClmodelOutputPathTests {
    /// A small, fast MLP training run (reference backend) writing to `checkpoint`.
    private func trainArguments(data: URL, checkpoint: String, steps: Int = 3) -> [String] {
        ["train", "mlp", "--data", data.path, "--steps", "\(steps)", "--batch", "4", "--embedding", "4", "--hidden", "8",
         "--log-every", "\(steps)", "--eval-every", "\(steps)", "--checkpoint", checkpoint, "--device", "reference", "--quiet"]
    }

    @Test func unwritableTrainingOutputsFailBeforeTraining() throws {
        let data = try Clmodel.namesFolder("outpaths")
        defer { try? FileManager.default.removeItem(at: data) }
        let missing = "/nonexistent-clgraph-dir/x"
        for (arguments, path) in [(trainArguments(data: data, checkpoint: missing + ".safetensors"), missing + ".safetensors"),
                                  (trainArguments(data: data, checkpoint: data.appendingPathComponent("ok.safetensors").path)
                                   + ["--loss-plot", missing + ".svg"], missing + ".svg"),
                                  (trainArguments(data: data, checkpoint: data.path), data.path)] {
            let run = try Clmodel.run(arguments)
            #expect(run.status == 2, "\(arguments): \(run.status) \(run.errors)")
            #expect(run.errors.contains(path), "the message names the path: \(run.errors)")
            #expect(!run.output.contains("step 0"), "training started before the output path was checked: \(run.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: data.appendingPathComponent("ok.safetensors").path))
    }

    @Test func unwritableInspectAndQuantizeOutputsFailBeforeWork() throws {
        let folder = try Clmodel.folder("outpaths-gpt")
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = folder.appendingPathComponent("gpt.safetensors").path
        _ = try Clmodel.writeGPTCheckpoint(checkpoint, block: 8)
        let inspect = try Clmodel.run(["inspect", "gpt", "--checkpoint", checkpoint, "--prompt", "ab", "--svg", "/nonexistent-clgraph-dir/a.svg",
                                       "--device", "reference"])
        #expect(inspect.status == 2, "\(inspect.status) \(inspect.errors)")
        #expect(inspect.errors.contains("/nonexistent-clgraph-dir/a.svg") && inspect.output.isEmpty, "\(inspect.output) \(inspect.errors)")
        let quantize = try Clmodel.run(["quantize", "--checkpoint", checkpoint, "--output", "/nonexistent-clgraph-dir/q.safetensors"])
        #expect(quantize.status == 2, "\(quantize.status) \(quantize.errors)")
        #expect(quantize.errors.contains("/nonexistent-clgraph-dir/q.safetensors") && quantize.output.isEmpty)
    }

    @Test func aKilledWritersTemporaryFilesAreRemovedByTheNextWrite() throws {
        let data = try Clmodel.namesFolder("stale")
        defer { try? FileManager.default.removeItem(at: data) }
        let checkpoint = data.appendingPathComponent("mlp.safetensors").path, plot = data.appendingPathComponent("loss.svg").path
        let dead = try Clmodel.deadProcessID()
        let staleCheckpoint = data.appendingPathComponent(".mlp.safetensors.\(dead).tmp").path
        let stalePlot = data.appendingPathComponent(".loss.svg.\(dead).tmp").path
        for path in [staleCheckpoint, stalePlot] { try Data("partial".utf8).write(to: URL(fileURLWithPath: path)) }
        let run = try Clmodel.run(trainArguments(data: data, checkpoint: checkpoint) + ["--loss-plot", plot])
        #expect(run.status == 0, "\(run.errors)")
        #expect(FileManager.default.fileExists(atPath: checkpoint) && FileManager.default.fileExists(atPath: plot))
        #expect(!FileManager.default.fileExists(atPath: staleCheckpoint), "the killed writer's checkpoint temporary is still there")
        #expect(!FileManager.default.fileExists(atPath: stalePlot), "the killed writer's plot temporary is still there")
        let left = try FileManager.default.contentsOfDirectory(atPath: data.path).filter { $0.hasSuffix(".tmp") }
        #expect(left.isEmpty, "temporary files left: \(left)")
    }
}
