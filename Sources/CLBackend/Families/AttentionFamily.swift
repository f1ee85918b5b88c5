import CLRuntime

/// The sizes of a batch of independent attention problems.
public struct AttentionShape: Hashable, Sendable {
    /// B·H independent attention problems.
    public var batchHeads: Int
    /// Tq, query rows per problem.
    public var queries: Int
    /// Tk, key/value rows per problem.
    public var keys: Int
    /// D, the width of q and k rows.
    public var headDim: Int
    /// Dv, the width of v and output rows.
    public var valueDim: Int
    /// Query i sees keys j <= i + (Tk − Tq) (aligned at the end, like a KV cache). Needs Tk >= Tq.
    public var causal: Bool
    public var scale: Float

    public init(batchHeads: Int, queries: Int, keys: Int, headDim: Int, valueDim: Int, causal: Bool, scale: Float) {
        self.batchHeads = batchHeads
        self.queries = queries
        self.keys = keys
        self.headDim = headDim
        self.valueDim = valueDim
        self.causal = causal
        self.scale = scale
    }

    /// (query, key) pairs that take part in the softmax, summed over all problems: exact, also
    /// when causal (Σᵢ (i + Tk − Tq + 1), about half of Tq·Tk when Tq = Tk).
    public var visiblePairs: Int {
        guard causal else { return batchHeads * queries * keys }
        let offset = keys - queries
        return batchHeads * (queries * (offset + 1) + queries * (queries - 1) / 2)
    }
}

/// Fused scaled-dot-product attention (`CLKernels/attention.cl`).
public final class AttentionFamily {
    public static let family = "attention"
    /// The family's variants (the header of `CLKernels/attention.cl` documents each).
    public enum Variant: Int, KernelVariant {
        case scalar = 1
        case cpuBlocked = 2
        case gpuTiled = 3
        case cpuRegisterBlocked = 4

        public static let family = AttentionFamily.family
        public var shortName: String {
            switch self {
            case .scalar: return "scalar"
            case .cpuBlocked: return "cpu blocked"
            case .gpuTiled: return "gpu tiled"
            case .cpuRegisterBlocked: return "cpu register-blocked"
            }
        }
        public var summary: String {
            switch self {
            case .scalar: return "fused online softmax, one query row per work-item, scalar (baseline, any device)"
            case .cpuBlocked: return "cpu blocked: 1-4 queries per work-item, keys in blocks of 16, float16 vectors, online softmax in private memory"
            case .gpuTiled: return "gpu tiled: work-group per (head, query block), K/V tiles in local memory, cooperative loads, barriers"
            case .cpuRegisterBlocked: return "cpu register-blocked: K packed transposed in key blocks, query block x key block of scores by float16 fma with broadcast q, one rescale per key block"
            }
        }
    }

    /// Block sizes and build options of variant 4 (the defaults are what `encode` uses).
    public struct RegisterBlocking: Hashable, Sendable {
        /// Queries per work-item (1...8).
        public var queries: Int
        /// Keys per block (16 or 32).
        public var keys: Int
        /// Groups of `queries` per work-item (1...16): each key block, once in L1, serves them all.
        public var groups: Int
        /// Build with `-cl-fast-relaxed-math` (a benchmark option, never the default): its
        /// finite-math-only assumes no NaN or Inf, so non-finite inputs give undefined results.
        public var fastMath: Bool
        /// `native_exp2` instead of `exp2`.
        public var nativeExp: Bool
        /// P·V with every query × value-chunk accumulator live at once (needs 32 vector registers).
        public var wide: Bool

        public init(queries: Int, keys: Int = 16, groups: Int = 1, fastMath: Bool = false, nativeExp: Bool = false,
                    wide: Bool = false) {
            self.queries = queries
            self.keys = keys
            self.groups = groups
            self.fastMath = fastMath
            self.nativeExp = nativeExp
            self.wide = wide
        }

