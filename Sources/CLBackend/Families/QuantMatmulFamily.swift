import CLRuntime
import Foundation
import TensorGraph

/// Matrix products with block-quantized weights (`q8_0`, `q4_0`): the kernels of `CLKernels/quant.cl`.
///
/// Weights live on the device in the layout the `.cl` header describes: all fp16 scales first
/// (padded to 16 bytes), then every block's quants, 16-byte aligned. ``deviceLayout(_:format:)``
/// and ``llamaLayout(_:format:elements:)`` convert from and to llama.cpp's interleaved blocks.
public final class QuantMatmulFamily {
    public static let family = "quant"
    /// The family's variants (the header of `CLKernels/quant.cl` documents each).
    public enum Variant: Int, KernelVariant {
        case cpu = 1
        case gpu = 2
        case cpuQuantizedX = 3
        case dequantizedPanels = 4

        public static let family = QuantMatmulFamily.family
        public var summary: String {
            switch self {
            case .cpu: return "cpu: ROWS weight rows × BT rows of x per work-item, 16 fp16 scales converted per vector, blocks dequantized in registers (q4_0 by table permute on AVX-512) into float16 fma dot products, local size [1] (pocl/CPU)"
            case .gpu: return "gpu: a work-group per output, items stride over blocks, local-memory tree reduction (GPU)"
            case .cpuQuantizedX: return "cpu x-quantized: x quantized once per call (q8_0: int16, q4_0: int8 per 32-block + float scale, q4_0 in four-block order), integer block dot products (AVX-512BW pmaddwd / pmaddubsw four q4_0 blocks per 64-byte load, portable OpenCL C elsewhere) scaled by d_w·d_x, ROWS weight rows × XT rows of x per step, each work-item a contiguous range of row groups (pocl/CPU; changes numerics: see variant3Bound)"
            case .dequantizedPanels: return "many rows of x: W dequantized into the f32 blocked matmul's panels (a transient [⌈N/32⌉·32, K] float scratch), then matmul variant 2 on them (CPU; the one variant that materialises float weights, for products where M rows amortise it)"
            }
        }
    }

    /// Variant 3's error against the dequantize-then-float product (NMSE, uniform inputs): x is
    /// rounded to int16 (q8_0, d = amax/32767) or int8 (q4_0, d = amax/127) per 32-block.
    /// Measured on random uniform x and weights (conformance, tests, `clbench quant`): q8_0 ≤ 2.6e-9 (a single-output test shape; ≤ 3.5e-10 in conformance);
    /// q4_0 ~1e-5 on wide outputs, up to 5.1e-4 on a single 32-term dot product (llama.cpp's q8_0
    /// activations have the same error).
    public static func variant3Bound(_ format: QuantFormat) -> Double { format == .q8_0 ? 1e-8 : 1e-3 }

    public let environment: FamilyEnvironment
    /// Variant 1: weight rows per work-item for GEMV (M < `batchTileMinRows`) and for batched
    /// products; `nil` picks per format. GEMV: 4 rows for both formats, the fastest in `clbench quant
    /// --rows-per-item 1,2,4,8` at 4096² on pocl AVX-512. Batched, on AVX-512 (native float width
    /// 16, 32 vector registers): 4 rows × 4 for both (8 rows of x spill). Elsewhere (AVX2): q8_0
    /// 1 row × 4, q4_0 2 × 4; more rows or a taller tile spill on 16 vector registers (float16
    /// accumulators take two each). Measurements: Benchmarks/results/pocl-3.1-intel-xeon-2cu/quant/README.md
    /// (AVX-512) and Benchmarks/results/pocl-3.1-amd-epyc-2cu/quant/README.md (AVX2).
    public var rowsPerItem: Int?
    public var rowsPerItemBatched: Int?
    /// Variants 1 and 3: rows of x per work-item once M reaches `batchTileMinRows` (one dequantized
    /// / unpacked block then feeds `batchTile` dot products). Variant 3 also reads `rowsPerItem`
    /// (GEMV, default 6: six weight streams per item, faster than 4 and 8 in `clbench quant
    /// --rows-per-item` at 4096²) and `rowsPerItemBatched` (default 2).
    public var batchTile = 4
    public var batchTileMinRows = 2
    /// Variant 3: work-items along N, each owning a contiguous range of row groups (`rowsPerItem`
    /// rows each); `nil`: ``automaticWorkItems(rowGroups:rowTiles:weightBytes:)``.
    public var workItems: Int?
    /// Variant 2: work-group size.
    public var gpuGroupSize = 64

