import BuiltProducts
import CLBenchKit
import Foundation
import Testing

/// Two first runs started at once on an empty cache folder: the peak both use for "% of peak" is
/// the one cached, measured by one process at a time, not each process's own figure under the
/// other's load.
@Suite struct PeakCacheProcessTests {
    @Test func twoFirstRunsAtOnceUseTheOneCachedPeak() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clgraph-peak-race-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        // `peak --cached` takes the path of every benchmark (use the cached peak, measure when there is
        // none) and prints the peak it uses; two timed runs per probe keep each measurement short.
        let arguments = ["peak", "--cached", "--runs", "2", "--format", "json", "--quiet"]
        var runs: [(status: Int32, output: String, errors: String)?] = [nil, nil]
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            let run = try? BuiltProduct.run("clbench", arguments, environment: ["CLGRAPH_CACHE_DIR": directory.path])
            lock.lock()
            runs[index] = run
            lock.unlock()
        }
        let peaks = directory.appendingPathComponent("peaks")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: peaks.path).filter { $0.hasSuffix(".json") }) ?? []
        let cached = try files.first.map { name -> DevicePeak in
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return try decoder.decode(DevicePeak.self, from: Data(contentsOf: peaks.appendingPathComponent(name)))
        }
        var usedTheCache = 0
        for run in runs {
            let run = try #require(run)
            #expect(run.status == 0, "\(run.errors)")
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            let used = try decoder.decode(DevicePeak.self, from: Data(run.output.utf8))
            // A run whose measurements never agreed says so and caches nothing; every other run
            // reports exactly the cached figures.
            if run.errors.contains("peak did not settle") { continue }
            let peak = try #require(cached, "no peak cached and no warning: \(run.errors)")
            #expect(used.fp32GFLOPS == peak.fp32GFLOPS && used.copyGBps == peak.copyGBps && used.bandwidthGBps == peak.bandwidthGBps,
                    "used \(used) but cached \(peak)")
            usedTheCache += 1
        }
        #expect(files.count <= 1)
        if usedTheCache == 0 { #expect(files.isEmpty, "a peak was cached although no run settled") }
    }
}