        /// The default for a shape on a device. Where the native float vector is 16 wide (AVX-512:
        /// 32 vector registers) 8 queries × 32 keys: 16 score accumulators, 16 independent fma chains;
        /// the fastest blocking on pocl/AVX-512 causal and non-causal, T 256 and 1024
        /// (Benchmarks/results/pocl-3.1-intel-xeon-2cu/attention/README.md).
        /// Otherwise (AVX2, 16 registers) `queriesPerItem4` × 16 keys.
        public static func automatic(for shape: AttentionShape, device: DeviceInfo? = nil) -> RegisterBlocking {
            if let width = device?.nativeVectorWidths["float"], width >= 16 {
                return RegisterBlocking(queries: min(8, max(1, shape.queries)), keys: 32)
            }
            return RegisterBlocking(queries: AttentionFamily.queriesPerItem4(queries: shape.queries, dv: shape.valueDim))
        }
    }

    private let environment: FamilyEnvironment

    public init(environment: FamilyEnvironment) { self.environment = environment }

    /// The automatic variant for a device class: .cpu → 4 (the fastest on pocl, see
    /// `CLKernels/attention.cl`), .gpu → 3.
    public static func automaticVariant(for deviceClass: DeviceClass) -> Variant { deviceClass == .gpu ? .gpuTiled : .cpuRegisterBlocked }

    /// The variant `encode` runs when none is passed: the forced one, else the device class's.
    public var chosenVariant: Variant {
        environment.variant(automatic: Self.automaticVariant(for: environment.deviceClass))
    }

    /// Whether a variant reads q, k, v rows where ``AttentionOperandRows`` says (``encode``'s `layouts`).
    public static func readsOperandsInPlace(_ variant: Variant) -> Bool { variant == .cpuRegisterBlocked }

    /// Whether a variant can also store each query's softmax statistics (``encode``'s `statistics`).
    public static func savesStatistics(_ variant: Variant) -> Bool { variant == .cpuRegisterBlocked }