    public init(environment: FamilyEnvironment) { self.environment = environment }

    /// Values per `q8_0` / `q4_0` block along K.
    public static let blockSize = 32

    /// Variant 4's float product on the dequantized panels (one per family, like the plan's own).
    private lazy var panelProduct = MatmulFamily(environment: environment)

    /// The variant used when none is asked for. GPUs: variant 2. CPUs: variant 4 (dequantize into
    /// the float GEMM's panels) for at least 256 rows of x with at most 2^20 weights, where the float
    /// scratch stays small and the rows amortise it: in `clbench quant --variant 3,4` on pocl
    /// (AVX-512) variant 4 runs at about f32's speed at M = 8192 with the GPT's weights, where
    /// variant 3 takes about 3× as long, while variant 3 is faster at 4096² with M = 256 and at 512²
    /// with M = 64 (Benchmarks/results/pocl-3.1-intel-xeon-2cu/quant/README.md). Otherwise (GEMV,
    /// small batches) the variant ``smallBatchCPUVariant(_:)`` picks from the device's vector widths.
    public func automaticVariant(m: Int, n: Int, k: Int) -> Variant {
        let cpu: Variant = m >= Self.panelMinRows && n * k <= Self.panelMaxWeights
            ? .dequantizedPanels : Self.smallBatchCPUVariant(environment.context.device.info)
        return environment.variant(cpu: cpu, gpu: .gpu)
    }
    static let panelMinRows = 256, panelMaxWeights = 1 << 20

    /// The CPU variant for GEMV and small batches: variant 3 where the device prefers explicit
    /// integer vectors (preferred `char` vector width above 1), variant 1 where it prefers scalar
    /// work-items and vectorises across them (width 1). Variant 3 is a few fat work-items of
    /// hand-vectorised integer block dot products whose fast path is written for a compiler that
    /// maps one work-item's `char16`/`short16` code onto AVX-512BW; a compiler that vectorises
    /// across work-items runs it at about f32's speed, and variant 1's float16 fma code, which it
    /// compiles well, is faster. Measured with `clbench quant --batch 1,8 --variant 1,3` (and all
    /// variants) in alternating rounds per driver (Benchmarks/results/pocl-3.1-intel-xeon-2cu/drivers/quant-all-variants/):
    /// on pocl (preferred width 16) variant 3 is 1.3–6× faster than variant 1; on Intel's CPU
    /// runtime (width 1) variant 1 is 1.1–1.7× faster for q4_0 at batch 1 and 1.6–2.3× for both
    /// formats at batch 8 (q8_0 at batch 1: even).
    public static func smallBatchCPUVariant(_ info: DeviceInfo) -> Variant {
        (info.preferredVectorWidths["char"] ?? 1) > 1 ? .cpuQuantizedX : .cpu
    }

    /// Variant 3's work-items along N for `rowGroups` groups of rows: at most 128 (pocl runs each
    /// local-size-[1] work-group separately: at 4096² one item per 4-row group, 1024 items, is
    /// slower than 64–256 in `clbench quant --work-items`, while 16–32 items balance two loaded
    /// cores worse).
    ///
    /// With many tiles of rows of x (an evaluation batch), each item walks its tiles against its
    /// range of weight rows, so the range is made to stay cache-resident: about 256 KiB of weights
    /// per item, every tile of x then read once per item instead of once per group.
    public func automaticWorkItems(rowGroups: Int, rowTiles: Int = 1, weightBytes: Int = 0) -> Int {
        guard rowTiles >= 16 else { return min(rowGroups, 128) }
        return min(rowGroups, 128, max(1, (weightBytes + (256 << 10) - 1) / (256 << 10)))
    }
    /// Variant 3: work-items per row of x for quantize_x (each strides over the blocks; one block
    /// per item costs ~1 µs more per 128 blocks).
    public var quantizeItems = 4
    /// Variant 3: most work-items of a product and of its quantize_x launch; past these, items walk
    /// several tiles of rows of x (an evaluation batch of 128 windows × 64 tokens is 8192 rows).
    public var maxItems = 1024, maxQuantizeItems = 256

