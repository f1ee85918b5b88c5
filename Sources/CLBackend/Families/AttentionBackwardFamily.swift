import CLRuntime

/// The fused backward of scaled-dot-product attention (`CLKernels/attention_backward.cl`):
/// dq, dk, dv from q, k, v, the forward's output y and its gradient dy, recomputing the
/// probabilities a key block at a time from per-query softmax statistics (flash-attention-2 style),
/// so the Tq×Tk matrix never exists.
public final class AttentionBackwardFamily {
    public static let family = "attention_backward"
    /// Variant 0, the decomposed form, is lowered by the plan from the matmul and softmax families
    /// and this file's `attention_bwd_softmax`; `encode` runs 1 and 2.
    /// The family's variants (the header of `CLKernels/attention_backward.cl` documents each).
    public enum Variant: Int, KernelVariant {
        case decomposed = 0
        case cpuBlocked = 1
        case gpuTiled = 2

        public static let family = AttentionBackwardFamily.family
        public var shortName: String {
            switch self {
            case .decomposed: return "decomposed"
            case .cpuBlocked: return "cpu"
            case .gpuTiled: return "gpu tiled"
            }
        }
        public var summary: String {
            switch self {
            case .decomposed: return "decomposed: q·kᵀ, masked softmax, matmuls for dv and dp, softmax backward, matmuls for dq and dk (Tq×Tk in memory)"
            case .cpuBlocked: return "cpu: the forward's saved statistics (else a pre-pass), a work-item per head and group of 16-key blocks, kᵀ/vᵀ and dkᵀ/dvᵀ in private float16 lanes"
            case .gpuTiled: return "gpu: statistics pre-pass, a work-group per key block for dk/dv and one per query block for dq, tiles in local memory"
            }
        }
    }

    private let environment: FamilyEnvironment

    public init(environment: FamilyEnvironment) { self.environment = environment }

    /// Whether a fused variant reads q, k, v rows where ``AttentionOperandRows`` says (``encode``'s `layouts`).
    public static func readsOperandsInPlace(_ variant: Variant) -> Bool { variant == .cpuBlocked }

    /// Whether a fused variant recomputes p from statistics the forward saved (1) rather than its
    /// own pre-pass (2, whose tiles take Δ with lse from one pass).
    public static func usesSavedStatistics(_ variant: Variant) -> Bool { variant == .cpuBlocked }

    /// The automatic fused variant for a device class: .cpu → 1, .gpu → 2.
    public static func automaticVariant(for deviceClass: DeviceClass) -> Variant { deviceClass == .gpu ? .gpuTiled : .cpuBlocked }

