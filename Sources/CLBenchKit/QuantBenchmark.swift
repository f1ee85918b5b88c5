import CLBackend
import CLRuntime
import Foundation
import TensorGraph

/// `clbench quant`: y[B, N] = x[B, K] · Wᵀ with W [N, K] in f32 (the library's matmul),
/// quantized (`q8_0.*`, `q4_0.*`: the `quant` kernel family's variants) or in half precision
/// (`f16.*`: the `f16` family's variants), for one batch size.
///
/// Each quantized variant is checked twice: against a float64 product with the dequantized
/// weights (must agree to float32 rounding, else the result is invalid with NMSE ∞) and then
/// against the float64 product with the original f32 weights — the NMSE and max |error| reported
/// are that quantization error, held to a per-format bound.
public enum QuantBenchmark {
    /// NMSE bound against the f32 product, per format (uniform weights give ~2e-5 and ~5e-3; f16
    /// rounds each weight to 11 significant bits, relative error ≤ 2⁻¹², NMSE ~1e-8).
    public static func bound(_ format: QuantFormat?) -> Double {
        switch format {
        case .none: return 1e-10
        case .q8_0: return 1e-3
        case .q4_0: return 3e-2
        case .f16: return 1e-6
        }
    }

    /// The block formats the `quant` family's variants run.
    static let blockFormats = QuantFormat.allCases.filter { $0 != .f16 }

    /// Variant names: `f32`, then `<format>.<quant variant>` for each asked variant, then `f16.<variant>`.
    public static func variantNames(quantVariants: [QuantMatmulFamily.Variant], halfVariants: [HalfMatmulFamily.Variant] = []) -> [String] {
        ["f32"] + blockFormats.flatMap { format in quantVariants.map { "\(format.rawValue).\($0.rawValue)" } }
            + halfVariants.map(\.name)
    }

    /// Tuning knobs of ``QuantMatmulFamily`` variant 1 (nil: the family's defaults).
    /// Each (rows, tile) pair adds its own variant, named `<format>.1 r<rows>t<tile>`, so settings
    /// are compared in the same interleaved rounds.
    public struct Tuning: Sendable {
        public var rowsPerItem: [Int]
        public var batchTile: [Int]
        /// Variant 3: work-items along N.
        public var workItems: [Int]
        public init(rowsPerItem: [Int] = [], batchTile: [Int] = [], workItems: [Int] = []) {
            self.rowsPerItem = rowsPerItem
            self.batchTile = batchTile
            self.workItems = workItems
        }
        var settings: [(rows: Int?, tile: Int?, items: Int?)] {
            let rows: [Int?] = rowsPerItem.isEmpty ? [nil] : rowsPerItem
            let tiles: [Int?] = batchTile.isEmpty ? [nil] : batchTile
            let items: [Int?] = workItems.isEmpty ? [nil] : workItems
            return rows.flatMap { r in tiles.flatMap { t in items.map { (r, t, $0) } } }
        }
    }

