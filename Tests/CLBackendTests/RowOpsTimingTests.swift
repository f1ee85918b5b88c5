import CLBackend
import CLRuntime
import Foundation
import Testing

/// A one-off timing check of the row-wise families (release build), enabled by CLGRAPH_ROWOPS_TIMING=1:
/// `CLGRAPH_ROWOPS_TIMING=1 swift test -c release --filter RowOpsTimingTests`. Prints min/median kernel
/// time (profiling events) and GB/s from each step's byte count.
@Suite struct RowOpsTimingTests {
    static let enabled = ProcessInfo.processInfo.environment["CLGRAPH_ROWOPS_TIMING"] == "1"

    static func time(_ name: String, _ steps: [LaunchStep], runs: Int = 15) throws {
        let context = TestDevice.context
        for _ in 0..<3 { for step in steps { try step.enqueue(on: context) } }
        try context.finish()
        var times: [Double] = []
        for _ in 0..<runs {
            var total = 0.0
            for step in steps {
                let event = try step.enqueue(on: context, event: true)
                try context.finish()
                total += try event!.profilingTimes().durationMilliseconds
            }
            times.append(total)
        }
        times.sort()
        let bytes = steps.reduce(0) { $0 + $1.bytes }, flops = steps.reduce(0) { $0 + $1.flops }
        let median = times[times.count / 2]
        print(String(format: "ROWOPS %-44@ min %.3f ms  median %.3f ms  %.1f GB/s (median)  %.1f GFLOP/s",
                     name as NSString, times[0], median, bytes / median / 1e6, flops / median / 1e6))
    }

    /// Median per-step kernel time of `runs` back-to-back launches.
    static func medianTime(_ steps: [LaunchStep], runs: Int) throws -> Double {
        let context = TestDevice.context
        var times: [Double] = []
        for _ in 0..<runs {
            var total = 0.0
            for step in steps {
                let event = try step.enqueue(on: context, event: true)
                try context.finish()
                total += try event!.profilingTimes().durationMilliseconds
            }
            times.append(total)
        }
        return times.sorted()[runs / 2]
    }

    /// Interleaved rounds (10 of A, 10 of B, repeated); prints the median of the per-round ratios B/A.
    static func compare(_ name: String, _ a: [LaunchStep], _ b: [LaunchStep], rounds: Int = 9) throws {
        _ = try medianTime(a, runs: 3); _ = try medianTime(b, runs: 3)
        var ratios: [Double] = [], ta: [Double] = [], tb: [Double] = []
        for _ in 0..<rounds {
            let x = try medianTime(a, runs: 10), y = try medianTime(b, runs: 10)
            ta.append(x); tb.append(y); ratios.append(y / x)
        }
        print(String(format: "ROWOPS-AB %-40@ A median %.3f ms  B median %.3f ms  median ratio B/A %.3f",
                     name as NSString, ta.sorted()[rounds / 2], tb.sorted()[rounds / 2], ratios.sorted()[rounds / 2]))
    }

    /// A/B of the embedded kernels (A) against the ones in CLGRAPH_ROWOPS_AB_DIR (B), same process.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["CLGRAPH_ROWOPS_AB_DIR"] != nil))
    func abComparison() throws {
        let dir = ProcessInfo.processInfo.environment["CLGRAPH_ROWOPS_AB_DIR"]!
        let context = TestDevice.context
        let rows = 4096, cols = 768
        var random = TestRandom(seed: 98)
        let x = try CLBuffer<Float>(context: context, values: random.floats(rows * cols, -3, 3))
        let y = try CLBuffer<Float>(context: context, count: rows * cols)
        let g = try CLBuffer<Float>(context: context, values: random.floats(cols))
        let b = try CLBuffer<Float>(context: context, values: random.floats(cols))
        let targets = try CLBuffer<Int32>(context: context, values: (0..<rows).map { _ in Int32(random.next() % 768) })
        let flag = try CLBuffer<Int32>(context: context, values: [0])
        var lossFamilies: [CrossEntropyFamily] = []
        func build() throws -> [(String, [LaunchStep])] {
            let env = TestDevice.environment
            let softmax = SoftmaxFamily(environment: env), norm = NormFamily(environment: env)
            let loss = CrossEntropyFamily(environment: env)
            lossFamilies.append(loss)   // owns the scratch buffer the loss steps use
            return [
                ("softmax.1 4096x768", try softmax.encode(input: x, output: y, rows: rows, cols: cols, variant: .number(1))),
                ("log_softmax.1 4096x768", try softmax.encode(input: x, output: y, rows: rows, cols: cols, log: true, variant: .number(1))),
                ("layernorm.1 4096x768", try norm.encodeLayerNorm(input: x, gain: g, bias: b, output: y, rows: rows, cols: cols, eps: 1e-5, variant: .number(1))),
                ("layernorm.2 4096x768", try norm.encodeLayerNorm(input: x, gain: g, bias: b, output: y, rows: rows, cols: cols, eps: 1e-5, variant: .number(2))),
                ("loss.1 4096x768", try loss.encode(
                    logits: x, targets: targets, loss: y, rows: rows, classes: cols, ignoreIndex: nil, errorFlag: flag)),
            ]
        }
        unsetenv("CLGRAPH_KERNEL_DIR")
        let a = try build()
        setenv("CLGRAPH_KERNEL_DIR", dir, 1)
        let bSteps = try build()
        unsetenv("CLGRAPH_KERNEL_DIR")
        for ((name, stepsA), (_, stepsB)) in zip(a, bSteps) { try Self.compare(name, stepsA, stepsB) }
        withExtendedLifetime((x, y, g, b, targets, flag, lossFamilies)) {}
    }

