import BuiltProducts
import Foundation
import Testing

/// Two `clbench tune matmul` processes at once on one cache folder: the file keeps both winners.
@Suite struct TuningCacheConcurrencyTests {
    @Test func twoTunesAtOnceKeepBothWinners() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clgraph-tune-race-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let environment = ["CLGRAPH_CACHE_DIR": directory.path]
        let tiny = ["--rounds", "1", "--local-steps", "0", "--quiet", "--format", "json"]
        let shapes = [["--m", "64", "--n", "64", "--k", "64"], ["--m", "32", "--n", "48", "--k", "64"]]
        var runs: [(status: Int32, output: String, errors: String)?] = [nil, nil]
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            let run = try? BuiltProduct.run("clbench", ["tune", "matmul"] + shapes[index] + tiny, environment: environment)
            lock.lock()
            runs[index] = run
            lock.unlock()
        }
        for run in runs {
            let run = try #require(run)
            #expect(run.status == 0, "\(run.errors)")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasPrefix("matmul-tuning-") && $0.hasSuffix(".json") }
        #expect(files.count == 1, "\(files)")
        let name = try #require(files.first)
        let data = try #require(FileManager.default.contents(atPath: directory.appendingPathComponent(name).path))
        let table = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let winners = try #require(table["shapes"] as? [String: Any])
        #expect(Set(winners.keys) == ["1x64x64x64.nn", "1x32x48x64.nn"])
        // No temporary file of either writer is left behind.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }
}
