import CLRuntime
import Foundation

/// The sizes and layouts of a (batched) matrix product C[b] = A[b]·B[b].
public struct MatmulShape: Hashable, Sendable {
    /// Number of independent products.
    public var batch: Int
    public var m: Int, n: Int, k: Int
    /// A stored [K, M] (row-major) instead of [M, K].
    public var transposeA: Bool
    /// B stored [N, K] instead of [K, N] (the `linear` layout x·Wᵀ).
    public var transposeB: Bool
    /// One B shared by every batch (a weight matrix).
    public var broadcastB: Bool

    public init(batch: Int = 1, m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false,
                broadcastB: Bool = false) {
        self.batch = batch
        self.m = m
        self.n = n
        self.k = k
        self.transposeA = transposeA
        self.transposeB = transposeB
        self.broadcastB = broadcastB
    }

    /// Elements of A, B and C the product reads and writes.
    public var aCount: Int { batch * m * k }
    public var bCount: Int { (broadcastB ? 1 : batch) * k * n }
    public var cCount: Int { batch * m * n }

    /// Key of this exact shape in the tuning cache: `batch×m×n×k` and the layout (`nt`: B transposed),
    /// plus `.shared` for one B across a batch.
    public var tuningKey: String {
        "\(batch)x\(m)x\(n)x\(k).\(transposeA ? "t" : "n")\(transposeB ? "t" : "n")" + (broadcastB && batch > 1 ? ".shared" : "")
    }

    /// E.g. `matmul [128, 144]x[512, 144]ᵀ`.
    public var description: String {
        let a = transposeA ? "[\(k), \(m)]ᵀ" : "[\(m), \(k)]"
        let b = transposeB ? "[\(n), \(k)]ᵀ" : "[\(k), \(n)]"
        let prefix = batch == 1 ? "" : "\(batch)×"
        return "matmul \(prefix)\(a)x\(b)\(broadcastB && batch > 1 ? " (B shared)" : "")"
    }
}

/// An elementwise function applied to C (after the bias) inside the matmul kernel: the
/// `act` codes of `CLKernels/matmul.cl`. `tanhBackward` multiplies C by 1 − y², y an `aux`
/// matrix shaped like C (a tanh's output): the gradient through that tanh. `residual` adds an
/// `aux` matrix shaped like C (a residual connection, or a gradient accumulated into another).
/// `geluBackward` multiplies C by gelu′(x), x an `aux` matrix shaped like C (a gelu's input): the
/// gradient through that gelu, as TensorGraph's `geluSlope` composes it. `geluStoringInput` stores
/// gelu(C) and writes C itself to `aux` (a gelu whose input the backward reads).
public enum MatmulActivation: Int32, Sendable, CaseIterable {
    case none = 0, tanh = 1, gelu = 2, sigmoid = 3, relu = 4, tanhBackward = 5, residual = 6, geluBackward = 7
    case geluStoringInput = 8

    /// Whether the epilogue reads the `aux` matrix.
    public var readsAux: Bool { self == .tanhBackward || self == .residual || self == .geluBackward }
    /// Whether the epilogue writes the `aux` matrix.
    public var writesAux: Bool { self == .geluStoringInput }
    /// Whether the epilogue is an activation's gradient (multiplies C by a derivative read from `aux`).
    public var isGradient: Bool { self == .tanhBackward || self == .geluBackward }
}

/// Matrix products on OpenCL: the kernels of `CLKernels/matmul.cl`.
///
/// Variant 2 (when M reaches `packMinRows` / `packMinRowsTransposedB`) packs B into a scratch
/// buffer of 32-column panels that `encode` allocates, one per encoded product. The
/// buffer lives as long as the returned steps' kernels do (a `CLKernel` keeps its bound buffers
/// alive). A plan runs the pack step before the compute step on every run, so B may change
/// between runs (training).
public final class MatmulFamily {
    public static let family = "matmul"
    /// The family's variants (the header of `CLKernels/matmul.cl` documents each).
    public enum Variant: Int, KernelVariant, Codable {
        case simple = 1
        case cpuRegisterBlocked = 2
        case gpuTiled = 3

