import CLRuntime

/// A few rows of x times Wᵀ with a row-norm prologue and the matmul epilogues in one launch
/// (family "rowproduct", `CLKernels/rowproduct.cl`): the decoding step's norm → linear
/// (→ GELU | + residual).
public final class RowProductFamily {
    public static let family = "rowproduct"
    /// The family's variants (the header of `CLKernels/rowproduct.cl` documents each).
    public enum Variant: Int, KernelVariant {
        case itemPerRowAndColumns = 1

        public static let family = RowProductFamily.family
        public var summary: String {
            switch self {
            case .itemPerRowAndColumns: return "work-item per (row, 16 columns): the row's norm statistics, then 16 float16 dot products along K"
            }
        }
    }
    /// The most rows of x the plan sends here; more rows amortise a separate norm and the tuned matmul.
    public static let maxRows = 16
    /// Columns of W per work-item (the kernel's RP_COLS): each item recomputes its row's norm
    /// statistics, so wider items repeat that less; 16 float16 accumulators still fit the registers.
    static let columnsPerItem = 16

    /// The row normalisation applied to x before the product.
    public enum Norm: Equatable, Sendable {
        case none
        case layerNorm(eps: Float)
        case rmsNorm(eps: Float)

        var code: Int { switch self { case .none: 0; case .layerNorm: 1; case .rmsNorm: 2 } }
        var eps: Float { switch self { case .none: 0; case .layerNorm(let eps), .rmsNorm(let eps): eps } }
    }

    public let environment: FamilyEnvironment

    public init(environment: FamilyEnvironment) { self.environment = environment }

    /// y = act(norm(x)·Wᵀ + bias) (or + aux for `.residual`); x [m, k], W [n, k], y and aux [m, n];
    /// gain (and, for layer norm, shift) have k elements. The gradient epilogues are not offered here.
    public func encode(x: CLBuffer<Float>, weight: CLBuffer<Float>, y: CLBuffer<Float>, m: Int, n: Int, k: Int,
                       norm: Norm, gain: CLBuffer<Float>?, shift: CLBuffer<Float>?, bias: CLBuffer<Float>?,
                       activation: MatmulActivation, aux: CLBuffer<Float>?) throws -> [LaunchStep] {
        let family = Self.family
        try RowOps.checkSizes(family, [("m", m), ("n", n), ("k", k), ("m*k", m * k), ("n*k", n * k), ("m*n", m * n)])
        guard m > 0, n > 0, k > 0, !activation.isGradient else {
            throw CLError.sizeMismatch(operation: "row product [\(m), \(k)]x[\(n), \(k)]ᵀ",
                                       detail: activation.isGradient ? "no \(activation) epilogue" : "sizes must be positive")
        }
        try RowOps.checkBuffer(family, "x", x, m * k)
        try RowOps.checkBuffer(family, "W", weight, n * k)
        try RowOps.checkBuffer(family, "y", y, m * n)
        if norm != .none {
            guard let gain else { throw CLError.sizeMismatch(operation: "row product", detail: "a norm needs its gain") }
            try RowOps.checkBuffer(family, "gain", gain, k)
        }
        if case .layerNorm = norm {
            guard let shift else { throw CLError.sizeMismatch(operation: "row product", detail: "layer norm needs its shift") }
            try RowOps.checkBuffer(family, "shift", shift, k)
        }
        if let bias { try RowOps.checkBuffer(family, "bias", bias, n) }
        if activation == .residual {
            guard let aux else { throw CLError.sizeMismatch(operation: "row product", detail: "a residual epilogue needs its addend") }
            try RowOps.checkBuffer(family, "aux", aux, m * n)
        }
        let kernel = try environment.program(family, defines: ["NORM": "\(norm.code)", "RP_COLS": "\(Self.columnsPerItem)"]).kernel("row_product")
        try kernel.setArguments(x, gain ?? x, shift ?? x, weight, bias ?? x, Int32(bias == nil ? 0 : 1), aux ?? x, y,
                                Int32(m), Int32(n), Int32(k), norm.eps, activation.rawValue)
        let normName = switch norm { case .none: ""; case .layerNorm: "layernorm → "; case .rmsNorm: "rmsnorm → " }
        let columns = environment.groupedItems((n + Self.columnsPerItem - 1) / Self.columnsPerItem)
        return [LaunchStep(kernel: kernel, global: [columns.global, m], local: columns.local.map { [$0, 1] }, variant: "\(Variant.itemPerRowAndColumns.name) (norm prologue, \(Self.columnsPerItem) columns per item)",
                           label: "\(normName)[\(m), \(k)]x[\(n), \(k)]ᵀ" + (bias == nil ? "" : " + bias")
                               + (activation == .none ? "" : " → \(activation)"),
                           flops: 2 * Double(m * n * k), bytes: 4 * Double(m * k + n * k + m * n))]
    }
}