    /// dq, dk, dv of `out = softmax(scale·q·kᵀ + causal mask)·v` (``AttentionShape``'s masking;
    /// causal with Tq > Tk allowed: a query that sees no key contributes 1/Tk·dy to every dv row and
    /// nothing to dq, dk). q [BH, Tq, D], k [BH, Tk, D], v [BH, Tk, Dv], y and dy [BH, Tq, Dv],
    /// dq [BH, Tq, D], dk [BH, Tk, D], dv [BH, Tk, Dv]; a nil gradient is written to a scratch
    /// buffer the family owns. The steps own scratch of up to 2·BH·Tq floats for the statistics (and,
    /// on variant 1 with fewer heads than work-items wanted, G partial dq buffers).
    /// - Parameters:
    ///   - savedStatistics: [BH, Tq], each query's log Σ exp(scale·q·kᵀ) as the forward stored it
    ///     (``AttentionFamily``'s `statistics`): variant 1 then runs no statistics pass. Only where
    ///     ``usesSavedStatistics(_:)``.
    ///   - layouts: where q's, k's and v's rows lie (default contiguous); other layouts only on
    ///     variants where ``readsOperandsInPlace(_:)``.
    ///   - gradientLayouts: where dq's, dk's and dv's rows go (default contiguous; a nil gradient's
    ///     scratch is contiguous whatever this says); other layouts, as `layouts`.
    ///   - variant: `.cpuBlocked` or `.gpuTiled` (default: the forced one, else per device class).
    public func encode(q: CLBuffer<Float>, k: CLBuffer<Float>, v: CLBuffer<Float>, y: CLBuffer<Float>, dy: CLBuffer<Float>,
                       dq: CLBuffer<Float>?, dk: CLBuffer<Float>?, dv: CLBuffer<Float>?,
                       savedStatistics: CLBuffer<Float>? = nil, layouts: AttentionOperandLayouts? = nil,
                       gradientLayouts: AttentionOperandLayouts? = nil, shape: AttentionShape,
                       variant: Variant? = nil) throws -> [LaunchStep] {
        let bh = shape.batchHeads, tq = shape.queries, tk = shape.keys, d = shape.headDim, dvw = shape.valueDim
        let operation = "attention backward"
        guard bh >= 0, tq >= 0, tk >= 0, d >= 1, dvw >= 1 else {
            throw CLError.sizeMismatch(operation: operation, detail: "invalid shape \(shape)")
        }
        guard bh > 0 else { return [] }
        guard tk > 0 else {
            throw CLError.sizeMismatch(operation: operation, detail: "Tk = 0: no key to attend to")
        }
        let layouts = layouts ?? .contiguous(shape)
        try layouts.check(q: q.count, k: k.count, v: v.count, shape: shape, operation: operation)
        let sizes: [(String, CLBuffer<Float>?, Int)] = [("y", y, bh * tq * dvw), ("dy", dy, bh * tq * dvw)]
        for (name, buffer, needed) in sizes {
            guard let buffer, buffer.count < needed else { continue }
            throw CLError.sizeMismatch(operation: operation, detail: "\(name) holds \(buffer.count) floats, shape \(shape) needs \(needed)")
        }
        if let savedStatistics, savedStatistics.count < bh * tq {
            throw CLError.sizeMismatch(operation: operation,
                                       detail: "saved statistics hold \(savedStatistics.count) floats, shape \(shape) needs \(bh * tq)")
        }
        guard sizes.allSatisfy({ $0.2 <= Int(Int32.max) }) else {
            throw CLError.sizeMismatch(operation: operation, detail: "shape \(shape) too large for 32-bit indices")
        }
        let chosen = try environment.variant(variant, cpu: Variant.cpuBlocked, gpu: .gpuTiled, runs: [.cpuBlocked, .gpuTiled],
                                             entryPoint: "the fused attention backward (the decomposed form is lowered by the plan)")
        let context = environment.context
        func scratch(_ count: Int) throws -> CLBuffer<Float> { try CLBuffer<Float>(context: context, count: max(1, count)) }
        let contiguous = AttentionOperandLayouts.contiguous(shape), requested = gradientLayouts ?? contiguous
        let dqOut = try dq ?? scratch(bh * tq * d), dkOut = try dk ?? scratch(bh * tk * d), dvOut = try dv ?? scratch(bh * tk * dvw)
        let gradientLayouts = AttentionOperandLayouts(q: dq == nil ? contiguous.q : requested.q, k: dk == nil ? contiguous.k : requested.k,
                                                      v: dv == nil ? contiguous.v : requested.v)
        try gradientLayouts.check(q: dqOut.count, k: dkOut.count, v: dvOut.count, shape: shape, operation: operation + " gradients")
        if !(layouts.areContiguous(shape) && gradientLayouts.areContiguous(shape)) && !Self.readsOperandsInPlace(chosen) {
            throw CLError.sizeMismatch(operation: "\(operation).\(chosen.rawValue)",
                                       detail: "this variant reads and writes contiguous rows only (variant 1 takes layouts)")
        }
        if savedStatistics != nil && !Self.usesSavedStatistics(chosen) {
            throw CLError.sizeMismatch(operation: "\(operation).\(chosen.rawValue)",
                                       detail: "this variant recomputes its statistics (variant 1 takes saved ones)")
        }
        let causal = Int32(shape.causal ? 1 : 0)
        let label = "attention backward [\(bh)x\(tq)x\(d)], [\(bh)x\(tk)x\(d)], [\(bh)x\(tk)x\(dvw)]\(shape.causal ? " causal" : "")"
        let pairs = Double(shape.causal && tq > tk ? bh * tq * tk : shape.visiblePairs)
        let info = environment.context.device.info

        if chosen == .cpuBlocked {
            let sq = 16   // the queries of one key block share its transposed kᵀ block
            let program = try environment.program(Self.family, defines: ["D": "\(d)", "DV": "\(dvw)", "SQ": "\(sq)"])
            let lse = try savedStatistics ?? scratch(bh * tq)
            // Key blocks of a head split over G work-items when there are fewer heads than about
            // two work-items per compute unit; each group then writes a partial dq, summed after.
            let blocks = (tk + 15) / 16
            let wanted = max(1, 2 * info.computeUnits)
            let groupsWanted = min(blocks, max(1, (wanted + bh - 1) / bh))
            let perItem = (blocks + groupsWanted - 1) / groupsWanted
            let groups = (blocks + perItem - 1) / perItem
            guard groups * bh * tq * d <= Int(Int32.max) else {
                throw CLError.sizeMismatch(operation: operation, detail: "shape \(shape) too large for 32-bit indices")
            }
            let partials = groups > 1 ? try scratch(groups * bh * tq * d) : dqOut
            let main = try program.kernel("attention_bwd_cpu")
            let partialRows = groups > 1 ? contiguous.q : gradientLayouts.q
            try main.setArguments([q, k, v, y, dy, lse, partials, dkOut, dvOut, Int32(tq), Int32(tk), causal, shape.scale,
                                   Int32(perItem)] + layouts.q.kernelArguments + layouts.k.kernelArguments + layouts.v.kernelArguments
                                  + partialRows.kernelArguments + gradientLayouts.k.kernelArguments + gradientLayouts.v.kernelArguments)
            let variantName = "\(chosen.name) (cpu, \(groups) key-block group\(groups == 1 ? "" : "s") per head)"
            // With no query the statistics are skipped (a zero global size is not a launch) and the
            // main kernel writes dk = dv = 0.
            let mainFlops: Double = 2.0 * Double(3 * d + 2 * dvw) * pairs + 2.0 * Double(groups * bh * tq * dvw)
            let perGroupFloats: Int = 2 * tq * d + 2 * tq * dvw + tq
            let mainFloats: Int = groups * perGroupFloats + 2 * tk * d + 2 * tk * dvw
            var steps: [LaunchStep] = []
            if tq > 0 && savedStatistics == nil {
                let stats = try program.kernel("attention_bwd_stats")
                try stats.setArguments([q, k, lse, Int32(tq), Int32(tk), causal, shape.scale]
                                       + layouts.q.kernelArguments + layouts.k.kernelArguments)
                steps.append(LaunchStep(kernel: stats, global: [(tq + sq - 1) / sq, bh], local: [1, 1], variant: variantName,
                                        label: label + " statistics", flops: 2.0 * Double(d) * pairs,
                                        bytes: 4.0 * Double(bh * (tq * d + tk * d + tq))))
            }
            steps.append(LaunchStep(kernel: main, global: [groups, bh], local: [1, 1], variant: variantName, label: label,
                                    flops: mainFlops, bytes: 4.0 * Double(bh * mainFloats)))
            if groups > 1 && tq > 0 {
                let sum = try program.kernel("attention_bwd_dq_sum")
                let n = bh * tq * d
                try sum.setArguments([partials, dqOut, Int32(tq), Int32(groups)] + gradientLayouts.q.kernelArguments)
                steps.append(LaunchStep(kernel: sum, global: [tq, bh], local: [1, 1], variant: variantName,
                                        label: label + " dq partial sums", flops: Double(n * (groups - 1)),
                                        bytes: 4.0 * Double(n * (groups + 1))))
            }
            return steps
        }

        // Variant 2: tiles sized to half the local memory.
        let budget = max(info.localMemoryBytes / 2, 4 * (d + dvw + 2))
        let queryTile = max(1, min(32, budget / (4 * (d + dvw + 2))))
        let keyTile = max(1, min(32, budget / (4 * (d + dvw))))
        guard 4 * queryTile * (d + dvw + 2) <= info.localMemoryBytes else {
            throw CLError.sizeMismatch(operation: "attention_backward.2",
                                       detail: "one query of D \(d) + Dv \(dvw) floats does not fit \(info.localMemoryBytes) bytes of local memory; use variant 1")
        }
        let program = try environment.program(Self.family, defines: ["D": "\(d)", "DV": "\(dvw)", "QT": "\(queryTile)", "KT": "\(keyTile)"])
        let lse = try scratch(bh * tq), delta = try scratch(bh * tq)
        let stats = try program.kernel("attention_bwd_stats_rows")
        try stats.setArguments(q, k, y, dy, lse, delta, Int32(tq), Int32(tk), causal, shape.scale)
        let dkdv = try program.kernel("attention_bwd_tiled_dkdv")
        try dkdv.setArguments(q, k, v, dy, lse, delta, dkOut, dvOut, Int32(tq), Int32(tk), causal, shape.scale)
        let dqKernel = try program.kernel("attention_bwd_tiled_dq")
        try dqKernel.setArguments(q, k, v, dy, lse, delta, dqOut, Int32(tq), Int32(tk), causal, shape.scale)
        let keyGroup = max(1, min(64, tk, dkdv.maxWorkGroupSize))
        let queryGroup = max(1, min(64, max(tq, 1), dqKernel.maxWorkGroupSize))
        let variantName = Variant.gpuTiled.label
        let statsStep = LaunchStep(kernel: stats, global: [tq, bh], local: nil, variant: variantName, label: label + " statistics",
                       flops: 2.0 * Double(d) * pairs, bytes: 4.0 * Double(bh) * Double(tq * d + tk * d + 2 * tq * dvw + 2 * tq))
        let dkdvStep = LaunchStep(kernel: dkdv, global: [(tk + keyGroup - 1) / keyGroup * keyGroup, bh], local: [keyGroup, 1],
                       variant: variantName, label: label + " dk, dv", flops: 2.0 * Double(2 * d + 2 * dvw) * pairs,
                       bytes: 4.0 * Double(bh) * Double(tq * d + tq * dvw + 2 * tk * d + 2 * tk * dvw))
        let dqStep = LaunchStep(kernel: dqKernel, global: [(tq + queryGroup - 1) / queryGroup * queryGroup, bh], local: [queryGroup, 1],
                       variant: variantName, label: label + " dq", flops: 2.0 * Double(2 * d + dvw) * pairs,
                       bytes: 4.0 * Double(bh) * Double(2 * tq * d + tq * dvw + tk * d + tk * dvw))
        // With no query only dk, dv (zeros) are written.
        return tq == 0 ? [dkdvStep] : [statsStep, dkdvStep, dqStep]
    }

