import CLBackend
import CLRuntime
import Foundation
import TensorGraph

/// `clbench rowops`: every variant a plan can run of the row-wise families — softmax, reduce,
/// embedding (gather and its gradient), cross-entropy loss (loss and gradient) and layout
/// (permute copies) — at the shapes the names and Shakespeare models run, plus one awkward
/// (prime) shape per family. Each variant is forced the way a plan forces it
/// (``OpenCLOptions/init(forcing:)``) and validated against ``ReferenceBackend`` before and after
/// timing; each report marks the variant the automatic choice runs on this device and the fastest.
public enum RowOpsBenchmark {
    /// The families measured, in report order (the kernel family names of `CLKernels/`).
    public static let families = ["softmax", "reduce", "embedding", "loss", "layout"]

    /// One shape of one family.
    public struct Workload: Sendable {
        /// The kernel family: one of ``RowOpsBenchmark/families``.
        public var family: String
        /// The operation and shape, and which model runs it.
        public var shape: String
        /// Whether this is the awkward (prime) shape rather than one a model runs.
        public var awkward: Bool
        let operation: Operation
    }

    enum Operation: Sendable {
        case softmax(rows: Int, cols: Int, scale: Float, causal: Bool)
        case reduceSum(outer: Int, length: Int, inner: Int)
        case gather(count: Int, vocab: Int, dim: Int)
        case gatherGrad(count: Int, vocab: Int, dim: Int)
        case crossEntropy(rows: Int, classes: Int)
        case crossEntropyGrad(rows: Int, classes: Int)
        /// `input` of shape `dims` permuted by `axes` into a fresh contiguous output.
        case permute(dims: [Int], axes: [Int])
    }

    /// NMSE bound for the float kernels (float32 sums and a polynomial `exp` against the
    /// reference's float64 accumulation); gathers and copies must be exact.
    static let floatBound = 1e-8

