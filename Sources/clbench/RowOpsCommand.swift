import ArgumentParser
import CLBenchKit
import CLRuntime
import Foundation

struct RowOpsBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rowops",
        abstract: "Row-op families (softmax, reduce, embedding, loss, layout): every plan variant at the models' shapes, validated against the reference backend.",
        discussion: """
            One report per shape: the variant the automatic choice runs on this device comes first \
            (speedup_vs_baseline is against it) and is marked automatic=1; fastest=1 marks the \
            fastest by kernel time. Each family also runs one awkward (prime) shape. GB/s counts \
            bytes read plus written; percent_of_same_run_copy is against a copy of as many bytes \
            timed in the same rounds.
            """)

    @OptionGroup var benchmark: BenchmarkOptions

    @Option(help: "Families, comma-separated: \(RowOpsBenchmark.families.joined(separator: ", ")) (default: all).")
    var family: String?

    @Option(help: "Interleaved timing rounds per shape (each variant runs up to 5 iterations a round); replaces --iters.")
    var rounds: Int?

    @Flag(help: "Only the awkward (prime) shapes: a quick check that every variant runs and validates.")
    var quick = false

    func validate() throws {
        if let family {
            do { _ = try RowOpsBenchmark.parseFamilies(family) } catch { throw ValidationError("--family: \(error)") }
        }
        if let rounds, rounds <= 0 { throw ValidationError("--rounds must be positive, got \(rounds)") }
    }

    func run() throws {
        try reportingErrors {
            let context = try CLContext(selecting: benchmark.deviceOptions.device)
            var harness = try benchmark.makeHarness(context: context)
            if let rounds { harness.timing.iterations = rounds * harness.timing.iterationsPerRound }
            let workloads = RowOpsBenchmark.workloads(families: try family.map(RowOpsBenchmark.parseFamilies), quick: quick)
            var reports: [BenchmarkReport] = []
            for (index, workload) in workloads.enumerated() {
                harness.progress("[\(index + 1)/\(workloads.count)] \(workload.family): \(workload.shape)")
                reports.append(try RowOpsBenchmark.report(workload, harness: harness))
            }
            try benchmark.emit(reports, extraColumns: ["automatic", "percent_of_same_run_copy"])
            if benchmark.format == .table {
                print()
                for report in reports { print(RowOpsBenchmark.summary(report)) }
            }
        }
    }
}
