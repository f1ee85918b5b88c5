import CLRuntime

/// Decoding-time attention over a KV cache (family "kvcache", `CLKernels/kvcache.cl`): the cache
/// append (``encodeWriteRows``) and attention over the cache's filled prefix, optionally writing
/// the new rows in the same launch (``encodeAttention``).
public final class KVCacheFamily {
    public static let family = "kvcache"
    /// The family's variants (the header of `CLKernels/kvcache.cl` documents each).
    public enum Variant: Int, KernelVariant {
        case itemPerQuery = 1

        public static let family = KVCacheFamily.family
        public var summary: String {
            switch self {
            case .itemPerQuery: return "work-item per (head, sequence, query): optional row append, then two passes over rows 0...position"
            }
        }
    }

    /// Where a `[B, H, T, D]` operand's rows lie in a buffer: element `(b, h, t, e)` is at
    /// `offset + b·sequenceStride + h·headStride + t·queryStride + e` (the last axis contiguous).
    public struct Rows {
        public let buffer: CLBuffer<Float>
        public let offset: Int, sequenceStride: Int, headStride: Int, queryStride: Int

        public init(buffer: CLBuffer<Float>, offset: Int = 0, sequenceStride: Int, headStride: Int, queryStride: Int) {
            (self.buffer, self.offset, self.sequenceStride, self.headStride, self.queryStride)
                = (buffer, offset, sequenceStride, headStride, queryStride)
        }

        /// A contiguous `[B, H, T, D]` tensor.
        public static func contiguous(_ buffer: CLBuffer<Float>, heads: Int, queries: Int, dim: Int) -> Rows {
            Rows(buffer: buffer, sequenceStride: heads * queries * dim, headStride: queries * dim, queryStride: dim)
        }

        /// The furthest element read for `[sequences, heads, queries, dim]`, plus one.
        func extent(sequences: Int, heads: Int, queries: Int, dim: Int) -> Int {
            offset + (sequences - 1) * sequenceStride + (heads - 1) * headStride + (queries - 1) * queryStride + dim
        }
    }

    public let environment: FamilyEnvironment

    public init(environment: FamilyEnvironment) { self.environment = environment }

    /// `cache[b, h, positions[b], :] = rows[b, h, 0, :]`; a position outside `0..<length` skips
    /// sequence b and stores (b + 1) into `errorFlag[0]` by atomic max.
    public func encodeWriteRows(cache: CLBuffer<Float>, rows: Rows, positions: CLBuffer<Int32>, sequences: Int, heads: Int,
                                length: Int, dim: Int, errorFlag: CLBuffer<Int32>) throws -> [LaunchStep] {
        let family = Self.family
        try RowOps.checkSizes(family, [("sequences", sequences), ("heads", heads), ("length", length), ("dim", dim),
                                       ("cache elements", sequences * heads * length * dim)])
        try RowOps.checkBuffer(family, "cache", cache, sequences * heads * length * dim)
        try RowOps.checkBuffer(family, "rows", rows.buffer, rows.extent(sequences: sequences, heads: heads, queries: 1, dim: dim))
        try RowOps.checkBuffer(family, "positions", positions, sequences)
        let kernel = try environment.program(family).kernel("cache_write_rows")
        try kernel.setArguments(cache, rows.buffer, Int32(rows.offset), Int32(rows.sequenceStride), Int32(rows.headStride),
                                positions, Int32(heads), Int32(length), Int32(dim), errorFlag)
        return [LaunchStep(kernel: kernel, global: [heads, sequences], local: [1, 1], variant: "\(Variant.itemPerQuery.name) (write rows)",
                           label: "cacheWrite [\(sequences), \(heads), \(length), \(dim)]", flops: 0,
                           bytes: 8 * Double(sequences * heads * dim))]
    }

    /// `out[b, h, i, :]` = attention of query i of sequence b (at position `positions[b] − (queries − 1) + i`)
    /// over cache rows 0 through that position. With `newRows` (one query per sequence), each
    /// sequence's new key and value rows are first written into the cache at `positions[b]`.
    public func encodeAttention(q: Rows, keys: CLBuffer<Float>, values: CLBuffer<Float>, newRows: (keys: Rows, values: Rows)?,
                                positions: CLBuffer<Int32>, out: CLBuffer<Float>, sequences: Int, heads: Int, queries: Int,
                                length: Int, dim: Int, valueDim: Int, scale: Float, errorFlag: CLBuffer<Int32>) throws -> [LaunchStep] {
        let family = Self.family
        try RowOps.checkSizes(family, [("sequences", sequences), ("heads", heads), ("queries", queries), ("length", length),
                                       ("dim", dim), ("value dim", valueDim), ("cache elements", sequences * heads * length * max(dim, valueDim))])
        guard queries <= length, newRows == nil || queries == 1 else {
            throw CLError.sizeMismatch(operation: "cachedAttention", detail: "\(queries) queries over a cache of \(length) rows\(newRows == nil ? "" : " (writing rows needs one query)")")
        }
        try RowOps.checkBuffer(family, "q", q.buffer, q.extent(sequences: sequences, heads: heads, queries: queries, dim: dim))
        try RowOps.checkBuffer(family, "keys", keys, sequences * heads * length * dim)
        try RowOps.checkBuffer(family, "values", values, sequences * heads * length * valueDim)
        try RowOps.checkBuffer(family, "out", out, sequences * heads * queries * valueDim)
        try RowOps.checkBuffer(family, "positions", positions, sequences)
        if let newRows {
            try RowOps.checkBuffer(family, "new keys", newRows.keys.buffer, newRows.keys.extent(sequences: sequences, heads: heads, queries: 1, dim: dim))
            try RowOps.checkBuffer(family, "new values", newRows.values.buffer,
                                   newRows.values.extent(sequences: sequences, heads: heads, queries: 1, dim: valueDim))
        }
        let kernel = try environment.program(family, defines: ["D": "\(dim)", "DV": "\(valueDim)"]).kernel("cached_attention")
        let k = newRows?.keys ?? q, v = newRows?.values ?? q
        try kernel.setArguments(q.buffer, Int32(q.offset), Int32(q.sequenceStride), Int32(q.headStride), Int32(q.queryStride),
                                keys, values, Int32(newRows == nil ? 0 : 1),
                                k.buffer, Int32(k.offset), Int32(k.sequenceStride), Int32(k.headStride),
                                v.buffer, Int32(v.offset), Int32(v.sequenceStride), Int32(v.headStride),
                                positions, out, Int32(heads), Int32(queries), Int32(length), scale, errorFlag)
        // Costs at a full cache (the most a launch reads).
        let pairs = Double(sequences * heads * queries * length)
        return [LaunchStep(kernel: kernel, global: [heads, sequences, queries], local: [1, 1, 1],
                           variant: "\(Variant.itemPerQuery.name) (\(newRows == nil ? "" : "append rows, ")attend over the prefix)",
                           label: "cachedAttention [\(sequences), \(heads), \(queries), \(dim)] over a cache of \(length) rows",
                           flops: pairs * Double(4 * dim + 2 * valueDim),
                           bytes: 4 * pairs * Double(dim + valueDim) / Double(queries) + 4 * Double(sequences * heads * queries * (dim + valueDim)))]
    }
}