    /// The workloads of `families` (all when nil); `quick` keeps only the awkward shapes.
    public static func workloads(families selected: [String]? = nil, quick: Bool = false) -> [Workload] {
        let all: [Workload] = [
            Workload(family: "softmax", shape: "causal softmax [3072, 64] scale 1/sqrt(32): Shakespeare GPT attention (B12 H4 T64)",
                     awkward: false, operation: .softmax(rows: 3072, cols: 64, scale: Float(1 / 32.0.squareRoot()), causal: true)),
            Workload(family: "softmax", shape: "causal softmax [2048, 16] scale 1/4: names GPT attention (B32 H4 T16)",
                     awkward: false, operation: .softmax(rows: 2048, cols: 16, scale: 0.25, causal: true)),
            Workload(family: "softmax", shape: "softmax [4096, 65]: logits over the Shakespeare vocabulary",
                     awkward: false, operation: .softmax(rows: 4096, cols: 65, scale: 1, causal: false)),
            Workload(family: "softmax", shape: "softmax [997, 131]", awkward: true,
                     operation: .softmax(rows: 997, cols: 131, scale: 1, causal: false)),
            Workload(family: "reduce", shape: "sum [768, 128] over rows: a bias gradient, Shakespeare GPT (B12 T64)",
                     awkward: false, operation: .reduceSum(outer: 1, length: 768, inner: 128)),
            Workload(family: "reduce", shape: "sum [4096, 65] over rows: the output bias gradient",
                     awkward: false, operation: .reduceSum(outer: 1, length: 4096, inner: 65)),
            Workload(family: "reduce", shape: "sum [4096, 128] over columns: per-token sums",
                     awkward: false, operation: .reduceSum(outer: 4096, length: 128, inner: 1)),
            Workload(family: "reduce", shape: "sum [1009, 131] over rows", awkward: true,
                     operation: .reduceSum(outer: 1, length: 1009, inner: 131)),
            Workload(family: "reduce", shape: "sum [1009, 131] over columns", awkward: true,
                     operation: .reduceSum(outer: 1009, length: 131, inner: 1)),
            Workload(family: "embedding", shape: "gather 32x64 rows of [65, 128]: token embedding (B32 T64 C128)",
                     awkward: false, operation: .gather(count: 2048, vocab: 65, dim: 128)),
            Workload(family: "embedding", shape: "gather 32x16 rows of [27, 64]: names GPT token embedding",
                     awkward: false, operation: .gather(count: 512, vocab: 27, dim: 64)),
            Workload(family: "embedding", shape: "gradient of gather 32x64 rows into [65, 128]",
                     awkward: false, operation: .gatherGrad(count: 2048, vocab: 65, dim: 128)),
            Workload(family: "embedding", shape: "gather 1009 rows of [67, 131]", awkward: true,
                     operation: .gather(count: 1009, vocab: 67, dim: 131)),
            Workload(family: "embedding", shape: "gradient of gather 1009 rows into [67, 131]", awkward: true,
                     operation: .gatherGrad(count: 1009, vocab: 67, dim: 131)),
            Workload(family: "loss", shape: "cross-entropy [2048, 65]: names/Shakespeare batch of 32x64",
                     awkward: false, operation: .crossEntropy(rows: 2048, classes: 65)),
            Workload(family: "loss", shape: "cross-entropy gradient [2048, 65]",
                     awkward: false, operation: .crossEntropyGrad(rows: 2048, classes: 65)),
            Workload(family: "loss", shape: "cross-entropy [4096, 65]",
                     awkward: false, operation: .crossEntropy(rows: 4096, classes: 65)),
            Workload(family: "loss", shape: "cross-entropy gradient [4096, 65]",
                     awkward: false, operation: .crossEntropyGrad(rows: 4096, classes: 65)),
            Workload(family: "loss", shape: "cross-entropy [1009, 67]", awkward: true,
                     operation: .crossEntropy(rows: 1009, classes: 67)),
            Workload(family: "loss", shape: "cross-entropy gradient [1009, 67]", awkward: true,
                     operation: .crossEntropyGrad(rows: 1009, classes: 67)),
            Workload(family: "layout", shape: "permute [12, 64, 4, 32] -> [12, 4, 64, 32]: heads out of [B,T,H,hs], Shakespeare GPT",
                     awkward: false, operation: .permute(dims: [12, 64, 4, 32], axes: [0, 2, 1, 3])),
            Workload(family: "layout", shape: "permute [12, 4, 64, 32] -> [12, 64, 4, 32]: heads back into [B,T,H,hs]",
                     awkward: false, operation: .permute(dims: [12, 4, 64, 32], axes: [0, 2, 1, 3])),
            Workload(family: "layout", shape: "permute [32, 16, 4, 16] -> [32, 4, 16, 16]: names GPT heads",
                     awkward: false, operation: .permute(dims: [32, 16, 4, 16], axes: [0, 2, 1, 3])),
            Workload(family: "layout", shape: "permute [3, 7, 5, 13] -> [3, 5, 7, 13]", awkward: true,
                     operation: .permute(dims: [3, 7, 5, 13], axes: [0, 2, 1, 3])),
        ]
        return all.filter { (selected ?? families).contains($0.family) && (!quick || $0.awkward) }
    }

    /// Parses a comma-separated list of family names, or throws a message listing the valid ones.
    public static func parseFamilies(_ text: String) throws -> [String] {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard !names.isEmpty else { throw KernelVariantError.unknownFamily(text, available: families) }
        for name in names where !families.contains(name) {
            throw KernelVariantError.unknownFamily(name, available: families)
        }
        return names
    }

