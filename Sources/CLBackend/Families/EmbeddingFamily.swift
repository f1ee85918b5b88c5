import CLRuntime

/// Row gather from an embedding table (family "embedding", `CLKernels/embedding.cl`).
public final class EmbeddingFamily {
    public static let family = "embedding"
    /// The family's variants (the header of `CLKernels/embedding.cl` documents each).
    public enum Variant: Int, KernelVariant {
        case cpu = 1
        case gpu = 2

        public static let family = EmbeddingFamily.family
        public var summary: String {
            switch self {
            case .cpu: return "cpu: work-item per (contiguous chunk of 256 floats, group of rows), float16 copies, work-groups of 1x1; grad: work-item per block of table rows, one pass over the indices"
            case .gpu: return "gpu: work-item per element, coalesced along dim"
            }
        }
    }
    /// Floats copied by one CPU work-item (16 float16s = 1 KiB).
    static let cpuChunk = 256

    public let environment: FamilyEnvironment

    public init(environment: FamilyEnvironment) { self.environment = environment }

    /// output[i, :] = table[indices[i], :]; an index outside 0..<vocab writes a zero row and stores
    /// (i + 1) into errorFlag[0] by atomic max (so the largest bad position wins); errorFlag is one
    /// Int32 the backend zeroes before the run and reads after it.
    public func encode(table: CLBuffer<Float>, indices: CLBuffer<Int32>, output: CLBuffer<Float>, count: Int,
                       vocab: Int, dim: Int, errorFlag: CLBuffer<Int32>, variant: Variant? = nil) throws -> [LaunchStep] {
        let family = Self.family
        try RowOps.checkSizes(family, [("count", count), ("vocab", vocab), ("dim", dim), ("vocab*dim", vocab * dim),
                                       ("count*dim", count * dim), ("count+1", count + 1)])
        try RowOps.checkBuffer(family, "table", table, vocab * dim)
        try RowOps.checkBuffer(family, "indices", indices, count)
        try RowOps.checkBuffer(family, "output", output, count * dim)
        try RowOps.checkBuffer(family, "errorFlag", errorFlag, 1)
        let chosen = variant ?? environment.variant(cpu: Variant.cpu, gpu: .gpu)
        if count == 0 || dim == 0 { return [] }
        let program = try environment.program(family)
        let bytes = 4 * Double(count) + 8 * Double(count) * Double(dim)
        let label = "embedding [\(vocab), \(dim)] gather \(count)"
        let name = chosen.label
        if chosen == .cpu {
            let kernel = try program.kernel("embedding_cpu")
            let (global, perItem) = cpuGather(count: count, dim: dim)
            try kernel.setArguments(table, indices, output, Int32(count), Int32(vocab), Int32(dim), errorFlag,
                                    Int32(Self.cpuChunk), Int32(perItem))
            return [LaunchStep(kernel: kernel, global: global,
                               local: environment.deviceClass == .cpu ? [1, 1] : nil,
                               variant: name, label: label, flops: 0, bytes: bytes)]
        }
        let kernel = try program.kernel("embedding_gpu")
        try kernel.setArguments(table, indices, output, Int32(count), Int32(vocab), Int32(dim), errorFlag)
        return [LaunchStep(kernel: kernel, global: [dim, count], local: nil,
                           variant: name, label: label, flops: 0, bytes: bytes)]
    }

    /// The CPU gathers' launch: chunks of `cpuChunk` floats along a row × groups of `perItem` rows
    /// (one row per item when a row spans several chunks, else rows spread over the compute units).
    private func cpuGather(count: Int, dim: Int) -> (global: [Int], perItem: Int) {
        let chunks = RowOps.ceilDiv(dim, Self.cpuChunk)
        let perItem = chunks > 1 ? 1 : RowOps.cpuRowsPerItem(rows: count, cols: dim,
                                                             computeUnits: environment.context.device.info.computeUnits)
        return ([chunks, RowOps.ceilDiv(count, perItem)], perItem)
    }