    /// out = softmax(scale·q·kᵀ + causal mask)·v, never materialising the Tq×Tk score matrix.
    /// q [BH, Tq, D], k [BH, Tk, D], v [BH, Tk, Dv], out [BH, Tq, Dv], contiguous row-major.
    /// Variant 4 returns two steps (pack Kᵀ, then attention) and owns a scratch buffer of
    /// ceil(Tk/KB)·KB·D floats per head (KB = 16 by default); `blocking` overrides its block sizes (ignored by 1–3).
    /// - Parameters:
    ///   - statistics: [BH, Tq] to receive each query's log Σ exp(scale·q·kᵀ) over its visible
    ///     keys, what ``AttentionBackwardFamily`` recomputes the probabilities from (the backward
    ///     then skips its statistics pass). Only variants where ``savesStatistics(_:)``.
    ///   - layouts: where q's, k's and v's rows lie (default contiguous); other layouts only on
    ///     variants where ``readsOperandsInPlace(_:)``.
    public func encode(q: CLBuffer<Float>, k: CLBuffer<Float>, v: CLBuffer<Float>, output: CLBuffer<Float>,
                       statistics: CLBuffer<Float>? = nil, layouts: AttentionOperandLayouts? = nil, shape: AttentionShape,
                       variant: Variant? = nil, blocking: RegisterBlocking? = nil) throws -> [LaunchStep] {
        let bh = shape.batchHeads, tq = shape.queries, tk = shape.keys, d = shape.headDim, dv = shape.valueDim
        guard bh >= 0, tq >= 0, tk >= 0, d >= 1, dv >= 1 else {
            throw CLError.sizeMismatch(operation: "attention", detail: "invalid shape \(shape)")
        }
        guard bh > 0, tq > 0 else { return [] }
        guard tk > 0 else {
            throw CLError.sizeMismatch(operation: "attention", detail: "Tk = 0: every query row would be fully masked")
        }
        if shape.causal && tk < tq {
            throw CLError.sizeMismatch(operation: "attention",
                                       detail: "causal needs Tk >= Tq (got Tq \(tq), Tk \(tk)): early queries would see no key")
        }
        let layouts = layouts ?? .contiguous(shape)
        try layouts.check(q: q.count, k: k.count, v: v.count, shape: shape, operation: "attention")
        if output.count < bh * tq * dv {
            throw CLError.sizeMismatch(operation: "attention",
                                       detail: "output holds \(output.count) floats, shape \(shape) needs \(bh * tq * dv)")
        }
        if let statistics, statistics.count < bh * tq {
            throw CLError.sizeMismatch(operation: "attention",
                                       detail: "statistics holds \(statistics.count) floats, shape \(shape) needs \(bh * tq)")
        }
        guard [bh * tq * d, bh * tk * d, bh * tk * dv, bh * tq * dv].allSatisfy({ $0 <= Int(Int32.max) }) else {
            throw CLError.sizeMismatch(operation: "attention", detail: "shape \(shape) too large for 32-bit row indices")
        }

        let chosen = variant ?? chosenVariant
        if !layouts.areContiguous(shape) && !Self.readsOperandsInPlace(chosen) {
            throw CLError.sizeMismatch(operation: "attention.\(chosen.rawValue)",
                                       detail: "this variant reads contiguous q, k, v only (variant 4 reads rows in place)")
        }
        if statistics != nil && !Self.savesStatistics(chosen) {
            throw CLError.sizeMismatch(operation: "attention.\(chosen.rawValue)",
                                       detail: "this variant does not store softmax statistics (variant 4 does)")
        }

        // Every variant lives in one program per (D, Dv[, QB]): a new program costs pocl 1-2 s.
        let info = environment.context.device.info
        let keyTile = Self.keyTile(d: d, dv: dv, info: info)
        if chosen == .gpuTiled && 4 * keyTile * (d + dv) > info.localMemoryBytes {
            throw CLError.sizeMismatch(operation: "attention.3",
                                       detail: "one key of D \(d) + Dv \(dv) floats does not fit \(info.localMemoryBytes) bytes of local memory; use variant 2")
        }
        var defines = ["D": "\(d)", "DV": "\(dv)", "KT": "\(keyTile)"]
        let kernelName: String
        var global: [Int], local: [Int]?
        switch chosen {
        case .scalar:
            kernelName = "attention_scalar"
            global = [tq, bh]
            local = environment.deviceClass == .cpu ? [1, 1] : nil
        case .cpuBlocked:
            let qb = Self.queriesPerItem(queries: tq, d: d, dv: dv)
            defines["QB"] = "\(qb)"
            kernelName = "attention_blocked"
            global = [(tq + qb - 1) / qb, bh]
            local = [1, 1]
        case .cpuRegisterBlocked:
            return try encodeRegisterBlocked(q: q, k: k, v: v, output: output, statistics: statistics, layouts: layouts,
                                             shape: shape,
                                             blocking: blocking ?? .automatic(for: shape, device: environment.context.device.info))
        case .gpuTiled:
            kernelName = "attention_tiled"
            global = []
            local = nil
        }
        let kernel = try environment.program(Self.family, defines: defines).kernel(kernelName)
        if chosen == .gpuTiled {
            let group = max(1, min(64, tq, kernel.maxWorkGroupSize))
            global = [(tq + group - 1) / group * group, bh]
            local = [group, 1]
        }
        try kernel.setArguments(q, k, v, output, Int32(tq), Int32(tk), Int32(shape.causal ? 1 : 0), shape.scale)

        let flops = 2.0 * Double(d + dv) * Double(shape.visiblePairs)
        let bytes = 4.0 * Double(bh) * Double(tq * d + tk * d + tk * dv + tq * dv)
        let label = "attention [\(bh)x\(tq)x\(d)]·[\(bh)x\(tk)x\(d)]ᵀ·[\(bh)x\(tk)x\(dv)]\(shape.causal ? " causal" : "")"
        return [LaunchStep(kernel: kernel, global: global, local: local, variant: chosen.label,
                           label: label, flops: flops, bytes: bytes)]
    }