    /// Measures `workload` with `harness`: one report whose results are the family's applicable
    /// plan variants, the automatic choice first (so `speedup_vs_baseline` is against it).
    ///
    /// `params` carries `automatic` and `fastest` (variant names by kernel time) and
    /// `automatic_over_fastest` (the ratio of their kernel medians); each result's `extra` has
    /// `automatic` and `fastest` (1 or 0) and the copy-bandwidth percentages of ``SameRunCopy``.
    public static func report(_ workload: Workload, harness: BenchmarkHarness) throws -> BenchmarkReport {
        let context = harness.context
        let built = try cases(workload, context: context)
        let results = try harness.measure(built.cases)
        var params = ["family": workload.family, "shape": workload.shape, "automatic": built.automatic]
        var annotated = SameRunCopy.annotate(results, peak: harness.peak, params: &params)
        let fastest = annotated.filter(\.valid).min { $0.kernelOrWall < $1.kernelOrWall }
        for index in annotated.indices {
            annotated[index].extra["automatic"] = annotated[index].variant == built.automatic ? 1 : 0
            annotated[index].extra["fastest"] = annotated[index].variant == fastest?.variant ? 1 : 0
        }
        if let fastest {
            params["fastest"] = fastest.variant
            if let automatic = annotated.first(where: { $0.variant == built.automatic && $0.valid }) {
                params["automatic_over_fastest"] = String(format: "%.3f", automatic.kernelOrWall / fastest.kernelOrWall)
            }
        }
        return BenchmarkReport(benchmark: "rowops", device: DeviceSummary(info: context.device.info, peak: harness.peak),
                               params: params, results: annotated)
    }

    /// One line per report: which variant the automatic choice runs and which was fastest.
    public static func summary(_ report: BenchmarkReport) -> String {
        let automatic = report.params["automatic"] ?? "?", fastest = report.params["fastest"] ?? "none valid"
        let verdict = automatic == fastest ? "the automatic choice is the fastest"
            : "automatic \(automatic) takes \(report.params["automatic_over_fastest"] ?? "?")x the fastest's kernel time"
        return "\(report.params["family"] ?? "?") \(report.params["shape"] ?? "?"): fastest \(fastest); \(verdict)"
    }

    /// A variant's launch steps and how to read its output back; `owner` keeps the family
    /// objects and buffers the steps use alive.
    struct Run {
        var steps: [LaunchStep]
        var output: () throws -> [Float]
        var owner: Any
    }

