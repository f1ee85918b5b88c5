import CLBackend
import CLRuntime
import Foundation

/// `clbench layernorm`: every row-normalisation variant of the `layernorm` family (two-pass,
/// Welford, one-pass, RMSNorm, layernorm fused with the residual add, the proportions norm), in
/// CPU and GPU form, validated against float64 on ordinary rows and reported on adversarial rows
/// (1e4 + N(0,1)) where the one-pass variance cancels.
public enum LayerNormBenchmark {
    public struct Configuration: Sendable {
        public var rows = 4096, cols = 768
        public var eps: Float = 1e-5
        /// Run every device flavour (GPU-style kernels on a CPU and vice versa), not only the device's own.
        public var allForms = false
        public init() {}
    }

    /// NMSE bound of the ordinary-input validation (float32 sums over a row).
    public static let bound = 1e-6

    /// The kinds of normalisation measured, in report order (the first is the baseline).
    enum Kind: String, CaseIterable {
        case twoPass = "twopass", welford, onePass = "onepass", rmsNorm = "rmsnorm", residual, proportions

        /// The `NormFamily` variants (CPU, GPU).
        var variants: (cpu: NormFamily.Variant, gpu: NormFamily.Variant) {
            switch self {
            case .twoPass, .rmsNorm: return (.cpuTwoPass, .gpuTwoPass)
            case .welford: return (.cpuWelford, .gpuWelford)
            case .onePass: return (.cpuOnePass, .gpuOnePass)
            case .residual: return (.cpuResidual, .gpuResidual)
            case .proportions: return (.cpuProportions, .gpuProportions)
            }
        }
    }

    public static func cases(context: CLContext, _ configuration: Configuration) throws -> [BenchmarkCase] {
        let rows = configuration.rows, cols = configuration.cols, eps = configuration.eps
        let count = rows * cols
        var random = SplitMix(seed: UInt64(rows &* 31 &+ cols))
        // Ordinary rows: a modest offset (0.5) plus spread; adversarial rows: 1e4 + N(0,1).
        let xValues = (0..<count).map { _ in 0.5 + 2 * random.uniform() }
        let rValues = (0..<count).map { _ in random.uniform() }
        let gValues = (0..<cols).map { _ in 1 + 0.5 * random.uniform() }
        let bValues = (0..<cols).map { _ in 0.5 * random.uniform() }
        let adversarial = (0..<count).map { _ in 1e4 + random.normal() }
        let adversarialResidual = (0..<count).map { _ in random.normal() }

        let x = try CLBuffer<Float>(context: context, values: xValues)
        let r = try CLBuffer<Float>(context: context, values: rValues)
        let g = try CLBuffer<Float>(context: context, values: gValues)
        let b = try CLBuffer<Float>(context: context, values: bValues)
        let ax = try CLBuffer<Float>(context: context, values: adversarial)
        let ar = try CLBuffer<Float>(context: context, values: adversarialResidual)

        let extra: [String: Double] = ["rows": Double(rows), "cols": Double(cols)]
        let deviceClass = DeviceClass(context.device.info)
        let forms: [DeviceClass] = configuration.allForms ? [.cpu, .gpu] : [deviceClass]
        var cases: [BenchmarkCase] = []
        for kind in Kind.allCases {
            // Each (kind) computes its float64 references once for both forms.
            let reference = Self.reference(kind, x: xValues, r: rValues, g: gValues, b: bValues, rows: rows, cols: cols, eps: eps)
            let adversarialReference = Self.reference(kind, x: adversarial, r: adversarialResidual, g: gValues, b: bValues,
                                                      rows: rows, cols: cols, eps: eps)
            for form in forms {
                let variant = form == .cpu ? kind.variants.cpu : kind.variants.gpu
                let family = NormFamily(environment: FamilyEnvironment(context: context))
                let y = try CLBuffer<Float>(context: context, count: count)
                let s: CLBuffer<Float>? = kind == .residual ? try CLBuffer<Float>(context: context, count: count) : nil
                func encode(_ input: CLBuffer<Float>, _ residual: CLBuffer<Float>) throws -> [LaunchStep] {
                    switch kind {
                    case .twoPass, .welford:
                        return try family.encodeLayerNorm(input: input, gain: g, bias: b, output: y, rows: rows, cols: cols,
                                                          eps: eps, variant: variant)
                    case .onePass:
                        return try family.encodeLayerNormOnePass(input: input, gain: g, bias: b, output: y, rows: rows,
                                                                 cols: cols, eps: eps, variant: variant)
                    case .rmsNorm:
                        return try family.encodeRMSNorm(input: input, gain: g, output: y, rows: rows, cols: cols, eps: eps,
                                                        variant: variant)
                    case .residual:
                        return try family.encodeResidualLayerNorm(input: input, residual: residual, gain: g, bias: b, output: y,
                                                                  sum: s, rows: rows, cols: cols, eps: eps, variant: variant)
                    case .proportions:
                        return try family.encodeProportionsNorm(input: input, gain: g, output: y, rows: rows, cols: cols,
                                                                eps: eps, variant: variant)
                    }
                }
                func outputs() throws -> [Float] { try y.download() + (s?.download() ?? []) }

                // Adversarial rows: run once, before the ordinary steps take the output buffers over.
                let adversarialSteps = try encode(ax, ar)
                for step in adversarialSteps { try step.enqueue(on: context) }
                try context.finish()
                let adversarialOutcome = ValidationOutcome(reference: adversarialReference, actual: try outputs(), bound: bound)

                let steps = try encode(x, r)
                var caseExtra = extra
                caseExtra["adversarial_nmse"] = adversarialOutcome.nmse
                caseExtra["variant_number"] = Double(variant.rawValue)
                let description = variant.summary + (kind == .rmsNorm ? " [rmsnorm kernel]" : "")
                cases.append(BenchmarkCase(
                    variant: "\(kind.rawValue)-\(form.rawValue)",
                    description: "\(variant.name): " + description,
                    flops: steps.reduce(0) { $0 + $1.flops }, bytes: steps.reduce(0) { $0 + $1.bytes },
                    roofline: .memory, extra: caseExtra,
                    enqueue: { try withExtendedLifetime((x, r, g, b, ax, ar, y, s)) { try steps.map { try $0.enqueue(on: context, event: true) } } },
                    validate: { ValidationOutcome(reference: reference, actual: try outputs(), bound: bound) }))
            }
        }
        if let copy = try SameRunCopy.benchmarkCase(context: context, source: x, values: xValues) { cases.append(copy) }
        return cases
    }