        public static let family = MatmulFamily.family
        public var shortName: String {
            switch self {
            case .simple: return "simple"
            case .cpuRegisterBlocked: return "cpu register-blocked"
            case .gpuTiled: return "gpu local-memory tiled"
            }
        }
        public var summary: String {
            switch self {
            case .simple: return "simple: one output per work-item, scalar fma loop (baseline, any device)"
            case .cpuRegisterBlocked: return "cpu register-blocked: TM×32 tile per work-item in float16 accumulators, K blocked, B packed into 32-column panels (few rows: B read in place, dot products for B [N,K]) (pocl/CPU)"
            case .gpuTiled: return "gpu local-memory tiled: TSM×TSN work-group tiles staged in padded local memory, WPTM×WPTN register tile per item (GPU)"
            }
        }
    }

    public let environment: FamilyEnvironment
    /// Tuning used for every shape when set (the tuner, tests, conformance); when nil each shape
    /// gets its class's winner from `tuned`, else `MatmulTuning.defaults` for the device class.
    public var tuning: MatmulTuning?
    /// Tuned winners per shape class: by default the device's cache file (read once per process;
    /// normal runs never write it). Set to nil to ignore the cache.
    public var tuned: MatmulTuningTable?

    public init(environment: FamilyEnvironment) {
        self.environment = environment
        if case .conformanceConfiguration(let index) = environment.options.matmulTuning {
            tuning = MatmulTuning.conformanceConfigurations[index]
        }
        tuned = MatmulTuningCache.shared(for: environment.context.device.info)
    }

    /// The defaults of this device class.
    public var defaultTuning: MatmulTuning { MatmulTuning.defaults(for: environment.context.device.info) }

    /// Where the configuration of a product comes from.
    public enum ResolvedSource: Sendable, Equatable, CustomStringConvertible {
        /// ``tuning`` (set by the tuner, tests or the conformance options).
        case explicit
        /// The tuning cache's winner for a shape class.
        case tuned(shapeClass: String)
        /// ``MatmulTuning/defaults(for:shape:)`` of the device class.
        case deviceDefault

        public var description: String {
            switch self {
            case .explicit: return "explicit"
            case .tuned(let shapeClass): return "tuned \(shapeClass)"
            case .deviceDefault: return "default"
            }
        }
    }

    /// The configuration `encode` uses for `shape` and where it came from.
    public func resolvedTuning(for shape: MatmulShape) -> (tuning: MatmulTuning, source: ResolvedSource) {
        if let tuning { return (tuning, .explicit) }
        if let cached = tuned?.winner(for: shape) { return (cached.tuning, .tuned(shapeClass: cached.key)) }
        return (MatmulTuning.defaults(for: environment.context.device.info, shape: shape), .deviceDefault)
    }

    private func editTuning(_ change: (inout MatmulTuning) -> Void) {
        var value = tuning ?? defaultTuning
        change(&value)
        tuning = value
    }

    /// Variant 2 row-tile height (the `TM` macro); setting it (or any knob below) fixes `tuning`.
    public var rowsPerTile: Int {
        get { (tuning ?? defaultTuning).rowsPerTile }
        set { editTuning { $0.rowsPerTile = newValue } }
    }
    /// Variant 2: about how long a K block is.
    public var kBlock: Int {
        get { (tuning ?? defaultTuning).kBlock }
        set { editTuning { $0.kBlock = newValue } }
    }
    /// Variant 2 packs B [K, N] into panels only when M reaches this many rows; below it the
    /// blocked kernel reads B's rows in place (on pocl at N = K = 1024 in-place rows are as fast
    /// as the pack up to M ≈ 128–256; the pack pays beyond: Benchmarks/results/pocl-3.1-amd-epyc-2cu/matmul/README.md).
    public var packMinRows: Int {
        get { (tuning ?? defaultTuning).packMinRows }
        set { editTuning { $0.packMinRows = newValue } }
    }
    /// Variant 2 packs (transposes) B [N, K] only when M reaches this many rows; below it the
    /// product runs as dot products along K straight from B.
    public var packMinRowsTransposedB: Int {
        get { (tuning ?? defaultTuning).packMinRowsTransposedB }
        set { editTuning { $0.packMinRowsTransposedB = newValue } }
    }
    /// Variant 2: most row tiles one work-item walks per K block (reuses the L1-resident panel slice).
    public var rowTilesPerItem: Int {
        get { (tuning ?? defaultTuning).rowTilesPerItem }
        set { editTuning { $0.rowTilesPerItem = newValue } }
    }
    /// Variant 3 tile geometry (`TSM`, `TSN`, `TSK`, `WPTM`, `WPTN`).
    public var gpuTile: (tsm: Int, tsn: Int, tsk: Int, wptm: Int, wptn: Int) {
        get { let t = tuning ?? defaultTuning; return (t.tsm, t.tsn, t.tsk, t.wptm, t.wptn) }
        set { editTuning { $0.tsm = newValue.tsm; $0.tsn = newValue.tsn; $0.tsk = newValue.tsk; $0.wptm = newValue.wptm; $0.wptn = newValue.wptn } }
    }

