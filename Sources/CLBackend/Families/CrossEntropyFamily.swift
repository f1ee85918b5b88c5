import CLRuntime

/// Mean cross-entropy loss of logits against class targets (family "loss", `CLKernels/loss.cl`).
///
/// Scratch: each `encode` allocates a buffer of 2·rows floats (per-row losses, then per-row 1/0
/// weights), kept alive by the kernels bound to it. Steps from different `encode` calls use
/// different scratch buffers.
public final class CrossEntropyFamily {
    public static let family = "loss"
    /// The family's variants (the header of `CLKernels/loss.cl` documents each).
    public enum Variant: Int, KernelVariant {
        case cpu = 1
        case gpu = 2

        public static let family = CrossEntropyFamily.family
        public var summary: String {
            switch self {
            case .cpu: return "cpu: work-item per chunk of rows (float16 max and exp-sum), then one work-item sums the per-row losses; loss and grad together: one launch, the last work-item sums"
            case .gpu: return "gpu: work-group per row with local-memory trees, then one work-group tree-sums the per-row losses"
            }
        }
    }

    public let environment: FamilyEnvironment
    public init(environment: FamilyEnvironment) { self.environment = environment }

    /// loss[0] = mean over rows with targets[r] != ignoreIndex of (logsumexp(logits[r]) − logits[r, targets[r]]);
    /// 0 when every row is ignored. A target outside 0..<classes (and not ignoreIndex) sets errorFlag[0] = r + 1
    /// (atomic max: the largest such row wins) and that row does not count in the mean.
    public func encode(logits: CLBuffer<Float>, targets: CLBuffer<Int32>, loss: CLBuffer<Float>, rows: Int, classes: Int,
                       ignoreIndex: Int32?, errorFlag: CLBuffer<Int32>, variant: Variant? = nil) throws -> [LaunchStep] {
        let family = Self.family
        try RowOps.checkSizes(family, [("rows", rows), ("classes", classes), ("rows*classes", rows * classes),
                                       ("2*rows", 2 * rows), ("rows+1", rows + 1)])
        if rows > 0 && classes == 0 {
            throw RowOpsError.invalidShape(family: family, detail: "cross-entropy needs at least one class")
        }
        try RowOps.checkBuffer(family, "logits", logits, rows * classes)
        try RowOps.checkBuffer(family, "targets", targets, rows)
        try RowOps.checkBuffer(family, "loss", loss, 1)
        try RowOps.checkBuffer(family, "errorFlag", errorFlag, 1)
        let chosen = variant ?? environment.variant(cpu: Variant.cpu, gpu: .gpu)
        let program = try environment.program(family, extraOptions: RowOps.buildOptions)
        let scratch = try CLBuffer<Float>(context: environment.context, count: max(1, 2 * rows))

        let elements = Double(rows) * Double(classes)
        let rowsLabel = "cross-entropy rows [\(rows), \(classes)]" + (ignoreIndex.map { " ignore \($0)" } ?? "")
        let finishLabel = "cross-entropy mean of \(rows) rows"
        // max (1) + subtract (1) + exp (counted 1) + sum (1) per logit; logits, targets in, 2 floats per row out.
        let rowsFlops = 4 * elements, rowsBytes = 4 * elements + 12 * Double(rows)
        let finishFlops = 2 * Double(rows) + 1, finishBytes = 8 * Double(rows) + 4
        let name = chosen.label
        let ignore = ignoreIndex ?? 0, useIgnore: Int32 = ignoreIndex == nil ? 0 : 1

        var steps: [LaunchStep] = []
        if chosen == .cpu {
            if rows > 0 {
                let kernel = try program.kernel("ce_rows_cpu")
                let perItem = RowOps.cpuRowsPerItem(rows: rows, cols: classes, computeUnits: environment.context.device.info.computeUnits)
                try kernel.setArguments(logits, targets, scratch, errorFlag, Int32(rows), Int32(classes), ignore, useIgnore,
                                        Int32(perItem))
                steps.append(LaunchStep(kernel: kernel, global: [RowOps.ceilDiv(rows, perItem)], local: environment.cpuFriendlyLocal,
                                        variant: name, label: rowsLabel, flops: rowsFlops, bytes: rowsBytes))
            }
            let finish = try program.kernel("ce_finish_cpu")
            try finish.setArguments(scratch, loss, Int32(rows))
            steps.append(LaunchStep(kernel: finish, global: [1], local: [1],
                                    variant: name, label: finishLabel, flops: finishFlops, bytes: finishBytes))
        } else {
            if rows > 0 {
                let kernel = try program.kernel("ce_rows_wg")
                let group = RowOps.groupSize(for: kernel, cols: classes)
                try kernel.setArguments(logits, targets, scratch, errorFlag, Int32(rows), Int32(classes), ignore, useIgnore,
                                        KernelArgument.localBytes(group * 4))
                steps.append(LaunchStep(kernel: kernel, global: [rows * group], local: [group],
                                        variant: name, label: rowsLabel, flops: rowsFlops, bytes: rowsBytes))
            }
            let finish = try program.kernel("ce_finish_wg")
            let group = RowOps.groupSize(for: finish, cols: max(rows, 1))
            try finish.setArguments(scratch, loss, Int32(rows), KernelArgument.localBytes(group * 4),
                                    KernelArgument.localBytes(group * 4))
            steps.append(LaunchStep(kernel: finish, global: [group], local: [group],
                                    variant: name, label: finishLabel, flops: finishFlops, bytes: finishBytes))
        }
        return steps
    }

