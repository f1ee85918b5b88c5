import Foundation

/// Side-by-side comparison of runs (two devices, two commits, before/after a change).
public enum ReportComparison {
    /// A table with one row per (benchmark, variant, size) and one time column per run (file), with
    /// each later report's ratio to the first (>1 means faster than the first).
    public static func table(_ reports: [(label: String, reports: [BenchmarkReport])]) -> String {
        guard !reports.isEmpty else { return "nothing to compare" }
        func key(_ result: BenchmarkResult, _ report: BenchmarkReport) -> String {
            let sizes = result.extra.filter { ["m", "n", "k", "batch", "seq", "rows", "cols"].contains($0.key) }
                .sorted { $0.key < $1.key }.map { "\($0.key)=\(Int($0.value))" }.joined(separator: ",")
            return report.benchmark + " " + result.variant + (sizes.isEmpty ? "" : " [\(sizes)]")
        }
        var order: [String] = []
        var times: [String: [Int: Double]] = [:]
        for (column, entry) in reports.enumerated() {
            for report in entry.reports {
                for result in report.results {
                    let k = key(result, report)
                    if times[k] == nil { order.append(k) }
                    times[k, default: [:]][column] = result.valid ? result.kernelOrWall : .nan
                }
            }
        }
        let width = min(48, max(20, order.map(\.count).max() ?? 20))
        var lines = ["runs: " + reports.enumerated().map { "[\($0.offset)] \($0.element.label) (\($0.element.reports.first?.device.name ?? "?"))" }
            .joined(separator: "; ")]
        var header = "case".padding(toLength: width, withPad: " ", startingAt: 0)
        for column in reports.indices {
            header += String(format: " %10@", "[\(column)] ms")
            if column > 0 { header += String(format: " %8@", "×[0]") }
        }
        lines.append(header)
        for k in order {
            var line = String(k.prefix(width)).padding(toLength: width, withPad: " ", startingAt: 0)
            let base = times[k]?[0]
            for column in reports.indices {
                let value = times[k]?[column]
                line += value.map { $0.isNaN ? "     FAILED" : String(format: " %10.4f", $0) } ?? "          -"
                if column > 0 {
                    if let base, let value, base.isFinite, value.isFinite, value > 0 {
                        line += String(format: " %7.2fx", base / value)
                    } else {
                        line += "        -"
                    }
                }
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}