    /// The variant `encode` uses for `shape` when none is asked for: the forced one, else the
    /// tuned (or default) configuration's.
    public func automaticVariant(for shape: MatmulShape) -> Variant {
        environment.variant(automatic: resolvedTuning(for: shape).tuning.variant)
    }

    /// C[b] = act(A[b]·B[b] (+ bias broadcast over rows, bias has n elements)). All row-major, contiguous.
    public func encode(a: CLBuffer<Float>, b: CLBuffer<Float>, c: CLBuffer<Float>, shape: MatmulShape,
                       bias: CLBuffer<Float>? = nil, activation: MatmulActivation = .none, aux: CLBuffer<Float>? = nil,
                       variant: Variant? = nil) throws -> [LaunchStep] {
        try validate(a: a, b: b, c: c, shape: shape, bias: bias)
        if activation.readsAux || activation.writesAux {
            guard let aux, aux.count >= shape.cCount else {
                throw CLError.sizeMismatch(operation: "matmul \(shape.description) \(activation)",
                                           detail: "needs an aux matrix of \(shape.cCount) elements, got \(aux?.count ?? 0)")
            }
        }
        let aux = aux ?? c
        if shape.batch == 0 || shape.m == 0 || shape.n == 0 { return [] }
        var chosen = variant ?? automaticVariant(for: shape)
        // With K = 0 the product is the bias (or zero): only the simple kernel writes C then.
        if shape.k == 0 { chosen = .simple }
        switch chosen {
        case .simple: return try encodeSimple(a: a, b: b, c: c, shape: shape, bias: bias, activation: activation, aux: aux)
        case .cpuRegisterBlocked, .gpuTiled:
            let resolved = resolvedTuning(for: shape)
            let t = try runnableTuning(resolved.tuning, variant: chosen)
            let steps = chosen == .cpuRegisterBlocked ? try encodeBlocked(a: a, b: b, c: c, shape: shape, bias: bias, activation: activation, aux: aux, tuning: t)
                                    : try encodeTiled(a: a, b: b, c: c, shape: shape, bias: bias, activation: activation, aux: aux, tuning: t)
            guard resolved.source != .deviceDefault else { return steps }
            // Traces show which configuration ran.
            return steps.map {
                LaunchStep(kernel: $0.kernel, global: $0.global, local: $0.local, variant: $0.variant + " [\(resolved.source)]",
                           label: $0.label, flops: $0.flops, bytes: $0.bytes)
            }
        }
    }

    /// `t` as `variant` runs it, validated: a configuration tuned for the other variant still
    /// carries that variant's defaults.
    private func runnableTuning(_ t: MatmulTuning, variant: Variant) throws -> MatmulTuning {
        let result = t.variant == variant ? t : Self.merged(t, variant: variant, defaults: defaultTuning)
        try result.validate(maxWorkGroupSize: environment.context.device.info.maxWorkGroupSize)
        return result
    }

    static func merged(_ t: MatmulTuning, variant: Variant, defaults: MatmulTuning) -> MatmulTuning {
        var result = t
        result.variant = variant
        if t.variant == .gpuTiled && variant == .cpuRegisterBlocked {
            (result.rowsPerTile, result.kBlock, result.rowTilesPerItem) = (defaults.rowsPerTile, defaults.kBlock, defaults.rowTilesPerItem)
            (result.packMinRows, result.packMinRowsTransposedB) = (defaults.packMinRows, defaults.packMinRowsTransposedB)
        }
        return result
    }