    /// The backward of ``encode`` fused with its softmax: grad[r, :] = (softmax(logits[r]) − onehot(targets[r]))
    /// · upstream[0] / n over the n counted rows; ignored and bad rows get 0 (bad targets flagged as in `encode`).
    public func encodeGrad(logits: CLBuffer<Float>, targets: CLBuffer<Int32>, upstream: CLBuffer<Float>, grad: CLBuffer<Float>,
                           rows: Int, classes: Int, ignoreIndex: Int32?, errorFlag: CLBuffer<Int32>,
                           variant: Variant? = nil) throws -> [LaunchStep] {
        let family = Self.family
        try RowOps.checkSizes(family, [("rows", rows), ("classes", classes), ("rows*classes", rows * classes), ("rows+1", rows + 1)])
        try RowOps.checkBuffer(family, "logits", logits, rows * classes)
        try RowOps.checkBuffer(family, "targets", targets, rows)
        try RowOps.checkBuffer(family, "upstream", upstream, 1)
        try RowOps.checkBuffer(family, "grad", grad, rows * classes)
        try RowOps.checkBuffer(family, "errorFlag", errorFlag, 1)
        let chosen = variant ?? environment.variant(cpu: Variant.cpu, gpu: .gpu)
        guard rows > 0, classes > 0 else { return [] }
        let program = try environment.program(family, extraOptions: RowOps.buildOptions)
        let elements = Double(rows) * Double(classes)
        let label = "cross-entropy grad [\(rows), \(classes)]" + (ignoreIndex.map { " ignore \($0)" } ?? "")
        let name = chosen.label
        let ignore = ignoreIndex ?? 0, useIgnore: Int32 = ignoreIndex == nil ? 0 : 1
        if chosen == .cpu {
            let kernel = try program.kernel("ce_grad_cpu")
            let perItem = RowOps.cpuRowsPerItem(rows: rows, cols: classes, computeUnits: environment.context.device.info.computeUnits)
            try kernel.setArguments(logits, targets, upstream, grad, errorFlag, Int32(rows), Int32(classes), ignore, useIgnore,
                                    Int32(perItem))
            return [LaunchStep(kernel: kernel, global: [RowOps.ceilDiv(rows, perItem)], local: environment.cpuFriendlyLocal,
                               variant: name, label: label, flops: 6 * elements, bytes: 8 * elements + 4 * Double(rows))]
        }
        let kernel = try program.kernel("ce_grad_wg")
        let group = RowOps.groupSize(for: kernel, cols: max(classes, rows))
        try kernel.setArguments(logits, targets, upstream, grad, errorFlag, Int32(rows), Int32(classes), ignore, useIgnore,
                                KernelArgument.localBytes(group * 4))
        return [LaunchStep(kernel: kernel, global: [rows * group], local: [group],
                           variant: name, label: label, flops: 6 * elements, bytes: 8 * elements + 4 * Double(rows))]
    }