    /// Variant 4: a pre-pass packs K transposed into a scratch buffer of ceil(Tk/KB)·KB·D floats
    /// per head (O(T·D), not the T×T scores), then the register-blocked kernel.
    private func encodeRegisterBlocked(q: CLBuffer<Float>, k: CLBuffer<Float>, v: CLBuffer<Float>, output: CLBuffer<Float>,
                                       statistics: CLBuffer<Float>?, layouts: AttentionOperandLayouts, shape: AttentionShape,
                                       blocking: RegisterBlocking) throws -> [LaunchStep] {
        let bh = shape.batchHeads, tq = shape.queries, tk = shape.keys, d = shape.headDim, dv = shape.valueDim
        guard (1...8).contains(blocking.queries), blocking.keys == 16 || blocking.keys == 32, (1...16).contains(blocking.groups) else {
            throw CLError.sizeMismatch(operation: "attention.4",
                                       detail: "queries per group \(blocking.queries) (need 1...8), keys per block \(blocking.keys) (need 16 or 32), groups \(blocking.groups) (need 1...16)")
        }
        let qb = blocking.queries, kb = blocking.keys
        let qg = max(1, min(blocking.groups, (tq + qb - 1) / qb))   // no empty groups for short Tq
        let blocks = (tk + kb - 1) / kb
        guard bh * blocks * kb * d <= Int(Int32.max) else {
            throw CLError.sizeMismatch(operation: "attention.4", detail: "shape \(shape) too large for 32-bit indices")
        }
        let defines = ["D": "\(d)", "DV": "\(dv)", "QB4": "\(qb)", "KB": "\(kb)", "QG": "\(qg)", "NATIVE_EXP": blocking.nativeExp ? "1" : "0", "PV_WIDE": blocking.wide ? "1" : "0"]
        let program = try environment.program(Self.family, defines: defines,
                                              extraOptions: blocking.fastMath ? "-cl-fast-relaxed-math" : "")
        let packed = try CLBuffer<Float>(context: environment.context, count: bh * blocks * kb * d)
        let pack = try program.kernel("attention_pack_k")
        try pack.setArguments([k, packed, Int32(tk)] + layouts.k.kernelArguments)
        let main = try program.kernel("attention_regblocked")
        try main.setArguments([q, packed, v, output, Int32(tq), Int32(tk), Int32(shape.causal ? 1 : 0), shape.scale,
                               statistics.map { KernelArgument.buffer($0) } ?? .noBuffer]
                              + layouts.q.kernelArguments + layouts.v.kernelArguments)

        let label = "attention [\(bh)x\(tq)x\(d)]·[\(bh)x\(tk)x\(d)]ᵀ·[\(bh)x\(tk)x\(dv)]\(shape.causal ? " causal" : "")"
        let variant = "\(Variant.cpuRegisterBlocked.name) (cpu register-blocked QB\(qb) KB\(kb) QG\(qg)\(blocking.fastMath ? " fast-math" : "")\(blocking.nativeExp ? " native-exp" : "")\(blocking.wide ? " wide" : ""))"
        return [
            LaunchStep(kernel: pack, global: [blocks, bh], local: [1, 1], variant: variant,
                       label: "attention pack kᵀ [\(bh)x\(tk)x\(d)]", flops: 0,
                       bytes: 4.0 * Double(bh) * Double(tk * d + blocks * kb * d)),
            LaunchStep(kernel: main, global: [(tq + qb * qg - 1) / (qb * qg), bh], local: [1, 1], variant: variant, label: label,
                       flops: 2.0 * Double(d + dv) * Double(shape.visiblePairs),
                       bytes: 4.0 * Double(bh) * Double(tq * d + blocks * kb * d + tk * dv + tq * dv)),
        ]
    }

    /// Queries per work-item for variant 4: four for DV <= 64 (8 independent fma chains for the
    /// scores, 4 queries' accumulators of a 16-wide chunk in registers), two up to 128, else one.
    /// On pocl with AVX2, 4 queries are the fastest at B1 H8 T256 D64, causal and full
    /// (Benchmarks/results/pocl-3.1-amd-epyc-2cu/attention/README.md).
    static func queriesPerItem4(queries: Int, dv: Int) -> Int {
        let chunks = (dv + 15) / 16
        let preferred = chunks <= 4 ? 4 : (chunks <= 8 ? 2 : 1)
        return min(preferred, max(1, queries))
    }

    /// Queries per work-item for variant 2: four keeps 4 q rows + 4 accumulators of D = 64 in
    /// AVX-512 registers; wide rows get fewer; a decode step (Tq = 1) gets one (no wasted rows).
    static func queriesPerItem(queries: Int, d: Int, dv: Int) -> Int {
        let chunks = (d + 15) / 16 + (dv + 15) / 16
        let preferred = chunks <= 8 ? 4 : (chunks <= 16 ? 2 : 1)
        if queries == 1 { return 1 }
        if queries <= 3 { return min(2, preferred) }
        return preferred
    }

    /// Keys per local-memory tile for variant 3: up to 32, within half the device's local memory.
    static func keyTile(d: Int, dv: Int, info: DeviceInfo) -> Int {
        let budget = max(info.localMemoryBytes / 2, 4 * (d + dv))
        return max(1, min(32, budget / (4 * (d + dv))))
    }
}