    @Test(.enabled(if: RowOpsTimingTests.enabled))
    func timings() throws {
        let context = TestDevice.context
        let rows = 4096, cols = 768
        var random = TestRandom(seed: 99)
        let x = try CLBuffer<Float>(context: context, values: random.floats(rows * cols, -3, 3))
        let y = try CLBuffer<Float>(context: context, count: rows * cols)
        let g = try CLBuffer<Float>(context: context, values: random.floats(cols))
        let b = try CLBuffer<Float>(context: context, values: random.floats(cols))
        let env = TestDevice.environment
        let softmax = SoftmaxFamily(environment: env)
        for variant in [1, 2] {
            try Self.time("softmax.\(variant) 4096x768", try softmax.encode(input: x, output: y, rows: rows, cols: cols, variant: .number(variant)))
        }
        try Self.time("log_softmax.1 4096x768", try softmax.encode(input: x, output: y, rows: rows, cols: cols, log: true, variant: .number(1)))
        try Self.time("softmax.1 causal 8x(512x512) scale .125",
                      try softmax.encode(input: x, output: y, rows: 4096, cols: 512, scale: 0.125,
                                         causalMask: CausalMask(period: 512, offset: 0), variant: .number(1)))
        let norm = NormFamily(environment: env)
        for variant in [1, 2, 3, 4] {
            try Self.time("layernorm.\(variant) 4096x768",
                          try norm.encodeLayerNorm(input: x, gain: g, bias: b, output: y, rows: rows, cols: cols, eps: 1e-5, variant: .number(variant)))
        }
        try Self.time("rmsnorm.1 4096x768", try norm.encodeRMSNorm(input: x, gain: g, output: y, rows: rows, cols: cols, eps: 1e-5, variant: .number(1)))
        let reduce = ReduceFamily(environment: env)
        try Self.time("reduce.1 sum rows [4096,768,1]", try reduce.encode(input: x, output: y, outer: 4096, length: 768, inner: 1, kind: .sum))
        try Self.time("reduce.1 sum cols [1,4096,768]", try reduce.encode(input: x, output: y, outer: 1, length: 4096, inner: 768, kind: .sum))
        let indices = try CLBuffer<Int32>(context: context, values: (0..<4096).map { _ in Int32(random.next() % 1000) })
        let flag = try CLBuffer<Int32>(context: context, values: [0])
        try Self.time("embedding.1 gather 4096 of [1000,768]",
                      try EmbeddingFamily(environment: env).encode(table: x, indices: indices, output: y, count: 4096,
                                                                   vocab: 1000, dim: 768, errorFlag: flag))
        let ce = CrossEntropyFamily(environment: env)   // owns the scratch: keep it alive while its steps run
        try Self.time("loss.1 cross-entropy 4096x768",
                      try ce.encode(logits: x, targets: indices, loss: y, rows: 4096, classes: 768, ignoreIndex: nil, errorFlag: flag))
        withExtendedLifetime((x, y, g, b, indices, flag, ce)) {}
    }
}