    /// The CPU form of ``encode`` and ``encodeGrad`` together, for a plan that computes both from the
    /// same logits and targets: one launch writes `loss`, `grad` and, when given, `columnSums[j] =
    /// Σ_r grad[r, j]` (the bias gradient of the layer that produced the logits). Same semantics
    /// as the two separate calls, bad targets flagged once. Scratch: 2·rows floats and a counter,
    /// kept alive by the kernel. Needs rows > 0 and classes > 0 (callers use the separate forms otherwise).
    public func encodeLossAndGrad(logits: CLBuffer<Float>, targets: CLBuffer<Int32>, upstream: CLBuffer<Float>,
                                  loss: CLBuffer<Float>, grad: CLBuffer<Float>, columnSums: CLBuffer<Float>?,
                                  rows: Int, classes: Int, ignoreIndex: Int32?, errorFlag: CLBuffer<Int32>) throws -> [LaunchStep] {
        let family = Self.family
        try RowOps.checkSizes(family, [("rows", rows), ("classes", classes), ("rows*classes", rows * classes),
                                       ("2*rows", 2 * rows), ("rows+1", rows + 1)])
        guard rows > 0, classes > 0 else {
            throw RowOpsError.invalidShape(family: family, detail: "the fused loss and gradient needs rows and classes")
        }
        try RowOps.checkBuffer(family, "logits", logits, rows * classes)
        try RowOps.checkBuffer(family, "targets", targets, rows)
        try RowOps.checkBuffer(family, "upstream", upstream, 1)
        try RowOps.checkBuffer(family, "loss", loss, 1)
        try RowOps.checkBuffer(family, "grad", grad, rows * classes)
        if let columnSums { try RowOps.checkBuffer(family, "columnSums", columnSums, classes) }
        try RowOps.checkBuffer(family, "errorFlag", errorFlag, 1)
        let program = try environment.program(family, extraOptions: RowOps.buildOptions)
        let scratch = try CLBuffer<Float>(context: environment.context, count: 2 * rows)
        let done = try CLBuffer<Int32>(context: environment.context, count: 1)
        try done.fill(0)
        let kernel = try program.kernel("ce_loss_grad_cpu")
        // Fatter items than the separate kernels' (about four per core): each item also counts the
        // rows, and pocl pays per work-group.
        let computeUnits = environment.context.device.info.computeUnits
        let perItem = max(RowOps.cpuRowsPerItem(rows: rows, cols: classes, computeUnits: computeUnits),
                          RowOps.ceilDiv(rows, 4 * max(1, computeUnits)))
        let ignore = ignoreIndex ?? 0, useIgnore: Int32 = ignoreIndex == nil ? 0 : 1
        try kernel.setArguments(logits, targets, upstream, grad, scratch, loss, columnSums ?? grad,
                                Int32(columnSums == nil ? 0 : 1), done, errorFlag, Int32(rows), Int32(classes), ignore,
                                useIgnore, Int32(perItem))
        let elements = Double(rows) * Double(classes)
        let label = "cross-entropy loss + grad [\(rows), \(classes)]" + (ignoreIndex.map { " ignore \($0)" } ?? "")
            + (columnSums == nil ? "" : " + column sums")
        return [LaunchStep(kernel: kernel, global: [RowOps.ceilDiv(rows, perItem)], local: environment.cpuFriendlyLocal,
                           variant: "\(family).1 (cpu, loss and grad fused)", label: label,
                           flops: 8 * elements + (columnSums == nil ? 0 : elements),
                           bytes: 8 * elements + 12 * Double(rows) + (columnSums == nil ? 0 : 4 * elements))]
    }
}