    // MARK: Device layout

    /// Byte offset of the quants in the device layout (the scales, padded to 16 bytes).
    public static func quantOffset(blocks: Int) -> Int { (blocks * 2 + 15) / 16 * 16 }

    /// Bytes of the device layout for `elements` values (a multiple of 32).
    public static func deviceByteCount(format: QuantFormat, elements: Int) -> Int {
        let blocks = elements / Self.blockSize
        return quantOffset(blocks: blocks) + blocks * format.quantBytesPerBlock
    }

    /// llama.cpp's interleaved blocks → the device layout (scales first, then aligned quants).
    /// - Precondition: `format` is a block format (`f16` weights need no repacking).
    public static func deviceLayout(_ bytes: [UInt8], format: QuantFormat) -> [UInt8] {
        precondition(format != .f16, "deviceLayout: f16 weights are stored as they are")
        let blocks = bytes.count / format.blockBytes
        let qb = format.quantBytesPerBlock, offset = quantOffset(blocks: blocks)
        var out = [UInt8](repeating: 0, count: offset + blocks * qb)
        bytes.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for b in 0..<blocks {
                    let s = b * format.blockBytes
                    target[2 * b] = source[s]
                    target[2 * b + 1] = source[s + 1]
                    for j in 0..<qb { target[offset + b * qb + j] = source[s + 2 + j] }
                }
            }
        }
        return out
    }

    /// The device layout → llama.cpp's interleaved blocks.
    /// - Precondition: `format` is a block format.
    public static func llamaLayout(_ bytes: [UInt8], format: QuantFormat, elements: Int) -> [UInt8] {
        precondition(format != .f16, "llamaLayout: f16 weights are stored as they are")
        let blocks = elements / Self.blockSize
        let qb = format.quantBytesPerBlock, offset = quantOffset(blocks: blocks)
        var out = [UInt8](repeating: 0, count: blocks * format.blockBytes)
        for b in 0..<blocks {
            let t = b * format.blockBytes
            out[t] = bytes[2 * b]
            out[t + 1] = bytes[2 * b + 1]
            for j in 0..<qb { out[t + 2 + j] = bytes[offset + b * qb + j] }
        }
        return out
    }

    // MARK: Products

    /// y[M, N] = x[M, K] · Wᵀ (+ bias), W [N, K] in the device layout of `format`.
    /// - Throws: `CLError.sizeMismatch` naming the operand when K is not a multiple of 32 or a buffer is too small.
    public func encode(x: CLBuffer<Float>, weights: CLBuffer<UInt8>, y: CLBuffer<Float>, bias: CLBuffer<Float>? = nil,
                       format: QuantFormat, m: Int, n: Int, k: Int, variant: Variant? = nil) throws -> [LaunchStep] {
        let what = "quantized matmul [\(m), \(k)]x\(format.rawValue) [\(n), \(k)]ᵀ"
        guard format != .f16 else {
            throw CLError.sizeMismatch(operation: what, detail: "f16 weights are HalfMatmulFamily's, not a block format")
        }
        guard m > 0, n > 0, k > 0, k % Self.blockSize == 0 else {
            throw CLError.sizeMismatch(operation: what, detail: "M, N, K must be positive and K (\(k)) a multiple of 32")
        }
        guard m * k <= Int(Int32.max), n * k <= Int(Int32.max), m * n <= Int(Int32.max) else {
            throw CLError.sizeMismatch(operation: what, detail: "a matrix over 2^31 elements")
        }
        func check(_ name: String, _ have: Int, _ need: Int) throws {
            guard have >= need else { throw CLError.sizeMismatch(operation: what, detail: "\(name) holds \(have), needs \(need)") }
        }
        try check("x (elements)", x.count, m * k)
        try check("W (bytes)", weights.count, Self.deviceByteCount(format: format, elements: n * k))
        try check("y (elements)", y.count, m * n)
        if let bias { try check("bias (elements)", bias.count, n) }
        let chosen = variant ?? automaticVariant(m: m, n: n, k: k)
        let qoff = Int32(Self.quantOffset(blocks: n * k / Self.blockSize))
        let bits = format == .q8_0 ? "8" : "4"
        let weightBytes = Double(Self.deviceByteCount(format: format, elements: n * k))
        let bytes = weightBytes + 4 * Double(m * k + m * n + (bias == nil ? 0 : n))
        let flops = 2 * Double(m) * Double(n) * Double(k)
        let arguments: [any KernelArgumentConvertible] = [x, weights, qoff, bias ?? y, Int32(bias == nil ? 0 : 1), y,
                                                         Int32(m), Int32(n), Int32(k)]
        switch chosen {
        case .cpu:
            let batched = m >= batchTileMinRows
            // 32 vector registers (AVX-512: native float width 16) hold 4 rows × 4 float16 accumulators.
            let wide = (environment.context.device.info.nativeVectorWidths["float"] ?? 0) >= 16
            let automaticRows = batched ? (wide ? 4 : format == .q8_0 ? 1 : 2) : 4
            let rows = (batched ? rowsPerItemBatched : rowsPerItem) ?? automaticRows, tile = batched ? batchTile : 1
            let program = try environment.program(Self.family, defines: ["QBITS": bits, "ROWS": "\(rows)", "BT": "\(tile)"])
            let kernel = try program.kernel("qmatmul_cpu")
            try kernel.setArguments(arguments)
            return [LaunchStep(kernel: kernel, global: [(n + rows - 1) / rows, (m + tile - 1) / tile], local: [1, 1],
                               variant: "\(chosen.name) (cpu \(format.rawValue), \(rows) rows × \(tile))", label: what,
                               flops: flops, bytes: bytes)]
        case .cpuQuantizedX:
            let batched = m >= batchTileMinRows
            // 2 × 4 accumulators (+ 2 × 4 scale vectors) fit AVX-512's 32 registers; 4 × 4 fails to unroll.
            let rows = (batched ? rowsPerItemBatched : rowsPerItem) ?? (batched ? 2 : 6), tile = batched ? batchTile : 1
            let nb = k / Self.blockSize, nbp = format == .q8_0 ? nb : (nb + 3) / 4 * 4
            let valueBytes = m * nbp * 32 * (format == .q8_0 ? 2 : 1)
            let xsoff = (valueBytes + 63) / 64 * 64
            let scratch = try CLBuffer<UInt8>(context: environment.context,
                                              count: xsoff + m * nbp * 4 * (format == .q8_0 ? 1 : 2))
            let program = try environment.program(Self.family, defines: ["QBITS": bits, "ROWS": "\(rows)", "XT": "\(tile)"])
            let quantize = try program.kernel("quantize_x")
            try quantize.setArguments(x, scratch, Int32(xsoff), Int32(m), Int32(k))
            let kernel = try program.kernel("qmatmul_xq")
            try kernel.setArguments(scratch, Int32(xsoff), weights, qoff, bias ?? y, Int32(bias == nil ? 0 : 1), y,
                                    Int32(m), Int32(n), Int32(k))
            let groups = (n + rows - 1) / rows
            let rowTiles = (m + tile - 1) / tile
            let items = min(groups, max(1, workItems ?? automaticWorkItems(rowGroups: groups, rowTiles: rowTiles,
                                                                              weightBytes: Int(weightBytes))))
            // Both kernels stride over rows of x by the launch's height, so many rows need not mean
            // many work-groups: pocl runs each separately.
            let rowItems = min(rowTiles, max(1, maxItems / items))
            let quantizeColumns = min(nbp, quantizeItems)
            return [
                LaunchStep(kernel: quantize, global: [quantizeColumns, min(m, max(1, maxQuantizeItems / quantizeColumns))], local: [1, 1],
                           variant: "\(chosen.name) (quantize x for \(format.rawValue))", label: "quantize x [\(m), \(k)]",
                           flops: Double(m * k * 3), bytes: Double(4 * m * k + scratch.count)),
                LaunchStep(kernel: kernel, global: [items, rowItems], local: [1, 1],
                           variant: "\(chosen.name) (cpu x-quantized \(format.rawValue), \(rows) rows × \(tile), \(items) items)", label: what,
                           flops: flops, bytes: weightBytes * Double(rowTiles) + Double(scratch.count) + 4 * Double(m * n)),
            ]
        case .dequantizedPanels:
            let panelFloats = (n + 31) / 32 * 32 * k
            let panels = try CLBuffer<Float>(context: environment.context, count: panelFloats)
            let program = try environment.program(Self.family, defines: ["QBITS": bits])
            let dequantize = try program.kernel("dequantize_panels")
            try dequantize.setArguments(weights, qoff, panels, Int32(n), Int32(k))
            let product = try panelProduct.encodeFromPanels(a: x, panels: panels, c: y, m: m, n: n, k: k, bias: bias)
            return [
                LaunchStep(kernel: dequantize, global: [(n + 31) / 32, k / Self.blockSize], local: [1, 1],
                           variant: "\(chosen.name) (dequantize \(format.rawValue) into matmul panels)", label: "dequantize W of " + what,
                           flops: Double(n * k), bytes: weightBytes + 4 * Double(panelFloats)),
                LaunchStep(kernel: product.kernel, global: product.global, local: product.local,
                           variant: "\(chosen.name) (\(product.variant) on the panels)", label: what, flops: flops, bytes: product.bytes),
            ]
        case .gpu:
            let group = gpuGroupSize
            let program = try environment.program(Self.family, defines: ["QBITS": bits, "WG": "\(group)"])
            let kernel = try program.kernel("qmatmul_gpu")
            try kernel.setArguments(arguments)
            return [LaunchStep(kernel: kernel, global: [n * group, m], local: [group, 1],
                               variant: "\(chosen.name) (gpu \(format.rawValue), work-group per output)", label: what,
                               flops: flops, bytes: bytes)]
        }
    }

    /// Quantizes `elements` floats (a multiple of 32, blocks along the last axis) into `output` in the device layout.
    public func encodeQuantize(input: CLBuffer<Float>, output: CLBuffer<UInt8>, format: QuantFormat,
                               elements: Int) throws -> [LaunchStep] {
        let what = "quantize \(elements) values to \(format.rawValue)"
        guard format != .f16 else {
            throw CLError.sizeMismatch(operation: what, detail: "f16 weights are HalfMatmulFamily's, not a block format")
        }
        guard elements > 0, elements % Self.blockSize == 0 else {
            throw CLError.sizeMismatch(operation: what, detail: "the count must be a positive multiple of 32")
        }
        guard input.count >= elements, output.count >= Self.deviceByteCount(format: format, elements: elements) else {
            throw CLError.sizeMismatch(operation: what, detail: "input holds \(input.count) floats, output \(output.count) bytes; need \(elements) and \(Self.deviceByteCount(format: format, elements: elements))")
        }
        let blocks = elements / Self.blockSize
        let kernel = try environment.program(Self.family).kernel("quantize_" + format.rawValue)
        try kernel.setArguments(input, output, Int32(Self.quantOffset(blocks: blocks)), Int32(blocks))
        let local = environment.deviceClass == .cpu ? 1 : 64
        let items = environment.deviceClass == .cpu ? blocks : (blocks + 63) / 64 * 64
        return [LaunchStep(kernel: kernel, global: [items], local: [local], variant: "quant.quantize (\(format.rawValue))",
                           label: what, flops: Double(elements * 3),
                           bytes: Double(elements * 4 + Self.deviceByteCount(format: format, elements: elements)))]
    }
}
