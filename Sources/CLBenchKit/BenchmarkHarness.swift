import CLRuntime
import Foundation

/// How a variant's output compared with the float64 reference.
public struct ValidationOutcome: Sendable {
    public var nmse: Double
    public var maxAbsError: Double
    /// The NMSE bound for this variant (its math: fast-math or quantized variants get a looser one).
    public var bound: Double
    public var passed: Bool { nmse.isFinite && maxAbsError.isFinite && nmse <= bound }

    public init(nmse: Double, maxAbsError: Double, bound: Double) {
        self.nmse = nmse
        self.maxAbsError = maxAbsError
        self.bound = bound
    }

    /// Compares `actual` with a float64 `reference`.
    public init(reference: [Double], actual: [Float], bound: Double) {
        var error = 0.0, power = 0.0, worst = 0.0
        var finite = reference.count == actual.count
        for (r, a) in zip(reference, actual) {
            let difference = r - Double(a)
            if !a.isFinite { finite = false }
            error += difference * difference
            power += r * r
            worst = max(worst, abs(difference))
        }
        self.init(nmse: finite ? (power > 0 ? error / power : error) : .infinity,
                  maxAbsError: finite ? worst : .infinity, bound: bound)
    }
}

/// What roofline a variant is judged against for "% of peak".
public enum Roofline: String, Sendable { case compute, memory }

/// One variant to measure: how to enqueue one iteration and how to check its output.
public struct BenchmarkCase {
    public var variant: String
    public var description: String
    public var flops: Double
    public var bytes: Double
    public var roofline: Roofline
    public var fused: Bool?
    public var extra: [String: Double]
    /// Enqueues one iteration (no waiting); returns the kernels' events for kernel time.
    public var enqueue: () throws -> [CLEvent?]
    /// Reads the output of the last iteration and compares it with the reference.
    public var validate: () throws -> ValidationOutcome

    public init(variant: String, description: String, flops: Double, bytes: Double, roofline: Roofline,
                fused: Bool? = nil, extra: [String: Double] = [:], enqueue: @escaping () throws -> [CLEvent?],
                validate: @escaping () throws -> ValidationOutcome) {
        self.variant = variant
        self.description = description
        self.flops = flops
        self.bytes = bytes
        self.roofline = roofline
        self.fused = fused
        self.extra = extra
        self.enqueue = enqueue
        self.validate = validate
    }
}

public struct TimingOptions: Sendable {
    public var warmup = 3
    /// Timed iterations per variant (spread over interleaved rounds).
    public var iterations = 20
    /// When set, keep adding rounds until each variant has run at least this many seconds.
    public var minSeconds: Double?
    /// Iterations per variant per round: variants take turns so machine noise hits them alike.
    public var iterationsPerRound = 5
    public init() {}
}

/// Validates, warms up, times in interleaved rounds and validates again.
public struct BenchmarkHarness {
    public let context: CLContext
    public let peak: DevicePeak
    public var timing: TimingOptions
    public var progress: (String) -> Void

    public init(context: CLContext, peak: DevicePeak, timing: TimingOptions = TimingOptions(),
                progress: @escaping (String) -> Void = { _ in }) {
        self.context = context
        self.peak = peak
        self.timing = timing
        self.progress = progress
    }

    private func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e6 }

    /// Measures every case; the first is the baseline for `speedup_vs_baseline`.
    public func measure(_ cases: [BenchmarkCase]) throws -> [BenchmarkResult] {
        var before: [ValidationOutcome?] = []
        var failures: [String?] = []
        for benchmarkCase in cases {
            progress("validating \(benchmarkCase.variant)")
            do {
                _ = try benchmarkCase.enqueue()
                try context.finish()
                before.append(try benchmarkCase.validate())
                failures.append(nil)
            } catch {
                before.append(nil)
                failures.append("\(error)")
            }
        }
        let runnable = cases.indices.filter { before[$0] != nil }
        for index in runnable {
            for _ in 0..<timing.warmup { _ = try cases[index].enqueue() }
            try context.finish()
        }

        var wall = [[Double]](repeating: [], count: cases.count)
        var kernel = [[Double]](repeating: [], count: cases.count)
        var roundMedians = [[Double]](repeating: [], count: cases.count)
        let perRound = max(1, timing.iterationsPerRound)
        let started = now()
        var round = 0
        while true {
            round += 1
            for index in runnable {
                var times: [Double] = []
                for _ in 0..<perRound {
                    let start = now()
                    let events = try cases[index].enqueue()
                    try context.finish()
                    let elapsed = now() - start
                    times.append(elapsed)
                    wall[index].append(elapsed)
                    kernel[index].append(try events.compactMap { $0 }.reduce(0) { $0 + (try $1.profilingTimes().durationMilliseconds) })
                }
                roundMedians[index].append(median(times))
            }
            let done = runnable.allSatisfy { wall[$0].count >= timing.iterations }
            let longEnough = timing.minSeconds.map { (now() - started) / 1e3 >= $0 * Double(max(runnable.count, 1)) } ?? true
            progress("round \(round): \(wall[runnable.first ?? 0].count) iterations per variant")
            if done && longEnough { break }
        }

        var results: [BenchmarkResult] = []
        let baseline = runnable.first
        for (index, benchmarkCase) in cases.enumerated() {
            guard let first = before[index] else {
                results.append(BenchmarkResult(
                    variant: benchmarkCase.variant, description: benchmarkCase.description, medianMs: 0, minMs: 0, maxMs: 0,
                    kernelMedianMs: 0, gflops: 0, gbps: 0, percentOfPeak: 0, nmse: .infinity, maxAbsError: .infinity,
                    valid: false, speedupVsBaseline: 0, fused: benchmarkCase.fused, failure: failures[index],
                    extra: benchmarkCase.extra))
                continue
            }
            let after = try benchmarkCase.validate()
            let worst = after.nmse > first.nmse || !after.nmse.isFinite ? after : first
            let kernelMedian = median(kernel[index])
            let wallMedian = median(wall[index])
            // Rates from kernel time where the driver reports it, else wall time.
            let seconds = (kernelMedian > 0 ? kernelMedian : wallMedian) / 1e3
            let gflops = benchmarkCase.flops / seconds / 1e9
            let gbps = benchmarkCase.bytes / seconds / 1e9
            let percent = benchmarkCase.roofline == .compute
                ? 100 * gflops / max(peak.fp32GFLOPS, 1e-9) : 100 * gbps / max(peak.bandwidthGBps, 1e-9)
            var speedup = 1.0
            if let baseline, baseline != index {
                speedup = median(zip(roundMedians[baseline], roundMedians[index]).map { $0 / max($1, 1e-12) })
            }
            var failure: String?
            if !first.passed { failure = "before timing: nmse \(first.nmse) > \(first.bound)" }
            else if !after.passed { failure = "after timing: nmse \(after.nmse) > \(after.bound)" }
            results.append(BenchmarkResult(
                variant: benchmarkCase.variant, description: benchmarkCase.description, medianMs: wallMedian,
                minMs: wall[index].min() ?? 0, maxMs: wall[index].max() ?? 0, kernelMedianMs: kernelMedian, gflops: gflops,
                gbps: gbps, percentOfPeak: percent, nmse: worst.nmse, maxAbsError: max(first.maxAbsError, after.maxAbsError),
                valid: first.passed && after.passed, speedupVsBaseline: speedup, fused: benchmarkCase.fused,
                failure: failure, extra: benchmarkCase.extra))
        }
        return results
    }
}

func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}
