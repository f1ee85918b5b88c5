import ArgumentParser
import CLBackend
import Foundation
import GraphConformance
import TensorGraph

struct Fuzz: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run seeded random graphs (forward and backward) on the device against the reference backend.",
        discussion: """
            Graph i is generated from seed S+i, so `--seed S+i --graphs 1` replays one graph. A failing \
            graph is printed with its seed and a minimal reproduction (its ops and shapes). Exits 1 when \
            any graph fails, 0 otherwise.
            """)

    @OptionGroup var deviceOptions: DeviceOptions

    @Option(help: "How many seeds to generate graphs from.")
    var graphs: Int = 100

    @Option(help: "The first graph's seed; graph i uses seed + i.")
    var seed: UInt64 = 1

    @Option(help: "Dimension variants per seed: each batch of seeds runs again with other sizes of the same kind, reusing most generated programs (graphs checked = --graphs × this).")
    var dimensionVariants: Int = 1

    @Option(help: "The first dimension variant (replays a failure reported with a variant).")
    var dimensionVariant: Int = 0

    @Option(help: "Graphs compiled into one plan (they share its generated programs; 1 checks each graph alone).")
    var graphsPerPlan: Int = 16

    @Option(help: "Forward steps per graph, at most.")
    var maxSteps: Int = 12

    @Option(help: "Largest element count of any generated tensor.")
    var maxElements: Int = 2048

    @Option(help: "Chance that a graph also gets a loss and its gradients (0...1).")
    var backward: Double = 0.5

    @Option(help: "Candidate graphs the shrinker may check per failure.")
    var shrinkChecks: Int = 150

    @Option(help: "Attention lowering: automatic, fused or unfused.")
    var attention: String = "automatic"

    @Option(name: .customLong("kernel-variant"),
            help: "Force a kernel variant, FAMILY=NUMBER (e.g. matmul=1, elementwise.horizontal=0); repeatable.")
    var kernelVariants: [String] = []

    @Option(help: "Guard elements around each output buffer, checked after every run (0 disables the out-of-bounds check).")
    var guardElements: Int = 16

    @Option(help: "Output format: table, json or csv.")
    var format: OutputFormat = .table

    /// The compile options the flags ask for.
    func compileOptions() throws -> CompileOptions {
        guard let lowering = AttentionLowering(rawValue: attention) else {
            throw ValidationError("--attention must be one of \(AttentionLowering.allCases.map(\.rawValue).joined(separator: ", ")), got \(attention)")
        }
        guard guardElements >= 0 else { throw ValidationError("--guard-elements must not be negative, got \(guardElements)") }
        var openCL = OpenCLOptions()
        for text in kernelVariants {
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, let number = Int(parts[1]) else {
                throw ValidationError("--kernel-variant expects FAMILY=NUMBER, got \(text)")
            }
            do { try openCL.set(parts[0], to: number) } catch { throw ValidationError("--kernel-variant: \(error)") }
        }
        return CompileOptions(attention: lowering, openCL: openCL, guardElements: guardElements)
    }

    func validate() throws {
        _ = try compileOptions()
        guard graphs >= 1 else { throw ValidationError("--graphs must be at least 1, got \(graphs)") }
        guard dimensionVariants >= 1 else { throw ValidationError("--dimension-variants must be at least 1, got \(dimensionVariants)") }
        guard dimensionVariant >= 0 else { throw ValidationError("--dimension-variant must not be negative, got \(dimensionVariant)") }
        guard graphsPerPlan >= 1 else { throw ValidationError("--graphs-per-plan must be at least 1, got \(graphsPerPlan)") }
        guard maxSteps >= 1 else { throw ValidationError("--max-steps must be at least 1, got \(maxSteps)") }
        guard maxElements >= 16 else { throw ValidationError("--max-elements must be at least 16, got \(maxElements)") }
        guard (0...1).contains(backward) else { throw ValidationError("--backward must lie in 0...1, got \(backward)") }
        guard shrinkChecks >= 0 else { throw ValidationError("--shrink-checks must not be negative, got \(shrinkChecks)") }
        guard seed <= UInt64.max - UInt64(graphs) else { throw ValidationError("--seed \(seed) + --graphs \(graphs) overflows") }
    }

    struct Report: Codable {
        var device: String
        var seed: UInt64
        var graphs: Int
        var plans: Int
        var ops: Int
        var outputsChecked: Int
        var seconds: Double
        var failures: [Failure]
    }

    struct Failure: Codable {
        var seed: UInt64
        var dimensionVariant: Int
        var what: String
        var sharedPlanSeeds: [UInt64]?
        var minimalOps: Int
        var minimal: [String]
    }

    func run() throws {
        try reportingErrors {
            let backend = try OpenCLBackend(device: deviceOptions.device)
            var configuration = FuzzConfiguration()
            configuration.steps = min(3, maxSteps)...maxSteps
            configuration.maxElements = maxElements
            configuration.backwardProbability = backward
            configuration.dimensionVariant = dimensionVariant
            let runner = FuzzRunner(backend: backend, options: try compileOptions(), graphsPerPlan: graphsPerPlan, shrinkChecks: shrinkChecks)
            let seeds = (0..<graphs).map { seed + UInt64($0) }
            let started = Date()
            var lastReport = Date.distantPast
            let summary = runner.run(seeds: seeds, configuration: configuration, dimensionVariants: dimensionVariants) { done, total, failures in
                // Progress on stderr, at most once a second and at the end.
                guard Date().timeIntervalSince(lastReport) >= 1 || done == total else { return }
                lastReport = Date()
                let elapsed = Date().timeIntervalSince(started)
                FileHandle.standardError.write(Data(String(format: "fuzz: %d/%d graphs, %d failed, %.0f s\n",
                                                           done, total, failures, elapsed).utf8))
            }
            let seconds = Date().timeIntervalSince(started)
            let report = Report(
                device: backend.context.device.info.summary, seed: seed, graphs: summary.graphs, plans: summary.plans,
                ops: summary.ops, outputsChecked: summary.outputsChecked, seconds: seconds,
                failures: summary.failures.map {
                    Failure(seed: $0.seed, dimensionVariant: $0.graph.dimensionVariant, what: $0.outcome.summary, sharedPlanSeeds: $0.sharedPlanSeeds,
                            minimalOps: $0.minimal.opCount, minimal: $0.minimal.description.components(separatedBy: "\n"))
                })
            switch format {
            case .json:
                print(try jsonText(report))
            case .csv:
                print("seed,dimension_variant,result,minimal_ops")
                for failure in report.failures {
                    print("\(failure.seed),\(failure.dimensionVariant),\"\(failure.what.replacingOccurrences(of: "\"", with: "\"\""))\",\(failure.minimalOps)")
                }
                print("# graphs \(report.graphs), ops \(report.ops), outputs checked \(report.outputsChecked), failures \(report.failures.count)")
            case .table:
                for failure in summary.failures { print(failure.description + "\n") }
                print("device \(report.device)")
                print(String(format: "seeds %llu..<%llu × %d dimension variants: %d graphs in %d plans, %d ops, %d outputs checked, %d failed, %.1f s",
                             seed, seed + UInt64(graphs), dimensionVariants, report.graphs, report.plans, report.ops, report.outputsChecked,
                             report.failures.count, seconds))
                if !report.failures.isEmpty {
                    print("failing seeds: " + report.failures.map {
                        $0.dimensionVariant == 0 ? String($0.seed) : "\($0.seed) (variant \($0.dimensionVariant))"
                    }.joined(separator: " "))
                }
            }
            if !summary.failures.isEmpty { throw ExitCode(1) }
        }
    }
}