    /// The name of the same-run copy row (``SameRunCopy/variant``).
    public static let copyVariant = SameRunCopy.variant

    /// ``SameRunCopy/annotate(_:peak:params:)``: percentages of the copy bandwidths, copy row removed.
    public static func annotate(_ results: [BenchmarkResult], peak: DevicePeak, params: inout [String: String]) -> [BenchmarkResult] {
        SameRunCopy.annotate(results, peak: peak, params: &params)
    }

    /// Float64 reference of `kind` (for `residual`: y followed by the sum s).
    static func reference(_ kind: Kind, x: [Float], r: [Float], g: [Float], b: [Float], rows: Int, cols: Int,
                          eps: Float) -> [Double] {
        var out = [Double](repeating: 0, count: rows * cols * (kind == .residual ? 2 : 1))
        let e = Double(eps)
        var row = [Double](repeating: 0, count: cols)
        for i in 0..<rows {
            let base = i * cols
            for j in 0..<cols { row[j] = Double(x[base + j]) + (kind == .residual ? Double(r[base + j]) : 0) }
            switch kind {
            case .twoPass, .welford, .onePass, .residual:
                var mean = 0.0
                for v in row { mean += v }
                mean /= Double(cols)
                var variance = 0.0
                for v in row { variance += (v - mean) * (v - mean) }
                let rstd = 1 / (variance / Double(cols) + e).squareRoot()
                for j in 0..<cols { out[base + j] = (row[j] - mean) * rstd * Double(g[j]) + Double(b[j]) }
                if kind == .residual {
                    // The kernel stores the float32 sum.
                    for j in 0..<cols { out[rows * cols + base + j] = Double(x[base + j] + r[base + j]) }
                }
            case .rmsNorm:
                var squares = 0.0
                for v in row { squares += v * v }
                let scale = 1 / (squares / Double(cols) + e).squareRoot()
                for j in 0..<cols { out[base + j] = row[j] * scale * Double(g[j]) }
            case .proportions:
                var magnitude = 0.0
                for v in row { magnitude += abs(v) }
                let inverse = 1 / (magnitude / Double(cols) + e)
                for j in 0..<cols { out[base + j] = Double(g[j]) * 4 * Foundation.tanh(row[j] * inverse / 4) }
            }
        }
        return out
    }
}

extension SplitMix {
    /// A standard normal sample (Box–Muller).
    mutating func normal() -> Float {
        let u1 = max(Double(next() >> 11) / Double(1 << 53), 1e-300), u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }
}

extension LayerNormBenchmark {
    /// One line per report: the fastest exact LayerNorm variant (two-pass, Welford, residual-fused
    /// excluded) against both copy-bandwidth figures.
    public static func summary(_ report: BenchmarkReport) -> String? {
        let exact = report.results.filter { $0.valid && ($0.variant.hasPrefix("twopass") || $0.variant.hasPrefix("welford")) }
        guard let best = exact.max(by: { $0.gbps < $1.gbps }) else { return nil }
        var line = String(format: "%@x%@: best LayerNorm %@ %.2f GB/s = %.1f%% of clbench peak copy (%.2f GB/s)",
                          report.params["rows"] ?? "?", report.params["cols"] ?? "?", best.variant, best.gbps,
                          best.extra["percent_of_copy_bw"] ?? 0, report.params["copy_gbps"].flatMap(Double.init) ?? 0)
        if let copy = report.params["same_run_copy_gbps"], let same = best.extra["percent_of_same_run_copy"] {
            line += String(format: ", %.1f%% of the same-run copy (%@ GB/s)", same, copy)
        }
        return line
    }
}