    private func validate(a: CLBuffer<Float>, b: CLBuffer<Float>, c: CLBuffer<Float>, shape: MatmulShape,
                          bias: CLBuffer<Float>?) throws {
        guard shape.batch >= 0, shape.m >= 0, shape.n >= 0, shape.k >= 0 else {
            throw CLError.sizeMismatch(operation: "matmul", detail: "negative size in \(shape)")
        }
        let limit = Int(Int32.max)
        guard shape.m <= limit, shape.n <= limit, shape.k <= limit, shape.batch <= limit,
              shape.m * shape.k <= limit, shape.k * shape.n <= limit, shape.m * shape.n <= limit
        else { throw CLError.sizeMismatch(operation: "matmul", detail: "\(shape) has a matrix over 2^31 elements") }
        func check(_ name: String, _ buffer: CLBuffer<Float>, _ needed: Int) throws {
            guard buffer.count >= needed else {
                throw CLError.sizeMismatch(operation: "matmul \(shape.description)",
                                           detail: "\(name) holds \(buffer.count) elements, needs \(needed)")
            }
        }
        try check("A", a, shape.aCount)
        try check("B", b, shape.bCount)
        try check("C", c, shape.cCount)
        if let bias { try check("bias", bias, shape.n) }
    }

    private func flops(_ s: MatmulShape, bias: Bool) -> Double {
        Double(s.batch) * Double(s.m) * Double(s.n) * (2 * Double(s.k) + (bias ? 1 : 0))
    }

    // MARK: Variant 1

    private func encodeSimple(a: CLBuffer<Float>, b: CLBuffer<Float>, c: CLBuffer<Float>, shape s: MatmulShape,
                              bias: CLBuffer<Float>?, activation: MatmulActivation, aux: CLBuffer<Float>) throws -> [LaunchStep] {
        let kernel = try environment.program(Self.family).kernel("matmul_simple")
        try kernel.setArguments(a, b, c, bias ?? c, Int32(bias == nil ? 0 : 1), Int32(s.batch), Int32(s.m), Int32(s.n),
                                Int32(s.k), Int32(s.transposeA ? 1 : 0), Int32(s.transposeB ? 1 : 0),
                                Int64(s.broadcastB ? 0 : s.k * s.n), activation.rawValue, aux)
        let group = 64
        let total = s.cCount
        let bytes = 4.0 * Double(s.aCount + s.bCount + s.cCount + (bias == nil ? 0 : s.n))
        return [LaunchStep(kernel: kernel, global: [(total + group - 1) / group * group], local: [group],
                           variant: Variant.simple.label, label: s.description, flops: flops(s, bias: bias != nil), bytes: bytes)]
    }

    // MARK: Variant 2

    /// The K block variant 2 uses: about `kBlock`, balanced so no short block is left over
    /// (K = 144 runs as one block of 144, not 128 + 16).
    func balancedKBlock(_ k: Int, kBlock: Int) -> Int {
        let blocks = max(1, Int((Double(k) / Double(max(kBlock, 1))).rounded()))
        return (k + blocks - 1) / blocks
    }

    /// Row tiles per work-item: `wanted`, fewer where that would leave under 32 work-items to
    /// spread over the cores (fat work-items amortise pocl's per-work-group cost; too few idle a core).
    func spreadRowTiles(tiles: Int, wanted: Int, columnGroups: Int) -> Int {
        var rowTiles = max(1, min(wanted, tiles))
        while rowTiles > 1 && columnGroups * ((tiles + rowTiles - 1) / rowTiles) < 32 { rowTiles -= 1 }
        return rowTiles
    }

