import Foundation

/// Renders reports as a narrow-terminal table, CSV or JSON.
public enum ReportFormatting {
    public static func json(_ reports: [BenchmarkReport]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let data = reports.count == 1 ? try encoder.encode(reports[0]) : try encoder.encode(reports)
        return String(decoding: data, as: UTF8.self)
    }

    public static func decode(_ data: Data) throws -> [BenchmarkReport] {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        if let single = try? decoder.decode(BenchmarkReport.self, from: data) { return [single] }
        return try decoder.decode([BenchmarkReport].self, from: data)
    }

    /// One CSV header and a row per result; `extra` keys become columns (union over the results).
    public static func csv(_ reports: [BenchmarkReport]) -> String {
        let extraKeys = Set(reports.flatMap { $0.results.flatMap { $0.extra.keys } }).sorted()
        var lines = [(["benchmark", "device", "variant", "median_ms", "min_ms", "max_ms", "kernel_median_ms", "gflops",
                       "gbps", "percent_of_peak", "nmse", "max_abs_error", "valid", "speedup_vs_baseline", "fused"]
                      + extraKeys).joined(separator: ",")]
        for report in reports {
            for r in report.results {
                var fields = [report.benchmark, quoted(report.device.name), quoted(r.variant)]
                fields += [r.medianMs, r.minMs, r.maxMs, r.kernelMedianMs, r.gflops, r.gbps, r.percentOfPeak, r.nmse,
                           r.maxAbsError].map { String(format: "%.6g", $0) }
                fields += [String(r.valid), String(format: "%.4g", r.speedupVsBaseline), r.fused.map { String($0) } ?? ""]
                fields += extraKeys.map { key in r.extra[key].map { String(format: "%.6g", $0) } ?? "" }
                lines.append(fields.joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func quoted(_ text: String) -> String {
        text.contains(",") || text.contains("\"") ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }

    /// A table that fits ~100 columns: the fastest valid variant is marked with `*`.
    public static func table(_ report: BenchmarkReport, extraColumns: [String] = []) -> String {
        var lines: [String] = []
        lines.append("\(report.benchmark) on \(report.device.name) (\(report.device.type), \(report.device.platform))")
        if !report.params.isEmpty {
            lines.append("params: " + report.params.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        }
        lines.append(String(format: "peak: %.1f GFLOP/s fp32, %.1f GB/s; times are medians over interleaved rounds, kernel = device time",
                            report.device.peakGflops, report.device.peakGbps))
        let fastest = report.results.filter(\.valid).min { $0.kernelOrWall < $1.kernelOrWall }?.variant
        let width = max(12, min(28, report.results.map(\.variant.count).max() ?? 12))
        var header = "  " + "variant".padding(toLength: width, withPad: " ", startingAt: 0)
            + "   kernel ms    wall ms   GFLOP/s    GB/s  %peak  speedup   NMSE      ok"
        for column in extraColumns { header += "  " + column }
        lines.append(header)
        for r in report.results {
            let mark = r.variant == fastest ? "*" : " "
            var line = mark + " " + String(r.variant.prefix(width)).padding(toLength: width, withPad: " ", startingAt: 0)
            line += String(format: " %10.4f %10.4f %9.2f %7.2f %6.1f %7.2fx  %8.1e  %@", r.kernelMedianMs, r.medianMs, r.gflops,
                           r.gbps, r.percentOfPeak, r.speedupVsBaseline, r.nmse, r.valid ? "yes" : "FAILED")
            for column in extraColumns {
                line += "  " + (r.extra[column].map { String(format: "%.3g", $0) } ?? "-")
            }
            lines.append(line)
            if let failure = r.failure { lines.append("    \(failure)") }
        }
        if let fastest { lines.append("* fastest valid variant: \(fastest)") }
        return lines.joined(separator: "\n")
    }
}

extension BenchmarkResult {
    /// Kernel time when the driver profiles, else wall time.
    var kernelOrWall: Double { kernelMedianMs > 0 ? kernelMedianMs : medianMs }
}
