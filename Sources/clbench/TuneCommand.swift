import ArgumentParser
import CLBackend
import CLBenchKit
import CLRuntime
import Foundation

/// `clbench tune …`: kernel autotuning (matmul for now).
struct Tune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Autotune kernel parameters for the device and store the winners in its tuning cache.",
        subcommands: [TuneMatmul.self])
}

/// `clbench tune matmul`: a bounded search per shape class, winners written to the per-device cache.
struct TuneMatmul: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matmul",
        abstract: "Tune the matmul family per shape class and store the winners in the device's tuning cache.",
        discussion: """
            For each shape class (square-large: M > 256; tall-skinny: 4 ≤ M ≤ 256; gemv: M < 4; batched; \
            × the layouts nn, nt, tn, tt) the tuner validates a fixed candidate set against a float64 \
            reference, times the valid ones in interleaved rounds (profiling events, medians), then searches \
            around the best one parameter at a time. A winner must beat the defaults by 3% measured beside \
            them, else the defaults are stored. The cache file lives in $CLGRAPH_CACHE_DIR (see the README), \
            keyed by device name, driver version and the hash of matmul.cl; plans and `clbench matmul` read it. \
            Winners are merged into the file under a lock: tunes running at once keep each other's winners, and \
            for a key tuned by both, the one merged last wins.
            Default: the classes the models use, each on a representative shape (MLP 128×512×144 and dW1 512×144×128, \
            the 27 logits 128×27×512, attention 8×256×256×64, 1024³, 1×512×512), then the names MLP's six training \
            products as exact shapes (`--model mlp`). An exact shape (--m/--n/--k, --model) is stored under its own key \
            and wins over its class's entry for that shape only.
            """)

    @OptionGroup var deviceOptions: DeviceOptions

    @Option(help: "Output format of the summary: table, json or csv.")
    var format: OutputFormat = .table
    @Option(help: "Square sizes to tune (each tunes the class its shape falls in), comma-separated.")
    var sizes: String?
    @Option(help: "Shape classes to tune, comma-separated: a kind (square-large, tall-skinny, gemv, batched: its model layouts) or kind.layout (e.g. tall-skinny.nt).")
    var classes: String?
    @Option(help: "Tune this model's products as exact shapes: \(MatmulModel.allCases.map(\.rawValue).joined(separator: ", ")).")
    var model: MatmulModel?
    @Option(help: "One shape: rows of C (with --n and --k); stored as an exact shape.")
    var m: Int?
    @Option(help: "Columns of C.")
    var n: Int?
    @Option(help: "Inner dimension.")
    var k: Int?
    @Option(help: "Products in the batch (with --m/--n/--k).")
    var batch: Int = 1
    @Flag(help: "A stored transposed ([K, M]) for --sizes and --m/--n/--k.")
    var transposeA = false
    @Flag(help: "B stored transposed ([N, K]) for --sizes and --m/--n/--k.")
    var transposeB = false
    @Option(help: "Interleaved timing rounds per phase.")
    var rounds: Int = 5
    @Option(help: "Local-search steps after the fixed candidate set (0: fixed set only).")
    var localSteps: Int = 2
    @Flag(help: "Measure and print, but do not write the cache.")
    var dryRun = false
    @Flag(help: "No progress on stderr.")
    var quiet = false
    @Flag(help: "List every timed candidate's median on stderr.")
    var verbose = false

    func validate() throws {
        let given = [m, n, k].compactMap { $0 }
        guard given.isEmpty || given.count == 3 else { throw ValidationError("give all of --m, --n and --k, or none") }
        guard given.allSatisfy({ $0 > 0 }), batch > 0 else { throw ValidationError("--m, --n, --k and --batch must be positive") }
        if let sizes { _ = try positiveList(sizes, name: "--sizes") }
        guard rounds > 0, localSteps >= 0 else { throw ValidationError("--rounds must be positive and --local-steps zero or more") }
        if let classes { _ = try Self.parseClasses(classes) }
    }

    static func parseClasses(_ text: String) throws -> [MatmulShapeClass] {
        var result: [MatmulShapeClass] = []
        for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if let kind = MatmulShapeClass.Kind(rawValue: item) {
                result += MatmulShapeClass.modelClasses.filter { $0.kind == kind }
            } else if let shapeClass = MatmulShapeClass(key: item) {
                result.append(shapeClass)
            } else {
                let kinds = MatmulShapeClass.Kind.allCases.map(\.rawValue).joined(separator: ", ")
                throw ValidationError("--classes: '\(item)' is not a kind (\(kinds)) or kind.layout with layout nn, nt, tn or tt")
            }
        }
        return result
    }

    /// The shapes to tune, each marked exact (stored under its own key) or not (stored for its class):
    /// explicit ones, else the model classes' representatives and the MLP's products.
    func shapes() throws -> [(shape: MatmulShape, exact: Bool)] {
        var list: [(shape: MatmulShape, exact: Bool)] = []
        if let m, let n, let k {
            list.append((MatmulShape(batch: batch, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB), true))
        }
        if let sizes {
            list += try positiveList(sizes, name: "--sizes").map {
                (MatmulShape(m: $0, n: $0, k: $0, transposeA: transposeA, transposeB: transposeB), false)
            }
        }
        if let classes { list += try Self.parseClasses(classes).map { ($0.representativeShape, false) } }
        if let model { list += model.shapes.map { ($0, true) } }
        if list.isEmpty {
            list = MatmulShapeClass.modelClasses.map { ($0.representativeShape, false) } + MatmulModel.mlp.shapes.map { ($0, true) }
        }
        return list
    }

    func run() throws {
        try reportingErrors {
            let context = try CLContext(selecting: deviceOptions.device)
            let info = context.device.info
            let show = !quiet
            let say: (String) -> Void = { if show { FileHandle.standardError.write(Data("\($0)\n".utf8)) } }
            let environment = FamilyEnvironment(context: context)
            var options = MatmulTuner.Options()
            options.rounds = rounds
            options.localSearchSteps = localSteps
            let live = show && isatty(STDERR_FILENO) != 0
            let tuner = MatmulTuner(environment: environment, options: options, progress: { message in
                if live { FileHandle.standardError.write(Data("\u{1B}[2K\r  \(message)".utf8)) }
            })
            let url = MatmulTuningCache.url(for: info)
            // A corrupt or mismatched file warns here; the first merge replaces it.
            _ = MatmulTuningCache.load(device: info, url: url)
            // This run's winners only: each merge re-reads the file under its lock, so winners another
            // tune stored meanwhile are kept, and an entry read at the start never overwrites a newer one.
            var measured = MatmulTuningTable(device: info)
            let shapes = try shapes()
            say("tuning matmul on \(info.name) (\(environment.deviceClass.rawValue)): \(shapes.count) shape(s); cache \(url.path)")
            var outcomes: [(key: String, outcome: MatmulTuner.Outcome)] = []
            for (index, (shape, exact)) in shapes.enumerated() {
                try checkFits(context: context, elements: shape.aCount + shape.bCount + shape.cCount)
                let key = exact ? shape.tuningKey : MatmulShapeClass(shape).description
                say("[\(index + 1)/\(shapes.count)] \(key): \(shape.batch)×\(shape.m)×\(shape.n)×\(shape.k)")
                let started = Date()
                let outcome = try tuner.tune(shape)
                if live { FileHandle.standardError.write(Data("\u{1B}[2K\r".utf8)) }
                say(String(format: "  winner %@: %.4f ms (%.1f GFLOP/s) vs defaults %.4f ms (%.1f GFLOP/s); %d tried, %d rejected, %.1f s",
                           outcome.winner.description, outcome.winnerMs, outcome.winnerGFLOPS, outcome.defaultMs,
                           outcome.defaultGFLOPS, outcome.tried, outcome.rejected.count, Date().timeIntervalSince(started)))
                for reason in outcome.rejected { say("  rejected \(reason)") }
                if verbose {
                    for (tuning, ms) in outcome.scores {
                        say(String(format: "    %10.4f ms %7.1f GFLOP/s  %@", ms, outcome.flops / (ms * 1e6), tuning.description))
                    }
                }
                outcomes.append((key, outcome))
                if exact { measured.shapes[key] = outcome.entry() } else { measured.entries[key] = outcome.entry() }
                if !dryRun {
                    // Merged after every shape: an interrupted tune keeps what it found.
                    MatmulTuningCache.setShared(try MatmulTuningCache.merge(measured, into: url), for: info)
                }
            }
            if !dryRun { say("wrote \(url.path)") }
            try emit(outcomes, context: context)
        }
    }

    private func emit(_ outcomes: [(key: String, outcome: MatmulTuner.Outcome)], context: CLContext) throws {
        switch format {
        case .table:
            print("matmul tuning on \(context.device.info.name): winners vs defaults (kernel-time medians of interleaved rounds)")
            print("  class or shape      shape (b×m×n×k)       default ms  GFLOP/s   tuned ms  GFLOP/s  speedup  winner")
            for (key, o) in outcomes {
                let shape = "\(o.shape.batch)×\(o.shape.m)×\(o.shape.n)×\(o.shape.k)"
                print("  " + key.padding(toLength: 19, withPad: " ", startingAt: 0) + " "
                      + shape.padding(toLength: 20, withPad: " ", startingAt: 0)
                      + String(format: " %10.4f %8.1f %10.4f %8.1f %7.2fx  %@", o.defaultMs, o.defaultGFLOPS, o.winnerMs,
                               o.winnerGFLOPS, o.defaultMs / o.winnerMs, o.winner == o.defaults ? "(defaults)" : o.winner.description))
            }
        case .json, .csv:
            let peak = try DevicePeakCache.peak(for: context)
            let results = outcomes.map { key, o in
                BenchmarkResult(
                    variant: key, description: "\(o.winner)", medianMs: o.winnerMs, minMs: o.winnerMs,
                    maxMs: o.winnerMs, kernelMedianMs: o.winnerMs, gflops: o.winnerGFLOPS,
                    gbps: 4 * Double(o.shape.aCount + o.shape.bCount + o.shape.cCount) / (o.winnerMs * 1e6),
                    percentOfPeak: 100 * o.winnerGFLOPS / max(peak.fp32GFLOPS, 1e-9), nmse: o.winnerNMSE, maxAbsError: .nan,
                    valid: true, speedupVsBaseline: o.defaultMs / o.winnerMs,
                    extra: ["m": Double(o.shape.m), "n": Double(o.shape.n), "k": Double(o.shape.k), "batch": Double(o.shape.batch),
                            "default_ms": o.defaultMs, "default_gflops": o.defaultGFLOPS, "candidates": Double(o.tried),
                            "rejected": Double(o.rejected.count)])
            }
            let report = BenchmarkReport(benchmark: "tune-matmul", device: DeviceSummary(info: context.device.info, peak: peak),
                                         params: ["rounds": "\(rounds)", "local_steps": "\(localSteps)", "dry_run": "\(dryRun)"],
                                         results: results)
            print(format == .json ? try ReportFormatting.json([report]) : ReportFormatting.csv([report]))
        }
    }
}