    private func encodeBlocked(a: CLBuffer<Float>, b: CLBuffer<Float>, c: CLBuffer<Float>, shape s: MatmulShape,
                               bias: CLBuffer<Float>?, activation: MatmulActivation, aux: CLBuffer<Float>,
                               tuning t: MatmulTuning) throws -> [LaunchStep] {
        let program = try environment.program(Self.family, defines: t.defines)
        let (packMinRows, packMinRowsTransposedB) = (t.packMinRows, t.packMinRowsTransposedB)
        let panels = (s.n + 31) / 32
        let bBatches = s.broadcastB ? 1 : s.batch
        let biasArgument = Int32(bias == nil ? 0 : 1)
        let biasBytes = Double(bias == nil ? 0 : s.n)

        if s.m < packMinRowsTransposedB && s.transposeB {
            // Few rows of x·Wᵀ: dot products along K straight from B [N, K]; a pack would cost more than the product.
            let tile = s.m >= 4
            let (dotRows, dotColumns) = tile ? (t.dotRows, t.dotCols) : (1, 8)
            let kernel = try program.kernel("matmul_dot_" + (s.transposeA ? "tt" : "nt") + (tile ? "_tile" : ""))
            let columnGroups = (s.n + dotColumns - 1) / dotColumns, tiles = (s.m + dotRows - 1) / dotRows
            let rowTiles = spreadRowTiles(tiles: tiles, wanted: t.rowTilesPerItem, columnGroups: columnGroups * s.batch)
            let rowGroups = (tiles + rowTiles - 1) / rowTiles
            try kernel.setArguments(a, b, c, bias ?? c, biasArgument, Int32(s.m), Int32(s.n), Int32(s.k),
                                    Int64(s.broadcastB ? 0 : s.k * s.n), Int32(rowTiles), activation.rawValue, aux)
            let bytes = 4.0 * (Double(s.aCount) * Double(columnGroups) + Double(s.batch * s.k * s.n * rowGroups)
                               + Double(s.cCount) + biasBytes)
            let columns: (global: Int, local: Int?) = tile ? (columnGroups, 1) : environment.groupedItems(columnGroups)
            return [LaunchStep(kernel: kernel, global: [columns.global, rowGroups, s.batch], local: columns.local.map { [$0, 1, 1] },
                               variant: Variant.cpuRegisterBlocked.label + " dot", label: s.description,
                               flops: flops(s, bias: bias != nil), bytes: bytes)]
        }

        let direct = !s.transposeB && s.m < packMinRows
        let inline = s.transposeB && t.inlineTransposeB == true
        var steps: [LaunchStep] = []
        var source = b
        var bStride = s.broadcastB ? 0 : s.k * s.n
        let panelFloats = panels * 32 * s.k          // per B batch
        if !direct && !inline {
            let scratch = try CLBuffer<Float>(context: environment.context, count: panelFloats * bBatches)
            let pack = try program.kernel("matmul_pack_b")
            try pack.setArguments(b, scratch, Int32(s.n), Int32(s.k), Int32(s.transposeB ? 1 : 0))
            steps.append(LaunchStep(
                kernel: pack, global: [panels, (s.k + 15) / 16, bBatches], local: [1, 1, 1],
                variant: Variant.cpuRegisterBlocked.label + " pack B", label: "pack B of " + s.description, flops: 0,
                bytes: 4.0 * Double(bBatches * s.k * s.n + panelFloats * bBatches)))
            source = scratch
            bStride = s.broadcastB ? 0 : panelFloats
        }
        steps.append(try blockedProduct(program: program, a: a, source: source, bStride: bStride, c: c, shape: s, bias: bias,
                                        activation: activation, aux: aux, tuning: t, direct: direct, inline: inline))
        return steps
    }

    /// C = A · B for B already in the panel layout `matmul_pack_b` writes: ⌈N/32⌉ panels of
    /// K × 32 floats, zero past N (batch 1, A not transposed). The quant family dequantizes
    /// weights into this layout for products with many rows (its variant 4).
    public func encodeFromPanels(a: CLBuffer<Float>, panels: CLBuffer<Float>, c: CLBuffer<Float>, m: Int, n: Int, k: Int,
                                 bias: CLBuffer<Float>? = nil) throws -> LaunchStep {
        let shape = MatmulShape(m: m, n: n, k: k, transposeB: true)
        let needed = (n + 31) / 32 * 32 * k
        guard panels.count >= needed, a.count >= m * k, c.count >= m * n, bias.map({ $0.count >= n }) ?? true else {
            throw CLError.sizeMismatch(operation: "matmul \(shape.description) from panels",
                                       detail: "A holds \(a.count) (needs \(m * k)), panels \(panels.count) (needs \(needed)), C \(c.count) (needs \(m * n))")
        }
        let t = try runnableTuning(resolvedTuning(for: shape).tuning, variant: .cpuRegisterBlocked)
        let program = try environment.program(Self.family, defines: t.defines)
        return try blockedProduct(program: program, a: a, source: panels, bStride: 0, c: c, shape: shape, bias: bias,
                                  activation: .none, aux: c, tuning: t, direct: false, inline: false)
    }

