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
    public static let variants: [Int: String] = [
        1: "cpu: ROWS weight rows × BT rows of x per work-item, 16 fp16 scales converted per vector, blocks dequantized in registers (q4_0 by table permute on AVX-512) into float16 fma dot products, local size [1] (pocl/CPU)",
        2: "gpu: a work-group per output, items stride over blocks, local-memory tree reduction (GPU)",
        3: "cpu x-quantized: x quantized once per call (q8_0: int16, q4_0: int8 per 32-block + float scale), integer block dot products (AVX-512BW pmaddwd / pmaddubsw, portable OpenCL C elsewhere) scaled by d_w·d_x, ROWS weight rows per work-item (pocl/CPU; changes numerics: see nmseBound)",
    ]

    /// Variant 3's error against the dequantize-then-float product (NMSE, uniform inputs): x is
    /// rounded to int16 (q8_0, d = amax/32767) or int8 (q4_0, d = amax/127) per 32-block.
    /// Measured on random uniform x and weights (conformance, tests, `clbench quant`): q8_0 ≤ 2.6e-9 (a single-output test shape; ≤ 3.5e-10 in conformance);
    /// q4_0 ~1e-5 on wide outputs, up to 5.1e-4 on a single 32-term dot product (llama.cpp's q8_0
    /// activations have the same error).
    public static func variant3Bound(_ format: QuantFormat) -> Double { format == .q8_0 ? 1e-8 : 1e-3 }

    public let environment: FamilyEnvironment
    /// Variant 1: weight rows per work-item for GEMV (M < `batchTileMinRows`) and for batched
    /// products; `nil` picks per format. GEMV: 4 rows for both formats, measured with `clbench quant
    /// --rows-per-item 1,2,4,8` at 4096² on a loaded 2-core AVX-512 pocl machine once the scales were
    /// converted sixteen at a time (r4 fastest for q8_0 and q4_0 in every run; r1/r2 up to 2× slower,
    /// r8 ~10% slower). Batched, on AVX-512 (native float width 16, 32 vector registers): 4 rows × 4
    /// for both (`--batch 8 --rows-per-item 1,2,4 --batch-tile 4,8`: q8_0 r4t4 2.45× f32 vs the old
    /// r1t4 1.34×, q4_0 r4t4 2.99× vs r2t4 2.41×; r4t8 spills). Elsewhere as measured on AVX2:
    /// q8_0 1 row × 4, q4_0 2 × 4; more rows or a taller tile spill on 16 vector registers (float16
    /// accumulators take two each).
    public var rowsPerItem: Int?
    public var rowsPerItemBatched: Int?
    /// Variant 1: rows of x per work-item once M reaches `batchTileMinRows` (one dequantized block
    /// then feeds `batchTile` dot products).
    public var batchTile = 4
    public var batchTileMinRows = 2
    /// Variant 2: work-group size.
    public var gpuGroupSize = 64

    public init(environment: FamilyEnvironment) { self.environment = environment }

    /// The variant used when none is asked for.
    /// On CPUs: variant 3 (x quantized, integer dot products) for GEMV (M < `batchTileMinRows`),
    /// variant 1 for batched products; GPUs: variant 2.
    public func automaticVariant(m: Int) -> Int {
        environment.variant(for: Self.family, automatic: environment.deviceClass == .cpu ? (m < batchTileMinRows ? 3 : 1) : 2)
    }

    // MARK: Device layout

    /// Byte offset of the quants in the device layout (the scales, padded to 16 bytes).
    public static func quantOffset(blocks: Int) -> Int { (blocks * 2 + 15) / 16 * 16 }

    /// Bytes of the device layout for `elements` values (a multiple of 32).
    public static func deviceByteCount(format: QuantFormat, elements: Int) -> Int {
        let blocks = elements / QuantFormat.blockSize
        return quantOffset(blocks: blocks) + blocks * format.quantBytesPerBlock
    }

    /// llama.cpp's interleaved blocks → the device layout (scales first, then aligned quants).
    public static func deviceLayout(_ bytes: [UInt8], format: QuantFormat) -> [UInt8] {
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
    public static func llamaLayout(_ bytes: [UInt8], format: QuantFormat, elements: Int) -> [UInt8] {
        let blocks = elements / QuantFormat.blockSize
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
                       format: QuantFormat, m: Int, n: Int, k: Int, variant: Int? = nil) throws -> [LaunchStep] {
        let what = "quantized matmul [\(m), \(k)]x\(format.rawValue) [\(n), \(k)]ᵀ"
        guard m > 0, n > 0, k > 0, k % QuantFormat.blockSize == 0 else {
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
        let chosen = variant ?? automaticVariant(m: m)
        let qoff = Int32(Self.quantOffset(blocks: n * k / QuantFormat.blockSize))
        let bits = format == .q8_0 ? "8" : "4"
        let weightBytes = Double(Self.deviceByteCount(format: format, elements: n * k))
        let bytes = weightBytes + 4 * Double(m * k + m * n + (bias == nil ? 0 : n))
        let flops = 2 * Double(m) * Double(n) * Double(k)
        let arguments: [any KernelArgumentConvertible] = [x, weights, qoff, bias ?? y, Int32(bias == nil ? 0 : 1), y,
                                                         Int32(m), Int32(n), Int32(k)]
        switch chosen {
        case 1:
            let batched = m >= batchTileMinRows
            // 32 vector registers (AVX-512: native float width 16) hold 4 rows × 4 float16 accumulators.
            let wide = (environment.context.device.info.nativeVectorWidths["float"] ?? 0) >= 16
            let automaticRows = batched ? (wide ? 4 : format == .q8_0 ? 1 : 2) : 4
            let rows = (batched ? rowsPerItemBatched : rowsPerItem) ?? automaticRows, tile = batched ? batchTile : 1
            let program = try environment.program(Self.family, defines: ["QBITS": bits, "ROWS": "\(rows)", "BT": "\(tile)"])
            let kernel = try program.kernel("qmatmul_cpu")
            try kernel.setArguments(arguments)
            return [LaunchStep(kernel: kernel, global: [(n + rows - 1) / rows, (m + tile - 1) / tile], local: [1, 1],
                               variant: "quant.1 (cpu \(format.rawValue), \(rows) rows × \(tile))", label: what,
                               flops: flops, bytes: bytes)]
        case 3:
            let rows = rowsPerItem ?? 4
            let nb = k / QuantFormat.blockSize, nbp = format == .q8_0 ? nb : (nb + 1) / 2 * 2
            let valueBytes = m * nbp * 32 * (format == .q8_0 ? 2 : 1)
            let xsoff = (valueBytes + 63) / 64 * 64
            let scratch = try CLBuffer<UInt8>(context: environment.context,
                                              count: xsoff + m * nbp * 4 * (format == .q8_0 ? 1 : 2))
            let program = try environment.program(Self.family, defines: ["QBITS": bits, "ROWS": "\(rows)"])
            let quantize = try program.kernel("quantize_x")
            try quantize.setArguments(x, scratch, Int32(xsoff), Int32(m), Int32(k))
            let kernel = try program.kernel("qmatmul_xq")
            try kernel.setArguments(scratch, Int32(xsoff), weights, qoff, bias ?? y, Int32(bias == nil ? 0 : 1), y,
                                    Int32(m), Int32(n), Int32(k))
            return [
                LaunchStep(kernel: quantize, global: [nbp, m], local: [1, 1],
                           variant: "quant.3 (quantize x for \(format.rawValue))", label: "quantize x [\(m), \(k)]",
                           flops: Double(m * k * 3), bytes: Double(4 * m * k + scratch.count)),
                LaunchStep(kernel: kernel, global: [(n + rows - 1) / rows, m], local: [1, 1],
                           variant: "quant.3 (cpu x-quantized \(format.rawValue), \(rows) rows)", label: what,
                           flops: flops, bytes: weightBytes + Double(scratch.count) + 4 * Double(m * n)),
            ]
        case 2:
            let group = gpuGroupSize
            let program = try environment.program(Self.family, defines: ["QBITS": bits, "WG": "\(group)"])
            let kernel = try program.kernel("qmatmul_gpu")
            try kernel.setArguments(arguments)
            return [LaunchStep(kernel: kernel, global: [n * group, m], local: [group, 1],
                               variant: "quant.2 (gpu \(format.rawValue), work-group per output)", label: what,
                               flops: flops, bytes: bytes)]
        default:
            throw CLError.sizeMismatch(operation: what, detail: "no variant \(chosen); variants are \(Self.variants.keys.sorted())")
        }
    }

    /// Quantizes `elements` floats (a multiple of 32, blocks along the last axis) into `output` in the device layout.
    public func encodeQuantize(input: CLBuffer<Float>, output: CLBuffer<UInt8>, format: QuantFormat,
                               elements: Int) throws -> [LaunchStep] {
        let what = "quantize \(elements) values to \(format.rawValue)"
        guard elements > 0, elements % QuantFormat.blockSize == 0 else {
            throw CLError.sizeMismatch(operation: what, detail: "the count must be a positive multiple of 32")
        }
        guard input.count >= elements, output.count >= Self.deviceByteCount(format: format, elements: elements) else {
            throw CLError.sizeMismatch(operation: what, detail: "input holds \(input.count) floats, output \(output.count) bytes; need \(elements) and \(Self.deviceByteCount(format: format, elements: elements))")
        }
        let blocks = elements / QuantFormat.blockSize
        let kernel = try environment.program(Self.family).kernel("quantize_" + format.rawValue)
        try kernel.setArguments(input, output, Int32(Self.quantOffset(blocks: blocks)), Int32(blocks))
        let local = environment.deviceClass == .cpu ? 1 : 64
        let items = environment.deviceClass == .cpu ? blocks : (blocks + 63) / 64 * 64
        return [LaunchStep(kernel: kernel, global: [items], local: [local], variant: "quant.quantize (\(format.rawValue))",
                           label: what, flops: Double(elements * 3),
                           bytes: Double(elements * 4 + Self.deviceByteCount(format: format, elements: elements)))]
    }
}
