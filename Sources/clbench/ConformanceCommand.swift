import ArgumentParser
import CLBackend
import CLRuntime
import Foundation
import GraphConformance
import TensorGraph

struct Conformance: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the op × shape conformance table on the device against the reference backend.",
        discussion: "Every kernel variant is exercised (one pass per forced variant). Exits 1 on any failure.")

    @OptionGroup var deviceOptions: DeviceOptions

    @Option(help: "Output format: table, json or csv.")
    var format: OutputFormat = .table

    @Flag(help: "Skip the one large case per op.")
    var quick = false

    @Option(help: "Only ops whose name contains this text.")
    var op: String?

    @Flag(help: "Only the default variants (one pass).")
    var defaultsOnly = false

    @Option(help: "Guard elements around each output buffer (0 disables the out-of-bounds check).")
    var guardElements: Int = 64

    struct Row: Codable {
        var op: String
        var cases: Int
        var passes: Int
        var worstNMSE: Double
        var bound: Double
        var failures: [String]
    }

    func run() throws {
        try reportingErrors {
            let backend = try OpenCLBackend(device: deviceOptions.device)
            var cases = ConformanceTable.cases(includeLarge: !quick)
            if let op { cases = cases.filter { $0.op.contains(op) } }
            let passes = defaultsOnly ? [("default", CompileOptions())] : OpenCLBackend.variantCoverageOptions()
            var rows: [String: Row] = [:]
            let showProgress = isatty(STDERR_FILENO) != 0
            for (index, pass) in passes.enumerated() {
                if showProgress {
                    FileHandle.standardError.write(Data("pass \(index + 1)/\(passes.count): \(pass.label)\n".utf8))
                }
                var options = pass.options
                options.guardElements = guardElements
                for result in ConformanceRunner.run(cases, on: backend, options: options) {
                    var row = rows[result.op] ?? Row(op: result.op, cases: 0, passes: 0, worstNMSE: 0, bound: result.bound, failures: [])
                    row.cases += 1
                    if result.passed { row.passes += 1 } else {
                        row.failures.append("[\(pass.label)] \(result.label): " + (result.error ?? "nmse \(result.nmse) > \(result.bound)"))
                    }
                    if result.nmse.isFinite { row.worstNMSE = max(row.worstNMSE, result.nmse) } else { row.worstNMSE = .infinity }
                    row.bound = max(row.bound, result.bound)
                    rows[result.op] = row
                }
            }
            let ordered = rows.values.sorted { $0.op < $1.op }
            switch format {
            case .json:
                struct Report: Codable { var device: DeviceInfo; var passes: [String]; var ops: [Row] }
                print(try jsonText(Report(device: backend.context.device.info, passes: passes.map(\.label), ops: ordered)))
            case .csv:
                print("op,cases,passed,worst_nmse,bound")
                for row in ordered { print("\(row.op),\(row.cases),\(row.passes),\(row.worstNMSE),\(row.bound)") }
            case .table:
                print("device \(backend.context.device.info.summary); \(passes.count) variant passes")
                print("op".padding(toLength: 16, withPad: " ", startingAt: 0) + "  cases  passed  worst NMSE   bound")
                for row in ordered {
                    print(row.op.padding(toLength: 16, withPad: " ", startingAt: 0)
                          + String(format: "  %5d  %6d  %10.3e  %7.1e", row.cases, row.passes, row.worstNMSE, row.bound))
                    for failure in row.failures.prefix(10) { print("    FAILED \(failure)") }
                }
                let total = ordered.reduce(0) { $0 + $1.cases }, passed = ordered.reduce(0) { $0 + $1.passes }
                print("\(passed)/\(total) checks passed")
            }
            if ordered.contains(where: { $0.passes < $0.cases }) { throw ExitCode(1) }
        }
    }
}
