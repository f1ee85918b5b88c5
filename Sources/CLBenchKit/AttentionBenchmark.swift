import CLBackend
import CLRuntime
import Foundation

/// `clbench attention`: the unfused path (q·kᵀ, masked softmax, ·v through the library's own
/// matmul and softmax kernels) against the fused kernels, which never write the T×T scores.
public enum AttentionBenchmark {
    public struct Configuration: Sendable {
        public var batch = 1, heads = 8, seq = 256, headDim = 64
        public var causal = true
        /// Run every device flavour (GPU-style kernels on a CPU and vice versa), not only the device's own.
        public var allForms = false
        /// Extra rows of variant 4 with these block sizes / build options (exploration and tuning).
        public var blockings: [AttentionFamily.RegisterBlocking] = []
        public init() {}
    }

    public static func cases(context: CLContext, _ configuration: Configuration) throws -> [BenchmarkCase] {
        let bh = configuration.batch * configuration.heads
        let t = configuration.seq, d = configuration.headDim
        let scale = Float(1 / Double(d).squareRoot())
        let shape = AttentionShape(batchHeads: bh, queries: t, keys: t, headDim: d, valueDim: d,
                                   causal: configuration.causal, scale: scale)
        var random = SplitMix(seed: UInt64(t * 7919 + d))
        let qValues = (0..<(bh * t * d)).map { _ in random.uniform() }
        let kValues = (0..<(bh * t * d)).map { _ in random.uniform() }
        let vValues = (0..<(bh * t * d)).map { _ in random.uniform() }
        let q = try CLBuffer<Float>(context: context, values: qValues)
        let k = try CLBuffer<Float>(context: context, values: kValues)
        let v = try CLBuffer<Float>(context: context, values: vValues)
        let reference = referenceAttention(q: qValues, k: kValues, v: vValues, shape: shape)
        // Useful work: the visible (query, key) pairs, for every variant alike (the unfused path
        // also computes the masked half of q·kᵀ; that shows as a lower rate, as it should).
        let flops = 2.0 * Double(2 * d) * Double(shape.visiblePairs)
        let ioBytes = 4.0 * Double(4 * bh * t * d)
        let scoreBytes = 4.0 * Double(bh * t * t)
        let extra: [String: Double] = ["batch": Double(configuration.batch), "heads": Double(configuration.heads),
                                       "seq": Double(t), "head_dim": Double(d)]
        let deviceClass = DeviceClass(context.device.info)
        var cases: [BenchmarkCase] = []

        func makeCase(variant: String, description: String, fused: Bool, bytes: Double, scratch: Double,
                      output: CLBuffer<Float>, steps: [LaunchStep]) -> BenchmarkCase {
            var caseExtra = extra
            caseExtra["scratch_bytes"] = scratch
            caseExtra["launches"] = Double(steps.count)
            return BenchmarkCase(
                variant: variant, description: description, flops: flops, bytes: bytes, roofline: .compute,
                fused: fused, extra: caseExtra,
                enqueue: { try steps.map { try $0.enqueue(on: context, event: true) } },
                validate: { ValidationOutcome(reference: reference, actual: try output.download(), bound: 1e-9) })
        }

        // Unfused: scores [BH, T, T] written and read back (2 passes over T×T for softmax in place).
        let softmaxForms: [SoftmaxFamily.Variant] = configuration.allForms ? [.cpu, .gpu] : [deviceClass == .cpu ? .cpu : .gpu]
        let matmulForms: [MatmulFamily.Variant] = configuration.allForms ? [.cpuRegisterBlocked, .gpuTiled]
            : [deviceClass == .cpu ? .cpuRegisterBlocked : .gpuTiled]
        for (matmulVariant, softmaxVariant) in zip(matmulForms, softmaxForms) {
            let environment = FamilyEnvironment(context: context)
            let matmul = MatmulFamily(environment: environment)
            let softmax = SoftmaxFamily(environment: environment)
            let scores = try CLBuffer<Float>(context: context, count: bh * t * t)
            let output = try CLBuffer<Float>(context: context, count: bh * t * d)
            var steps = try matmul.encode(a: q, b: k, c: scores,
                                          shape: MatmulShape(batch: bh, m: t, n: t, k: d, transposeB: true),
                                          variant: matmulVariant)
            steps += try softmax.encode(input: scores, output: scores, rows: bh * t, cols: t, scale: scale,
                                        causalMask: configuration.causal ? CausalMask(period: t, offset: 0) : nil,
                                        variant: softmaxVariant)
            steps += try matmul.encode(a: scores, b: v, c: output, shape: MatmulShape(batch: bh, m: t, n: d, k: t),
                                       variant: matmulVariant)
            let flavour = matmulVariant == .cpuRegisterBlocked ? "cpu" : "gpu"
            cases.append(makeCase(
                variant: "unfused-\(flavour)",
                description: "q·kᵀ (\(matmulVariant.name)), scaled masked softmax (\(softmaxVariant.name)) in place, ·v; T×T scores in memory",
                fused: false, bytes: ioBytes + 4 * scoreBytes, scratch: scoreBytes, output: output, steps: steps))
        }

        // The scalar baseline, the blocked CPU kernel (variant 2) and the automatic choice for this device.
        var fusedVariants: [AttentionFamily.Variant] = configuration.allForms ? Array(AttentionFamily.Variant.allCases)
            : (deviceClass == .cpu ? [.scalar, .cpuBlocked, .cpuRegisterBlocked] : [.scalar, .gpuTiled])
        if !fusedVariants.contains(AttentionFamily.automaticVariant(for: deviceClass)) {
            fusedVariants.append(AttentionFamily.automaticVariant(for: deviceClass))
        }
        for variant in fusedVariants {
            let family = AttentionFamily(environment: FamilyEnvironment(context: context))
            let output = try CLBuffer<Float>(context: context, count: bh * t * d)
            let steps = try family.encode(q: q, k: k, v: v, output: output, shape: shape, variant: variant)
            let name: String
            switch variant {
            case .scalar: name = "fused-scalar"
            case .cpuBlocked: name = "fused-cpu-blocked"
            case .gpuTiled: name = "fused-gpu-tiled"
            case .cpuRegisterBlocked: name = "fused-cpu-regblocked"
            }
            cases.append(makeCase(variant: name, description: variant.summary, fused: true,
                                  bytes: ioBytes, scratch: packedKBytes(variant: variant, steps: steps), output: output, steps: steps))
        }
        for blocking in configuration.blockings {
            let family = AttentionFamily(environment: FamilyEnvironment(context: context))
            let output = try CLBuffer<Float>(context: context, count: bh * t * d)
            let steps = try family.encode(q: q, k: k, v: v, output: output, shape: shape, variant: .cpuRegisterBlocked, blocking: blocking)
            cases.append(makeCase(variant: "fused-4-\(blockingName(blocking))",
                                  description: "variant 4 with \(blocking.groups) x \(blocking.queries) queries x \(blocking.keys) keys per block"
                                      + (blocking.fastMath ? ", -cl-fast-relaxed-math" : "") + (blocking.nativeExp ? ", native_exp2" : "") + (blocking.wide ? ", wide P·V" : ""),
                                  fused: true, bytes: ioBytes, scratch: packedKBytes(variant: .cpuRegisterBlocked, steps: steps),
                                  output: output, steps: steps))
        }
        return cases
    }

