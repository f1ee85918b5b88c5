import CLRuntime

/// The tunable parameters of the matmul family: which variant runs and the values of its `-D`
/// macros and runtime knobs (see the top of `CLKernels/matmul.cl`).
///
/// Variant 2 (CPU) reads `rowsPerTile` (the `TM` macro), `kBlock`, `rowTilesPerItem` and the two
/// pack thresholds; variant 3 (GPU) reads the tile geometry (`TSM`, `TSN`, `TSK`, `WPTM`, `WPTN`,
/// the work-group being (TSN/WPTN, TSM/WPTM)). The vector width of variant 2 is fixed (float16,
/// 32-column panels); it is not a knob.
public struct MatmulTuning: Codable, Hashable, Sendable, CustomStringConvertible {
    /// Kernel variant (2 CPU register-blocked, 3 GPU local-memory tiled).
    public var variant: MatmulFamily.Variant
    /// Variant 2: rows per register tile (`TM`; 2·TM float16 accumulators live).
    public var rowsPerTile: Int
    /// Variant 2: about how long a K block is (balanced so no short block is left over).
    public var kBlock: Int
    /// Variant 2: most row tiles one work-item walks per K block.
    public var rowTilesPerItem: Int
    /// Variant 2: pack B [K, N] into panels only when M reaches this many rows.
    public var packMinRows: Int
    /// Variant 2: pack (transpose) B [N, K] only when M reaches this; below, dot products along K.
    public var packMinRowsTransposedB: Int
    /// Variant 2: B panels per sweep of the work-item order (each sweep covers every row tile).
    public var panelGroup: Int
    /// Variant 2 dot path (B [N, K], few rows): rows × columns per work-item and vector width (8 or 16).
    public var dotRows: Int, dotCols: Int, dotWidth: Int
    /// Variant 2, B [N, K] at or past `packMinRowsTransposedB` rows: each work-item transposes its
    /// panel slice in private memory instead of a separate pack launch (nil: false; optional so
    /// caches written before the knob existed still parse).
    public var inlineTransposeB: Bool?
    /// Most K rows of the inline path's private slice (the `NT_KB` macro).
    public static let inlineSliceRows = 160
    /// Variant 3 tile geometry.
    public var tsm: Int, tsn: Int, tsk: Int, wptm: Int, wptn: Int

    public init(variant: MatmulFamily.Variant, rowsPerTile: Int = 8, kBlock: Int = 128, rowTilesPerItem: Int = 4, packMinRows: Int = 64,
                packMinRowsTransposedB: Int = 48, panelGroup: Int = 1 << 20, dotRows: Int = 4, dotCols: Int = 4, dotWidth: Int = 16, tsm: Int = 64, tsn: Int = 64, tsk: Int = 16, wptm: Int = 4, wptn: Int = 4) {
        self.variant = variant
        self.rowsPerTile = rowsPerTile
        self.kBlock = kBlock
        self.rowTilesPerItem = rowTilesPerItem
        self.packMinRows = packMinRows
        self.packMinRowsTransposedB = packMinRowsTransposedB
        self.panelGroup = panelGroup
        self.dotRows = dotRows
        self.dotCols = dotCols
        self.dotWidth = dotWidth
        self.tsm = tsm
        self.tsn = tsn
        self.tsk = tsk
        self.wptm = wptm
        self.wptn = wptn
    }

    /// What an untuned device of this class runs (the CPU values are the fastest `clbench tune
    /// matmul` found on pocl; the GPU geometry is the usual 64×64 tile with a 4×4 register tile
    /// per work-item).
    public static func defaults(for deviceClass: DeviceClass) -> MatmulTuning {
        switch deviceClass {
        // panelGroup 4: sweeps of a few panels keep B's panels in cache instead of re-streaming them
        // per row tile; 4 is the fastest at 2048³ on pocl AVX2 (Benchmarks/results/pocl-3.1-amd-epyc-2cu/matmul/README.md).
        case .cpu: return MatmulTuning(variant: .cpuRegisterBlocked, panelGroup: 4)
        case .gpu: return MatmulTuning(variant: .gpuTiled)
        }
    }

    /// The defaults for a device: its class's, with narrower register tiles on CPUs whose native
    /// float vector is 8 wide (AVX2: 16 vector registers, half of AVX-512's 32 at half the width, so
    /// TM = 8 rows of two float16 accumulators spill): TM = 2, the winner of every class with
    /// M ≥ 128 in `clbench tune matmul` on pocl "pthread-haswell" (Benchmarks/results/pocl-3.1-amd-epyc-2cu/matmul/README.md);
    /// the dot tile drops to 4×4 float8.
    public static func defaults(for device: DeviceInfo) -> MatmulTuning {
        let deviceClass = DeviceClass(device)
        var tuning = defaults(for: deviceClass)
        if deviceClass == .cpu, let width = device.nativeVectorWidths["float"], width > 0, width <= 8 {
            tuning.rowsPerTile = 2
            tuning.dotWidth = 8
        }
        return tuning
    }