    /// The cases of `workload` (the automatic variant first, then the copy reference) and the
    /// automatic variant's name.
    static func cases(_ workload: Workload, context: CLContext) throws -> (cases: [BenchmarkCase], automatic: String) {
        var random = SplitMix(seed: UInt64(truncatingIfNeeded: workload.shape.utf8.reduce(5381) { $0 &* 33 &+ Int($1) }))
        func floats(_ count: Int, spread: Float = 1) -> [Float] { (0..<count).map { _ in spread * random.uniform() } }
        func ints(_ count: Int, below bound: Int) -> [Int32] { (0..<count).map { _ in Int32(random.next() % UInt64(bound)) } }
        func flag() throws -> CLBuffer<Int32> { try CLBuffer<Int32>(context: context, values: [0]) }

        switch workload.operation {
        case let .softmax(rows, cols, scale, causal):
            let values = floats(rows * cols, spread: 4)
            let input = try CLBuffer<Float>(context: context, values: values)
            let reference = try referenceOutput(feeds: ["x": TensorData(shape: [rows, cols], floats: values)]) { graph in
                var scores = try graph.input("x", [rows, cols]) * scale
                if causal {
                    scores = try scores.reshape([rows / cols, cols, cols])
                        + graph.constant(causalMaskValues(queries: cols, keys: cols), shape: [cols, cols])
                }
                return try scores.softmax(axis: -1)
            }
            return try variantCases(SoftmaxFamily.Variant.self, context: context, reference: reference, bound: floatBound) { environment in
                let family = SoftmaxFamily(environment: environment)
                let output = try CLBuffer<Float>(context: context, count: rows * cols)
                let steps = try family.encode(input: input, output: output, rows: rows, cols: cols, scale: scale,
                                              causalMask: causal ? CausalMask(period: cols, offset: 0) : nil)
                return Run(steps: steps, output: { try output.download() }, owner: (family, input, output))
            }
        case let .reduceSum(outer, length, inner):
            let values = floats(outer * length * inner)
            let input = try CLBuffer<Float>(context: context, values: values)
            let reference = try referenceOutput(feeds: ["x": TensorData(shape: [outer, length, inner], floats: values)]) { graph in
                try graph.input("x", [outer, length, inner]).sum(axis: 1)
            }
            return try variantCases(ReduceFamily.Variant.self, context: context, reference: reference, bound: floatBound) { environment in
                let family = ReduceFamily(environment: environment)
                let output = try CLBuffer<Float>(context: context, count: outer * inner)
                let steps = try family.encode(input: input, output: output, outer: outer, length: length, inner: inner, kind: .sum)
                return Run(steps: steps, output: { try output.download() }, owner: (family, input, output))
            }
        case let .gather(count, vocab, dim):
            let tableValues = floats(vocab * dim), indexValues = ints(count, below: vocab)
            let table = try CLBuffer<Float>(context: context, values: tableValues)
            let indices = try CLBuffer<Int32>(context: context, values: indexValues)
            let reference = try referenceOutput(feeds: ["table": TensorData(shape: [vocab, dim], floats: tableValues),
                                                        "indices": TensorData(shape: [count], ints: indexValues)]) { graph in
                try embedding(graph.input("table", [vocab, dim]), graph.input("indices", [count], dtype: .i32))
            }
            return try variantCases(EmbeddingFamily.Variant.self, context: context, reference: reference, bound: 0) { environment in
                let family = EmbeddingFamily(environment: environment)
                let output = try CLBuffer<Float>(context: context, count: count * dim), errorFlag = try flag()
                let steps = try family.encode(table: table, indices: indices, output: output, count: count, vocab: vocab,
                                              dim: dim, errorFlag: errorFlag)
                return Run(steps: steps, output: { try output.download() }, owner: (family, table, indices, output, errorFlag))
            }
        case let .gatherGrad(count, vocab, dim):
            let gradValues = floats(count * dim), indexValues = ints(count, below: vocab)
            let gradOutput = try CLBuffer<Float>(context: context, values: gradValues)
            let indices = try CLBuffer<Int32>(context: context, values: indexValues)
            let reference = try referenceOutput(feeds: ["grad": TensorData(shape: [count, dim], floats: gradValues),
                                                        "indices": TensorData(shape: [count], ints: indexValues)]) { graph in
                try embeddingGrad(indices: graph.input("indices", [count], dtype: .i32), gradient: graph.input("grad", [count, dim]),
                                  vocabularySize: vocab)
            }
            return try variantCases(EmbeddingFamily.Variant.self, context: context, reference: reference, bound: floatBound) { environment in
                let family = EmbeddingFamily(environment: environment)
                let gradTable = try CLBuffer<Float>(context: context, count: vocab * dim), errorFlag = try flag()
                let steps = try family.encodeGrad(indices: indices, gradOutput: gradOutput, gradTable: gradTable, count: count,
                                                  vocab: vocab, dim: dim, errorFlag: errorFlag)
                return Run(steps: steps, output: { try gradTable.download() }, owner: (family, gradOutput, indices, gradTable, errorFlag))
            }
        case let .crossEntropy(rows, classes), let .crossEntropyGrad(rows, classes):
            let isGrad: Bool
            if case .crossEntropyGrad = workload.operation { isGrad = true } else { isGrad = false }
            let logitValues = floats(rows * classes, spread: 4), targetValues = ints(rows, below: classes)
            let logits = try CLBuffer<Float>(context: context, values: logitValues)
            let targets = try CLBuffer<Int32>(context: context, values: targetValues)
            let upstreamValue: Float = 1.5
            let upstream = try CLBuffer<Float>(context: context, values: [upstreamValue])
            var feeds = ["logits": TensorData(shape: [rows, classes], floats: logitValues),
                         "targets": TensorData(shape: [rows], ints: targetValues)]
            if isGrad { feeds["upstream"] = TensorData(scalar: upstreamValue) }
            let reference = try referenceOutput(feeds: feeds) { graph in
                let x = try graph.input("logits", [rows, classes]), t = try graph.input("targets", [rows], dtype: .i32)
                return isGrad ? try crossEntropyGrad(logits: x, targets: t, upstream: graph.input("upstream", []))
                    : try crossEntropy(logits: x, targets: t)
            }
            return try variantCases(CrossEntropyFamily.Variant.self, context: context, reference: reference, bound: floatBound) { environment in
                let family = CrossEntropyFamily(environment: environment)
                let output = try CLBuffer<Float>(context: context, count: isGrad ? rows * classes : 1), errorFlag = try flag()
                let steps = isGrad
                    ? try family.encodeGrad(logits: logits, targets: targets, upstream: upstream, grad: output, rows: rows,
                                            classes: classes, ignoreIndex: nil, errorFlag: errorFlag)
                    : try family.encode(logits: logits, targets: targets, loss: output, rows: rows, classes: classes,
                                        ignoreIndex: nil, errorFlag: errorFlag)
                return Run(steps: steps, output: { try output.download() }, owner: (family, logits, targets, upstream, output, errorFlag))
            }
        case let .permute(dims, axes):
            let count = dims.reduce(1, *)
            let values = floats(count)
            let input = try CLBuffer<Float>(context: context, values: values)
            let reference = try referenceOutput(feeds: ["x": TensorData(shape: Shape(dims), floats: values)]) { graph in
                try graph.input("x", Shape(dims)).permute(axes)
            }
            // The copy walks the output in order: output axis k is input axis axes[k].
            let outputDims = axes.map { dims[$0] }
            let inputStrides = LayoutFamily.strides(dims)
            return try variantCases(LayoutFamily.Variant.self, context: context, reference: reference, bound: 0) { environment in
                let family = LayoutFamily(environment: environment)
                let output = try CLBuffer<Float>(context: context, count: count)
                let steps = try family.encodeCopy(input: input, output: output, isInt: false, dims: outputDims,
                                                  inputStrides: axes.map { inputStrides[$0] },
                                                  outputStrides: LayoutFamily.strides(outputDims), label: "permute \(dims) by \(axes)")
                return Run(steps: steps, output: { try output.download() }, owner: (family, input, output))
            }
        }
    }

