import Foundation

/// Side-by-side comparison of runs (two devices, two commits, before/after a change).
public enum ReportComparison {
    /// A table with one row per (benchmark, variant, size) and one time column per run (file), with
    /// each later report's ratio to the first (>1 means faster than the first).
    public static func table(_ reports: [(label: String, reports: [BenchmarkReport])]) -> String {
        guard !reports.isEmpty else { return "nothing to compare" }
        let (order, times) = rows(reports)
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

    /// A row's name: benchmark, variant and sizes (results with the same name in two runs are paired).
    static func key(_ result: BenchmarkResult, _ report: BenchmarkReport) -> String {
        let sizes = result.extra.filter { ["m", "n", "k", "batch", "seq", "rows", "cols"].contains($0.key) }
            .sorted { $0.key < $1.key }.map { "\($0.key)=\(Int($0.value))" }.joined(separator: ",")
        return report.benchmark + " " + result.variant + (sizes.isEmpty ? "" : " [\(sizes)]")
    }

    /// The row names in first-seen order, and per row each run's time (NaN: failed validation).
    static func rows(_ reports: [(label: String, reports: [BenchmarkReport])]) -> (order: [String], times: [String: [Int: Double]]) {
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
        return (order, times)
    }

    /// Which rows of a comparison have no partner: the runs' benchmarks, and the rows missing from some run.
    public struct Pairing: Sendable {
        /// Each run's benchmark names, sorted.
        public var benchmarks: [[String]]
        /// Rows missing from at least one run, with the runs (column numbers) that hold them.
        public var unpaired: [(row: String, runs: [Int])]
        /// For each run after the first, how many rows it shares with the first (its ratios).
        public var pairedWithFirst: [Int]

        /// Whether every run holds the same benchmarks and rows.
        public var isComplete: Bool { unpaired.isEmpty && Set(benchmarks).count <= 1 }
        /// Whether some run after the first shares no row with it: nothing about it was compared.
        public var hasRunWithNothingPaired: Bool { pairedWithFirst.contains(0) }

    }

    /// How the rows of `reports` pair up across runs.
    public static func pairing(_ reports: [(label: String, reports: [BenchmarkReport])]) -> Pairing {
        let (order, times) = rows(reports)
        let benchmarks = reports.map { Set($0.reports.map(\.benchmark)).sorted() }
        let unpaired = order.compactMap { row -> (row: String, runs: [Int])? in
            let runs = times[row]!.keys.sorted()
            return runs.count == reports.count ? nil : (row, runs)
        }
        let pairedWithFirst = reports.indices.dropFirst().map { column in
            order.filter { times[$0]![0] != nil && times[$0]![column] != nil }.count
        }
        return Pairing(benchmarks: benchmarks, unpaired: unpaired, pairedWithFirst: pairedWithFirst)
    }

    /// The warning lines for an incomplete pairing (empty when every run holds the same rows):
    /// the runs' benchmarks when they differ, and the rows that could not be paired (at most
    /// `limit` named).
    public static func warnings(_ reports: [(label: String, reports: [BenchmarkReport])], limit: Int = 10) -> [String] {
        let pairing = pairing(reports)
        guard !pairing.isComplete else { return [] }
        var lines: [String] = []
        func run(_ column: Int) -> String { "[\(column)] \(reports[column].label)" }
        if Set(pairing.benchmarks).count > 1 {
            lines.append("the runs hold different benchmarks: " + pairing.benchmarks.enumerated()
                .map { "\(run($0.offset)): \($0.element.isEmpty ? "none" : $0.element.joined(separator: ", "))" }
                .joined(separator: "; "))
        }
        if !pairing.unpaired.isEmpty {
            let named = pairing.unpaired.prefix(limit).map { "\($0.row) (only in \($0.runs.map { "[\($0)]" }.joined(separator: ", ")))" }
            let more = pairing.unpaired.count > limit ? "; and \(pairing.unpaired.count - limit) more" : ""
            lines.append("\(pairing.unpaired.count) row(s) could not be paired across all runs: "
                         + named.joined(separator: "; ") + more)
        }
        for (offset, count) in pairing.pairedWithFirst.enumerated() where count == 0 {
            lines.append("\(run(offset + 1)) shares no row with \(run(0)): nothing in it was compared")
        }
        return lines
    }
}