    /// The defaults for `shape` on a device: the device's, except that narrow x·Wᵀ products (N ≤ 32,
    /// e.g. the MLP's 27 logits) on CPUs run as dot products straight from B: a packed 32-column panel
    /// wastes lanes and leaves one panel of parallelism (at 128×27×512 on pocl AVX-512 the dot
    /// product beats pack + blocked: Benchmarks/results/pocl-3.1-intel-xeon-2cu/matmul/README.md).
    public static func defaults(for device: DeviceInfo, shape: MatmulShape) -> MatmulTuning {
        var tuning = defaults(for: device)
        let shapeClass = MatmulShapeClass(shape)
        if tuning.variant == .cpuRegisterBlocked && shapeClass.kind == .narrow && shape.transposeB {
            tuning.packMinRowsTransposedB = Int(Int32.max)
            if tuning.dotWidth == 16 { (tuning.dotRows, tuning.dotCols) = (3, 9) }
        }
        // A short K (≤ 32 rows of B [K, N]) keeps a panel's rows in L1 whatever B's row stride, so
        // reading B in place beats a pack launch (the MLP's dh = dlogits·W2, K = 27, traced in a
        // training step: Benchmarks/results/pocl-3.1-intel-xeon-2cu/matmul/README.md).
        if tuning.variant == .cpuRegisterBlocked && !shape.transposeB && shape.k <= 32 { tuning.packMinRows = Int(Int32.max) }
        return tuning
    }

    /// A deliberately non-default, valid configuration per variant, for conformance runs
    /// (`OpenCLOptions.matmulTuning = .conformanceConfiguration(1)`): small tiles and K blocks so
    /// awkward sizes cross every edge path.
    public static let conformanceConfigurations: [Int: MatmulTuning] = [
        1: MatmulTuning(variant: .cpuRegisterBlocked, rowsPerTile: 4, kBlock: 16, rowTilesPerItem: 3, packMinRows: 2, packMinRowsTransposedB: 96, panelGroup: 2,
                        dotRows: 3, dotCols: 5, dotWidth: 8),
        2: MatmulTuning(variant: .gpuTiled, tsm: 32, tsn: 16, tsk: 8, wptm: 2, wptn: 4),
    ]

    /// The `-D` macros of this configuration's variant.
    public var defines: [String: String] {
        switch variant {
        case .cpuRegisterBlocked: return ["TM": "\(rowsPerTile)", "DOT_ROWS": "\(dotRows)", "DOT_COLS": "\(dotCols)", "DOT_W": "\(dotWidth)",
                        "NT_KB": "\(Self.inlineSliceRows)"]
        case .gpuTiled: return ["TSM": "\(tsm)", "TSN": "\(tsn)", "TSK": "\(tsk)", "WPTM": "\(wptm)", "WPTN": "\(wptn)"]
        case .simple: return [:]
        }
    }

    /// Throws a `CLError.sizeMismatch` naming the bad parameter when the configuration cannot run.
    public func validate(maxWorkGroupSize: Int = .max) throws {
        func fail(_ detail: String) throws -> Never {
            throw CLError.sizeMismatch(operation: "matmul tuning \(self)", detail: detail)
        }
        guard (1...32).contains(rowsPerTile) else { try fail("rowsPerTile \(rowsPerTile) is outside 1...32") }
        guard kBlock >= 1, rowTilesPerItem >= 1, panelGroup >= 1 else { try fail("kBlock \(kBlock) and rowTilesPerItem \(rowTilesPerItem) must be ≥ 1") }
        guard (1...8).contains(dotRows), (1...16).contains(dotCols), dotWidth == 8 || dotWidth == 16 else {
            try fail("dot tile \(dotRows)×\(dotCols) must be within 8×16 and DOT_W \(dotWidth) 8 or 16")
        }
        guard packMinRows >= 0, packMinRowsTransposedB >= 0 else { try fail("pack thresholds must be ≥ 0") }
        guard tsm > 0, tsn > 0, tsk > 0, wptm > 0, wptn > 0, tsm % wptm == 0, tsn % wptn == 0 else {
            try fail("tile TSM \(tsm) TSN \(tsn) TSK \(tsk) must be positive multiples of WPTM \(wptm) / WPTN \(wptn)")
        }
        guard (tsm / wptm) * (tsn / wptn) <= maxWorkGroupSize else {
            try fail("work-group \(tsn / wptn)×\(tsm / wptm) exceeds the device's \(maxWorkGroupSize)")
        }
    }