    /// Variant 4's scratch: K packed transposed (O(T·D), zero-padded to whole key blocks); others need none.
    static func packedKBytes(variant: AttentionFamily.Variant, steps: [LaunchStep]) -> Double {
        guard variant == .cpuRegisterBlocked, let pack = steps.first(where: { $0.label.hasPrefix("attention pack") }) else { return 0 }
        return pack.bytes / 2   // the pack step reads K and writes the same-sized (padded) copy
    }

    /// "2x16g8fn": queries x keys, g groups, f = fast math, n = native exp.
    public static func blockingName(_ b: AttentionFamily.RegisterBlocking) -> String {
        "\(b.queries)x\(b.keys)" + (b.groups > 1 ? "g\(b.groups)" : "") + (b.fastMath ? "f" : "") + (b.nativeExp ? "n" : "") + (b.wide ? "w" : "")
    }

    /// Parses "4x16,8x32f,4x16fn".
    public static func parseBlockings(_ text: String) throws -> [AttentionFamily.RegisterBlocking] {
        try text.split(separator: ",").map { item in
            let parts = item.split(separator: "x", maxSplits: 1)
            let rest = parts.count == 2 ? String(parts[1]) : ""
            let digits = rest.prefix { $0.isNumber }
            var flags = rest.dropFirst(digits.count)
            var groups = 1
            if flags.first == "g" {
                let groupDigits = flags.dropFirst().prefix { $0.isNumber }
                guard let value = Int(groupDigits) else { throw AttentionBenchmarkError.badBlocking(String(item)) }
                groups = value
                flags = flags.dropFirst(1 + groupDigits.count)
            }
            guard parts.count == 2, let queries = Int(parts[0]), let keys = Int(digits), (1...8).contains(queries),
                  keys == 16 || keys == 32, (1...16).contains(groups), flags.allSatisfy({ "fnw".contains($0) }) else {
                throw AttentionBenchmarkError.badBlocking(String(item))
            }
            return AttentionFamily.RegisterBlocking(queries: queries, keys: keys, groups: groups, fastMath: flags.contains("f"),
                                                    nativeExp: flags.contains("n"), wide: flags.contains("w"))
        }
    }

    /// softmax(scale·q·kᵀ + mask)·v in float64.
    static func referenceAttention(q: [Float], k: [Float], v: [Float], shape s: AttentionShape) -> [Double] {
        let t = s.queries, tk = s.keys, d = s.headDim, dv = s.valueDim
        var out = [Double](repeating: 0, count: s.batchHeads * t * dv)
        var scores = [Double](repeating: 0, count: tk)
        for h in 0..<s.batchHeads {
            for i in 0..<t {
                let visible = s.causal ? min(tk, i + (tk - t) + 1) : tk
                var maximum = -Double.infinity
                for j in 0..<visible {
                    var dot = 0.0
                    for c in 0..<d { dot += Double(q[(h * t + i) * d + c]) * Double(k[(h * tk + j) * d + c]) }
                    scores[j] = dot * Double(s.scale)
                    maximum = max(maximum, scores[j])
                }
                var total = 0.0
                for j in 0..<visible {
                    scores[j] = Foundation.exp(scores[j] - maximum)
                    total += scores[j]
                }
                for j in 0..<visible {
                    let weight = scores[j] / total
                    for c in 0..<dv { out[(h * t + i) * dv + c] += weight * Double(v[(h * tk + j) * dv + c]) }
                }
            }
        }
        return out
    }
}

/// Bad `clbench attention` arguments.
public enum AttentionBenchmarkError: Error, CustomStringConvertible {
    case badBlocking(String)
    public var description: String {
        switch self {
        case .badBlocking(let item):
            return "--blocking: '\(item)' is not QxK[gG][f][n][w] with Q in 1...8, K 16 or 32, G in 1...16 (e.g. 4x16, 2x16g8, 8x32fn, 4x32w)"
        }
    }
}