    /// The sum of two gathers: output[i, :] = tableA[indicesA[i], :] + tableB[indicesB[i % countB], :]
    /// (`countB` divides `count`); each gather's bad indices read as zero rows and are flagged in
    /// its own flag as in ``encode``.
    public func encodeSum(tableA: CLBuffer<Float>, indicesA: CLBuffer<Int32>, vocabA: Int, flagA: CLBuffer<Int32>,
                          tableB: CLBuffer<Float>, indicesB: CLBuffer<Int32>, vocabB: Int, flagB: CLBuffer<Int32>, countB: Int,
                          output: CLBuffer<Float>, count: Int, dim: Int, variant: Variant? = nil) throws -> [LaunchStep] {
        let family = Self.family
        try RowOps.checkSizes(family, [("count", count), ("countB", countB), ("vocabA", vocabA), ("vocabB", vocabB), ("dim", dim),
                                       ("vocabA*dim", vocabA * dim), ("vocabB*dim", vocabB * dim), ("count*dim", count * dim),
                                       ("count+1", count + 1)])
        guard countB > 0, count % countB == 0 else {
            throw RowOpsError.invalidShape(family: family, detail: "\(countB) rows of the second gather do not divide \(count)")
        }
        try RowOps.checkBuffer(family, "tableA", tableA, vocabA * dim)
        try RowOps.checkBuffer(family, "tableB", tableB, vocabB * dim)
        try RowOps.checkBuffer(family, "indicesA", indicesA, count)
        try RowOps.checkBuffer(family, "indicesB", indicesB, countB)
        try RowOps.checkBuffer(family, "output", output, count * dim)
        try RowOps.checkBuffer(family, "flagA", flagA, 1)
        try RowOps.checkBuffer(family, "flagB", flagB, 1)
        let chosen = variant ?? environment.variant(cpu: Variant.cpu, gpu: .gpu)
        if count == 0 || dim == 0 { return [] }
        let program = try environment.program(family)
        let bytes = 4 * Double(count + countB) + 12 * Double(count) * Double(dim)
        let label = "embedding [\(vocabA), \(dim)] gather \(count) + [\(vocabB), \(dim)] gather \(countB)"
        let common: [any KernelArgumentConvertible] = [tableA, indicesA, tableB, indicesB, output, Int32(count), Int32(countB),
                                                       Int32(vocabA), Int32(vocabB), Int32(dim), flagA, flagB]
        if chosen == .cpu {
            let kernel = try program.kernel("embedding_sum_cpu")
            let (global, perItem) = cpuGather(count: count, dim: dim)
            try kernel.setArguments(common + [Int32(Self.cpuChunk), Int32(perItem)])
            return [LaunchStep(kernel: kernel, global: global,
                               local: environment.deviceClass == .cpu ? [1, 1] : nil,
                               variant: chosen.label + " (sum of two gathers)", label: label, flops: Double(count * dim), bytes: bytes)]
        }
        let kernel = try program.kernel("embedding_sum_gpu")
        try kernel.setArguments(common)
        return [LaunchStep(kernel: kernel, global: [dim, count], local: nil,
                           variant: chosen.label + " (sum of two gathers)", label: label, flops: Double(count * dim), bytes: bytes)]
    }

    /// The backward of the gather: gradTable[v, :] = Σ over i with indices[i] == v of gradOutput[i, :]
    /// (rows never indexed get 0), deterministic (each row summed by one work-item in index order).
    /// Bad indices are skipped and flagged as in ``encode``.
    public func encodeGrad(indices: CLBuffer<Int32>, gradOutput: CLBuffer<Float>, gradTable: CLBuffer<Float>, count: Int,
                           vocab: Int, dim: Int, errorFlag: CLBuffer<Int32>, variant: Variant? = nil) throws -> [LaunchStep] {
        let family = Self.family
        try RowOps.checkSizes(family, [("count", count), ("vocab", vocab), ("dim", dim), ("vocab*dim", vocab * dim),
                                       ("count*dim", count * dim), ("count+1", count + 1)])
        try RowOps.checkBuffer(family, "indices", indices, count)
        try RowOps.checkBuffer(family, "gradOutput", gradOutput, count * dim)
        try RowOps.checkBuffer(family, "gradTable", gradTable, vocab * dim)
        try RowOps.checkBuffer(family, "errorFlag", errorFlag, 1)
        let chosen = variant ?? environment.variant(cpu: Variant.cpu, gpu: .gpu)
        if vocab == 0 || dim == 0 { return [] }
        let program = try environment.program(family)
        let bytes = 4 * Double(count) * Double(vocab) + 4 * Double(count) * Double(dim) + 4 * Double(vocab) * Double(dim)
        let label = "embedding grad [\(vocab), \(dim)] from \(count) rows"
        let name = chosen.label
        if chosen == .cpu {
            // A block of table rows per item, about two items per core (each walks every index once).
            let items = min(vocab, 2 * max(1, environment.context.device.info.computeUnits))
            let rowsPerItem = RowOps.ceilDiv(vocab, items)
            let kernel = try program.kernel("embedding_grad_cpu")
            try kernel.setArguments(indices, gradOutput, gradTable, Int32(count), Int32(vocab), Int32(dim), errorFlag,
                                    Int32(rowsPerItem))
            return [LaunchStep(kernel: kernel, global: [RowOps.ceilDiv(vocab, rowsPerItem)], local: environment.cpuFriendlyLocal,
                               variant: name, label: label, flops: Double(count) * Double(dim), bytes: bytes)]
        }
        let kernel = try program.kernel("embedding_grad_gpu")
        try kernel.setArguments(indices, gradOutput, gradTable, Int32(count), Int32(vocab), Int32(dim), errorFlag)
        return [LaunchStep(kernel: kernel, global: [dim, vocab], local: nil,
                           variant: name, label: label, flops: Double(count) * Double(dim), bytes: bytes)]
    }
}