    /// The reference backend's output of the one-output graph `build` makes, in float64.
    static func referenceOutput(feeds: [String: TensorData], _ build: (Graph) throws -> Tensor) throws -> [Double] {
        let graph = Graph()
        let output = try build(graph)
        return try ReferenceBackend().compile(graph, outputs: [output], options: CompileOptions()).run(feeds)[0].floats.map(Double.init)
    }

    /// A case per plan variant of `V` that `encode` runs as asked (a variant the entry point falls
    /// back from, such as contiguous runs for a copy whose last axis is strided, is left out), the
    /// automatic one first, then a copy of as many bytes as the automatic variant moves.
    static func variantCases<V: KernelVariant>(_ type: V.Type, context: CLContext, reference: [Double], bound: Double,
                                               encode: (FamilyEnvironment) throws -> Run) throws -> (cases: [BenchmarkCase], automatic: String) {
        let automaticRun = try encode(FamilyEnvironment(context: context))
        guard let automatic = automaticRun.steps.first?.variant else {
            throw RowOpsError.invalidShape(family: V.family, detail: "the automatic variant launched nothing")
        }
        var cases: [BenchmarkCase] = []
        for variant in V.planVariants {
            let run = try encode(FamilyEnvironment(context: context, options: OpenCLOptions(forcing: variant)))
            guard let label = run.steps.first?.variant, label == variant.label else { continue }
            let benchmarkCase = BenchmarkCase(
                variant: label, description: "\(variant.name): \(variant.summary)",
                flops: run.steps.reduce(0) { $0 + $1.flops }, bytes: run.steps.reduce(0) { $0 + $1.bytes }, roofline: .memory,
                extra: ["variant_number": Double(variant.rawValue)],
                enqueue: { try withExtendedLifetime(run.owner) { try run.steps.map { try $0.enqueue(on: context, event: true) } } },
                validate: { ValidationOutcome(reference: reference, actual: try run.output(), bound: bound) })
            if label == automatic { cases.insert(benchmarkCase, at: 0) } else { cases.append(benchmarkCase) }
        }
        let bytes = automaticRun.steps.reduce(0) { $0 + $1.bytes }
        var random = SplitMix(seed: UInt64(max(bytes, 0)))
        let copyValues = (0..<max(16, Int(bytes / 8))).map { _ in random.uniform() }
        if let copy = try SameRunCopy.benchmarkCase(context: context, source: try CLBuffer<Float>(context: context, values: copyValues),
                                                    values: copyValues, extra: [:]) {
            cases.append(copy)
        }
        return (cases, automatic)
    }
}