    /// The register-blocked product launch of variant 2, B read from `source` (panels, B itself
    /// for `direct`, or B [N, K] for `inline`).
    private func blockedProduct(program: CLProgram, a: CLBuffer<Float>, source: CLBuffer<Float>, bStride: Int, c: CLBuffer<Float>,
                                shape s: MatmulShape, bias: CLBuffer<Float>?, activation: MatmulActivation, aux: CLBuffer<Float>,
                                tuning t: MatmulTuning, direct: Bool, inline: Bool) throws -> LaunchStep {
        let panels = (s.n + 31) / 32
        let bBatches = s.broadcastB ? 1 : s.batch
        let panelFloats = panels * 32 * s.k
        let biasArgument = Int32(bias == nil ? 0 : 1)
        let biasBytes = Double(bias == nil ? 0 : s.n)
        let rowsPerTile = t.rowsPerTile
        let rows = s.m >= rowsPerTile ? rowsPerTile : direct && s.m >= 4 ? 4 : 1
        let name = inline ? "matmul_inline_" + (s.transposeA ? "tt" : "nt") + (rows == rowsPerTile ? "" : "_r1")
            : (direct ? "matmul_direct_" : "matmul_blocked_") + (s.transposeA ? "tn" : "nn") + (rows == rowsPerTile ? "" : "_r\(rows)")
        let kernel = try program.kernel(name)
        let tiles = (s.m + rows - 1) / rows
        let rowTiles = spreadRowTiles(tiles: tiles, wanted: t.rowTilesPerItem, columnGroups: panels * s.batch)
        let groups = (tiles + rowTiles - 1) / rowTiles
        var kBlockLength = balancedKBlock(s.k, kBlock: t.kBlock)
        if inline && kBlockLength > MatmulTuning.inlineSliceRows {
            // The private slice holds at most inlineSliceRows K rows: equal blocks within it.
            let blocks = (s.k + MatmulTuning.inlineSliceRows - 1) / MatmulTuning.inlineSliceRows
            kBlockLength = (s.k + blocks - 1) / blocks
        }
        try kernel.setArguments(a, source, c, bias ?? c, biasArgument, Int32(s.m), Int32(s.n), Int32(s.k),
                                Int64(bStride), Int32(rowTiles), Int32(kBlockLength), Int32(groups),
                                Int32(min(t.panelGroup, panels)), activation.rawValue, aux)
        let kBlocks = (s.k + kBlockLength - 1) / kBlockLength
        let cTraffic = Double(s.cCount) * Double(2 * kBlocks - 1)   // partial sums go through C between K blocks
        let aReads = Double(s.aCount) * Double(panels)               // each panel's work-items read their A rows
        let bReads = Double(direct ? s.k * s.n * bBatches : inline ? s.k * s.n * s.batch * groups : panelFloats * bBatches)
        let bytes = 4.0 * (aReads + bReads + cTraffic + biasBytes * Double(panels > 0 ? 1 : 0))
        return LaunchStep(kernel: kernel, global: [panels * groups, 1, s.batch], local: [1, 1, 1],
                          variant: Variant.cpuRegisterBlocked.label + (direct ? " direct" : inline ? " inline transpose" : ""), label: s.description,
                          flops: flops(s, bias: bias != nil), bytes: bytes)
    }

    // MARK: Variant 3

    private func encodeTiled(a: CLBuffer<Float>, b: CLBuffer<Float>, c: CLBuffer<Float>, shape s: MatmulShape,
                             bias: CLBuffer<Float>?, activation: MatmulActivation, aux: CLBuffer<Float>,
                             tuning t: MatmulTuning) throws -> [LaunchStep] {
        let program = try environment.program(Self.family, defines: [
            "TSM": "\(t.tsm)", "TSN": "\(t.tsn)", "TSK": "\(t.tsk)", "WPTM": "\(t.wptm)", "WPTN": "\(t.wptn)",
        ])
        let kernel = try program.kernel("matmul_tiled")
        try kernel.setArguments(a, b, c, bias ?? c, Int32(bias == nil ? 0 : 1), Int32(s.m), Int32(s.n), Int32(s.k),
                                Int32(s.transposeA ? 1 : 0), Int32(s.transposeB ? 1 : 0), Int64(s.broadcastB ? 0 : s.k * s.n),
                                activation.rawValue, aux)
        let rtsn = t.tsn / t.wptn, rtsm = t.tsm / t.wptm
        let groupsN = (s.n + t.tsn - 1) / t.tsn, groupsM = (s.m + t.tsm - 1) / t.tsm
        // Each work-group reads its TSM rows of A and TSN columns of B once.
        let bytes = 4.0 * (Double(s.aCount) * Double(groupsN) + Double(s.batch * s.k * s.n) * Double(groupsM)
                           + Double(s.cCount) + Double(bias == nil ? 0 : s.cCount))
        return [LaunchStep(kernel: kernel, global: [groupsN * rtsn, groupsM * rtsm, s.batch], local: [rtsn, rtsm, 1],
                           variant: Variant.gpuTiled.label, label: s.description, flops: flops(s, bias: bias != nil), bytes: bytes)]
    }
}