    public var description: String {
        switch variant {
        case .cpuRegisterBlocked:
            return "v2 TM=\(rowsPerTile) KB=\(kBlock) RT=\(rowTilesPerItem) PG=\(Self.threshold(panelGroup, all: 1 << 20)) pack≥\(Self.threshold(packMinRows)) packT≥\(Self.threshold(packMinRowsTransposedB))\(inlineTransposeB == true ? " inlineT" : "") dot=\(dotRows)x\(dotCols)w\(dotWidth)"
        case .gpuTiled: return "v3 TSM=\(tsm) TSN=\(tsn) TSK=\(tsk) WPTM=\(wptm) WPTN=\(wptn)"
        case .simple: return "v1"
        }
    }

    private static func threshold(_ value: Int, all: Int = Int(Int32.max)) -> String {
        value >= all ? (all == Int(Int32.max) ? "never" : "all") : "\(value)"
    }
}

/// The classes of matmul shape tuned separately: each has its own winner in the cache.
public struct MatmulShapeClass: Hashable, Sendable, CustomStringConvertible, Codable {
    public enum Kind: String, Codable, CaseIterable, Sendable {
        /// M > 256, one product.
        case square = "square-large"
        /// 4 ≤ M ≤ 256 (batch × hidden in the models).
        case tallSkinny = "tall-skinny"
        /// M ≥ 4 and N ≤ 32, one product: a single 32-column panel (the MLP's logits and their grads).
        case narrow
        /// M < 4 (one row: generation steps).
        case gemv
        /// Several products (attention heads).
        case batched
    }

    public var kind: Kind
    public var transposeA: Bool
    public var transposeB: Bool

    public init(kind: Kind, transposeA: Bool, transposeB: Bool) {
        self.kind = kind
        self.transposeA = transposeA
        self.transposeB = transposeB
    }

    /// The class of a shape.
    public init(_ shape: MatmulShape) {
        let kind: Kind = shape.batch > 1 ? .batched : shape.m < 4 ? .gemv : shape.n <= 32 ? .narrow
            : shape.m <= 256 ? .tallSkinny : .square
        self.init(kind: kind, transposeA: shape.transposeA, transposeB: shape.transposeB)
    }

    /// Cache key, e.g. `tall-skinny.nt` (n: as stored, t: transposed; A then B).
    public var description: String { "\(kind.rawValue).\(transposeA ? "t" : "n")\(transposeB ? "t" : "n")" }

    /// Parses `description`.
    public init?(key: String) {
        let parts = key.split(separator: ".")
        guard parts.count == 2, let kind = Kind(rawValue: String(parts[0])), parts[1].count == 2 else { return nil }
        let flags = Array(parts[1])
        guard flags.allSatisfy({ $0 == "n" || $0 == "t" }) else { return nil }
        self.init(kind: kind, transposeA: flags[0] == "t", transposeB: flags[1] == "t")
    }

    /// The shape the tuner measures for this class when none is given: the sizes the models use
    /// (MLP batch 128, hidden 512, 3×48 inputs; attention T 256, D 64 over 8 heads).
    public var representativeShape: MatmulShape {
        switch kind {
        case .square where transposeA && !transposeB:
            // The models' only large A-transposed product: the MLP's dW1 = dyᵀ·x.
            return MatmulShape(m: 512, n: 144, k: 128, transposeA: true)
        case .square: return MatmulShape(m: 1024, n: 1024, k: 1024, transposeA: transposeA, transposeB: transposeB)
        case .tallSkinny: return MatmulShape(m: 128, n: 512, k: 144, transposeA: transposeA, transposeB: transposeB)
        case .narrow: return MatmulShape(m: 128, n: 27, k: 512, transposeA: transposeA, transposeB: transposeB)
        case .gemv: return MatmulShape(m: 1, n: 512, k: 512, transposeA: transposeA, transposeB: transposeB)
        case .batched:
            return MatmulShape(batch: 8, m: 256, n: transposeB ? 256 : 64, k: transposeB ? 64 : 256,
                               transposeA: transposeA, transposeB: transposeB)
        }
    }

    /// The classes and layouts the models produce: x·Wᵀ (nt; narrow for the MLP's 27 logits),
    /// dW = dyᵀ·x (tn; dW1 is 512 rows, so square-large.tn), dx = dy·W (nn); attention Q·Kᵀ
    /// (batched nt) and P·V (batched nn).
    public static let modelClasses: [MatmulShapeClass] = [
        .init(kind: .square, transposeA: false, transposeB: false),
        .init(kind: .square, transposeA: true, transposeB: false),
        .init(kind: .tallSkinny, transposeA: false, transposeB: true),
        .init(kind: .tallSkinny, transposeA: true, transposeB: false),
        .init(kind: .tallSkinny, transposeA: false, transposeB: false),
        .init(kind: .narrow, transposeA: false, transposeB: true),
        .init(kind: .gemv, transposeA: false, transposeB: true),
        .init(kind: .batched, transposeA: false, transposeB: true),
        .init(kind: .batched, transposeA: false, transposeB: false),
    ]
}