    /// The decomposed form's softmax backward: ds = scale·p ⊙ (dp − Σ_row p·dp) over `rows` rows of
    /// `cols` (p, dp, ds [rows, cols]; ds may not alias p or dp).
    public func encodeSoftmaxBackward(p: CLBuffer<Float>, dp: CLBuffer<Float>, ds: CLBuffer<Float>, rows: Int, cols: Int,
                                      scale: Float) throws -> [LaunchStep] {
        guard rows >= 0, cols >= 0, rows * cols <= Int(Int32.max) else {
            throw CLError.sizeMismatch(operation: "attention backward softmax", detail: "rows \(rows), cols \(cols)")
        }
        guard rows > 0, cols > 0 else { return [] }
        for (name, buffer) in [("p", p), ("dp", dp), ("ds", ds)] where buffer.count < rows * cols {
            throw CLError.sizeMismatch(operation: "attention backward softmax",
                                       detail: "\(name) holds \(buffer.count) floats, \(rows)x\(cols) needs \(rows * cols)")
        }
        // The kernel reads neither D nor Dv: one program serves every shape.
        let program = try environment.program(Self.family, defines: ["D": "1", "DV": "1"])
        let kernel = try program.kernel("attention_bwd_softmax")
        try kernel.setArguments(p, dp, ds, Int32(rows), Int32(cols), scale)
        return [LaunchStep(kernel: kernel, global: [rows], local: environment.deviceClass == .cpu ? [1] : nil,
                           variant: Variant.decomposed.label, label: "attention backward softmax [\(rows)x\(cols)]",
                           flops: 5.0 * Double(rows * cols), bytes: 12.0 * Double(rows * cols))]
    }
}