    /// The cases for one batch size. `halfVariants` are `f16` variants the device offers (see
    /// ``HalfMatmulFamily/unavailability(of:on:)``; one it does not is refused with that error).
    public static func cases(context: CLContext, rows n: Int, cols k: Int, batch m: Int, quantVariants: [QuantMatmulFamily.Variant],
                             halfVariants: [HalfMatmulFamily.Variant] = [], tuning: Tuning = Tuning(), sampledRows: Int = 8) throws -> [BenchmarkCase] {
        let environment = FamilyEnvironment(context: context)
        var random = SplitMix(seed: UInt64(n * 1_000_003 + k * 1009 + m))
        let xValues = (0..<(m * k)).map { _ in random.uniform() }
        let wValues = (0..<(n * k)).map { _ in random.uniform() }
        let x = try CLBuffer<Float>(context: context, values: xValues)
        let rows = m <= sampledRows ? Array(0..<m) : Array(Set((0..<sampledRows).map { $0 * m / sampledRows } + [m - 1])).sorted()
        let shape = MatmulShape(m: m, n: n, k: k, transposeB: true)
        let exact = MatmulBenchmark.referenceRows(rows, a: xValues, b: wValues, shape: shape)
        let flops = 2.0 * Double(m) * Double(n) * Double(k)
        let activationBytes = 4.0 * Double(m * k + m * n)
        let suffix = rows.count < m ? " (validated on \(rows.count) sampled rows)" : ""

        func download(_ y: CLBuffer<Float>) throws -> [Float] {
            var actual: [Float] = []
            for row in rows { actual += try y.download(offset: row * n, count: n) }
            return actual
        }

        var cases: [BenchmarkCase] = []
        do {
            let family = MatmulFamily(environment: environment)
            let w = try CLBuffer<Float>(context: context, values: wValues)
            let y = try CLBuffer<Float>(context: context, count: m * n)
            let steps = try family.encode(a: x, b: w, c: y, shape: shape)
            let weightBytes = 4.0 * Double(n * k)
            cases.append(BenchmarkCase(
                variant: "f32", description: "the library's f32 matmul (\(steps.map(\.variant).joined(separator: " + ")))" + suffix,
                flops: flops, bytes: weightBytes + activationBytes, roofline: .memory,
                extra: ["batch": Double(m), "rows": Double(n), "cols": Double(k), "weight_bytes": weightBytes],
                enqueue: { _ = family; return try steps.map { try $0.enqueue(on: context, event: true) } },
                validate: { ValidationOutcome(reference: exact, actual: try download(y), bound: bound(nil)) }))
        }
        for format in blockFormats {
            let llama = Quantization.quantize(wValues, format: format)
            let dequantized = Quantization.dequantize(llama, format: format)
            let reference = MatmulBenchmark.referenceRows(rows, a: xValues, b: dequantized, shape: shape)
            let device = QuantMatmulFamily.deviceLayout(llama, format: format)
            let w = try CLBuffer<UInt8>(context: context, values: device)
            let weightBytes = Double(device.count)
            for variant in quantVariants {
              for setting in tuning.settings {
                let family = QuantMatmulFamily(environment: environment)
                if let rows = setting.rows { family.rowsPerItem = rows; family.rowsPerItemBatched = rows }
                if let tile = setting.tile { family.batchTile = tile }
                if let items = setting.items { family.workItems = items }
                let tag = (setting.rows == nil && setting.tile == nil ? ""
                    : " r\(setting.rows.map(String.init) ?? "-")t\(setting.tile.map(String.init) ?? "-")")
                    + (setting.items.map { " i\($0)" } ?? "")
                let y = try CLBuffer<Float>(context: context, count: m * n)
                let steps = try family.encode(x: x, weights: w, y: y, format: format, m: m, n: n, k: k, variant: variant)
                cases.append(BenchmarkCase(
                    variant: "\(format.rawValue).\(variant.rawValue)" + tag,
                    description: steps.map(\.variant).joined(separator: " + ") + ": " + variant.summary + suffix,
                    flops: flops, bytes: weightBytes + activationBytes, roofline: .memory,
                    extra: ["batch": Double(m), "rows": Double(n), "cols": Double(k), "weight_bytes": weightBytes],
                    enqueue: { _ = family; return try steps.map { try $0.enqueue(on: context, event: true) } },
                    validate: {
                        let actual = try download(y)
                        // The kernel must compute exactly the dequantized product (up to float32 sums;
                        // variant 3 quantizes x, so up to its stated bound) …
                        let kernel = ValidationOutcome(reference: reference, actual: actual,
                                                       bound: variant == .cpuQuantizedX ? QuantMatmulFamily.variant3Bound(format) : 1e-9)
                        guard kernel.passed else { return ValidationOutcome(nmse: .infinity, maxAbsError: kernel.maxAbsError, bound: bound(format)) }
                        // … and the reported error is the quantization error against the f32 weights.
                        return ValidationOutcome(reference: exact, actual: actual, bound: bound(format))
                    }))
              }
            }
        }
        if !halfVariants.isEmpty {
            let halves = Quantization.halfBytes(wValues)
            let reference = MatmulBenchmark.referenceRows(rows, a: xValues, b: Quantization.floats(halfBytes: halves), shape: shape)
            let w = try CLBuffer<UInt8>(context: context, values: halves)
            let weightBytes = Double(halves.count)
            for variant in halfVariants {
              // Variant 1 takes the rows / tile settings too (work-items are variant 3 of quant's only).
              for setting in variant == .cpu ? tuning.settings.filter({ $0.items == nil }) : [(nil, nil, nil)] {
                let family = HalfMatmulFamily(environment: environment)
                if let rows = setting.rows { family.rowsPerItem = rows }
                if let tile = setting.tile { family.batchTile = tile }
                let tag = setting.rows == nil && setting.tile == nil ? ""
                    : " r\(setting.rows.map(String.init) ?? "-")t\(setting.tile.map(String.init) ?? "-")"
                let y = try CLBuffer<Float>(context: context, count: m * n)
                let steps = try family.encode(x: x, weights: w, y: y, m: m, n: n, k: k, variant: variant)
                let kernelBound = HalfMatmulFamily.halfArithmeticVariants.contains(variant) ? HalfMatmulFamily.halfProductBound : 1e-9
                cases.append(BenchmarkCase(
                    variant: variant.name + tag,
                    description: steps.map(\.variant).joined(separator: " + ") + ": " + variant.summary + suffix,
                    flops: flops, bytes: weightBytes + activationBytes, roofline: .memory,
                    extra: ["batch": Double(m), "rows": Double(n), "cols": Double(k), "weight_bytes": weightBytes],
                    enqueue: { _ = family; return try steps.map { try $0.enqueue(on: context, event: true) } },
                    validate: {
                        let actual = try download(y)
                        // The kernel computes the product of the half-rounded weights (f32 arithmetic,
                        // or half products within their bound) …
                        let kernel = ValidationOutcome(reference: reference, actual: actual, bound: kernelBound)
                        guard kernel.passed else { return ValidationOutcome(nmse: .infinity, maxAbsError: kernel.maxAbsError, bound: bound(.f16)) }
                        // … and the reported error is the rounding's against the f32 weights.
                        return ValidationOutcome(reference: exact, actual: actual, bound: bound(.f16))
                    }))
              }
            }
        }
        return cases
    }
}
