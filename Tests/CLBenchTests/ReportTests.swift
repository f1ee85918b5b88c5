import CLBenchKit
import CLRuntime
import Foundation
import Testing

@Suite struct ReportTests {
    private func report(_ name: String, median: Double, valid: Bool = true) -> BenchmarkReport {
        let device = DeviceSummary(info: BenchTestDevice.context.device.info, peak: BenchTestDevice.peak)
        let result = BenchmarkResult(
            variant: "v1", description: "a variant", medianMs: median, minMs: median * 0.9, maxMs: median * 1.2,
            kernelMedianMs: median, gflops: 10, gbps: 2, percentOfPeak: 10, nmse: 1e-12, maxAbsError: 1e-6, valid: valid,
            speedupVsBaseline: 1, fused: true, extra: ["m": 64, "n": 32, "k": 16, "adversarial_nmse": 0.5])
        return BenchmarkReport(benchmark: name, device: device, params: ["m": "64"], results: [result])
    }

    @Test func jsonHasTheDocumentedSchemaAndRoundTrips() throws {
        let original = report("matmul", median: 2)
        let text = try ReportFormatting.json([original])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        for key in ["benchmark", "device", "params", "results"] { #expect(object[key] != nil, "missing \(key)") }
        let device = try #require(object["device"] as? [String: Any])
        for key in ["name", "platform", "driver", "type", "peak_gflops", "peak_gbps"] { #expect(device[key] != nil, "device.\(key)") }
        let result = try #require((object["results"] as? [[String: Any]])?.first)
        for key in ["variant", "description", "median_ms", "min_ms", "max_ms", "kernel_median_ms", "gflops", "gbps",
                    "percent_of_peak", "nmse", "max_abs_error", "valid", "speedup_vs_baseline", "fused", "m", "n", "k",
                    "adversarial_nmse"] {
            #expect(result[key] != nil, "results[0].\(key)")
        }
        let decoded = try ReportFormatting.decode(Data(text.utf8))
        #expect(decoded.count == 1)
        #expect(decoded[0].results[0].extra["k"] == 16)
        #expect(decoded[0].results[0].medianMs == 2)
        #expect(decoded[0].results[0].fused == true)
        // Several reports (a sweep) encode as an array and decode the same way.
        let sweep = try ReportFormatting.decode(Data(try ReportFormatting.json([original, original]).utf8))
        #expect(sweep.count == 2)
    }

    @Test func nonFiniteErrorsStillEncode() throws {
        var broken = report("matmul", median: 1, valid: false)
        broken.results[0].nmse = .infinity
        broken.results[0].maxAbsError = .nan
        #expect(throws: Never.self) { _ = try ReportFormatting.json([broken]) }
    }

    @Test func compareShowsRatiosAgainstTheFirstRun() {
        let table = ReportComparison.table([("before.json", [report("matmul", median: 4)]),
                                            ("after.json", [report("matmul", median: 2)])])
        #expect(table.contains("before.json") && table.contains("after.json"))
        #expect(table.contains("2.00x"))
        let failed = ReportComparison.table([("a", [report("matmul", median: 4)]), ("b", [report("matmul", median: 2, valid: false)])])
        #expect(failed.contains("FAILED"))
    }

    @Test func tableCSVAndSVGNameEveryVariant() {
        let r = report("attention", median: 1.5)
        #expect(ReportFormatting.table(r, extraColumns: ["adversarial_nmse"]).contains("v1"))
        let csv = ReportFormatting.csv([r]).split(separator: "\n")
        #expect(csv.count == 2 && csv[0].contains("adversarial_nmse"))
        let svg = SVGBarChart.render(r)
        #expect(svg.hasPrefix("<svg") && svg.contains("v1") && svg.hasSuffix("</svg>\n"))
    }
}

@Suite struct DevicePeakTests {
    static func peak(_ flops: Double, _ copy: Double, driver: String = "3.1") -> DevicePeak {
        DevicePeak(device: "cpu", driver: driver, fp32GFLOPS: flops, fp32MedianGFLOPS: flops * 0.9, copyGBps: copy,
                   readGBps: copy, writeGBps: copy / 2, bandwidthBufferBytes: 1 << 28, bestLayout: "chunked", measuredAt: Date())
    }

    /// A run on a busy machine must not lower the cached denominators of "% of peak".
    @Test func theCacheKeepsTheBestOfEachFigure() {
        let best = Self.peak(100, 40).bestOf(Self.peak(200, 20))
        #expect(best.fp32GFLOPS == 200 && best.copyGBps == 40 && best.writeGBps == 20)
        // Read and write are figures of their own: the best bandwidth is the best any measurement showed.
        var readHeavy = Self.peak(100, 30)
        readHeavy.readGBps = 70
        #expect(Self.peak(100, 40).bestOf(readHeavy).bandwidthGBps == 70)
        // another driver: no mixing
        #expect(Self.peak(100, 40).bestOf(Self.peak(200, 80, driver: "4.0")).fp32GFLOPS == 100)
    }
}
