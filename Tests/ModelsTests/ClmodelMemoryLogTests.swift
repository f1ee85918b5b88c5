import Foundation
import Testing

/// `--log-memory`: every log line carries the process's resident memory and the device bytes.
@Suite struct ClmodelMemoryLogTests {
    @Test func logLinesCarryResidentAndDeviceMemory() throws {
        let folder = try Clmodel.folder("memory-log")
        let data = try Clmodel.namesFolder("memory-log-data")
        let run = try Clmodel.run(["train", "mlp", "--data", data.path, "--steps", "20", "--batch", "4", "--embedding", "4",
                                   "--hidden", "8", "--log-every", "10", "--eval-every", "20", "--quiet", "--log-memory",
                                   "--checkpoint", folder.appendingPathComponent("m.safetensors").path])
        #expect(run.status == 0, "\(run.errors)")
        let lines = run.output.split(separator: "\n").filter { $0.hasPrefix("step 10 ") || $0.hasPrefix("step 20 ") }
        #expect(lines.count == 2, "\(run.output)")
        for line in lines {
            let fields = Dictionary(uniqueKeysWithValues: line.split(separator: "|").compactMap { part -> (String, Double)? in
                let words = part.split(separator: " ")
                guard words.count == 2, let value = Double(words[1]) else { return nil }
                return (String(words[0]), value)
            })
            #expect((fields["rss_mib"] ?? 0) > 1, "\(line)")
            // The MLP's weights, AdamW moments and activations live in device buffers.
            #expect((fields["device_mib"] ?? 0) > 0, "\(line)")
        }
    }
}
