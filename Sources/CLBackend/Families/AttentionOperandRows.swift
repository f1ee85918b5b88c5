import CLRuntime

/// Where the rows of one attention operand lie in its buffer: row t of problem bh (bh = b·heads + h)
/// starts at `offset + b·batchStride + h·headStride + t·rowStride` and its elements are contiguous.
/// A contiguous [BH, T, W] tensor is one head per problem with rows W apart; the heads of a fused
/// projection's [B, T, 3C] output, read in place, are `heads` problems per batch row, W apart, with
/// rows 3C apart (no permuted copy).
public struct AttentionOperandRows: Hashable, Sendable, CustomStringConvertible {
    public var offset: Int
    /// Problems per batch entry (1 for a contiguous [BH, T, W] tensor).
    public var heads: Int
    public var batchStride: Int
    public var headStride: Int
    public var rowStride: Int

    public init(offset: Int, heads: Int, batchStride: Int, headStride: Int, rowStride: Int) {
        self.offset = offset
        self.heads = heads
        self.batchStride = batchStride
        self.headStride = headStride
        self.rowStride = rowStride
    }

    /// A contiguous [BH, rows, width] tensor.
    public static func contiguous(rows: Int, width: Int) -> AttentionOperandRows {
        AttentionOperandRows(offset: 0, heads: 1, batchStride: rows * width, headStride: 0, rowStride: width)
    }

    /// Whether these are the rows of a contiguous [BH, rows, width] tensor.
    public func isContiguous(rows: Int, width: Int) -> Bool {
        offset == 0 && rowStride == width && (heads == 1 ? batchStride == rows * width : headStride == rows * width && batchStride == heads * rows * width)
    }

    /// Elements of the buffer the operand reaches (one past its last element), for `batchHeads`
    /// problems of `rows` rows of `width`; nil when the layout does not divide them into heads.
    public func extent(batchHeads: Int, rows: Int, width: Int) -> Int? {
        guard heads >= 1, batchHeads % heads == 0, offset >= 0, batchStride >= 0, headStride >= 0, rowStride >= 0 else {
            return nil
        }
        guard batchHeads > 0, rows > 0 else { return offset }
        return offset + (batchHeads / heads - 1) * batchStride + (heads - 1) * headStride + (rows - 1) * rowStride + width
    }

    /// The kernels' (layout, offset) argument pair: an `int4` (heads, batch, head and row strides) and an `int`.
    var kernelArguments: [KernelArgument] {
        [.int32x4(SIMD4(Int32(heads), Int32(batchStride), Int32(headStride), Int32(rowStride))), .int32(Int32(offset))]
    }

    public var description: String {
        "rows at \(offset) + b·\(batchStride) + h·\(headStride) + t·\(rowStride) (\(heads) heads)"
    }
}

/// The row layouts of attention's q, k and v.
public struct AttentionOperandLayouts: Hashable, Sendable {
    public var q: AttentionOperandRows
    public var k: AttentionOperandRows
    public var v: AttentionOperandRows

    public init(q: AttentionOperandRows, k: AttentionOperandRows, v: AttentionOperandRows) {
        self.q = q
        self.k = k
        self.v = v
    }

    /// q, k, v contiguous for `shape`.
    public static func contiguous(_ shape: AttentionShape) -> AttentionOperandLayouts {
        AttentionOperandLayouts(q: .contiguous(rows: shape.queries, width: shape.headDim),
                                k: .contiguous(rows: shape.keys, width: shape.headDim),
                                v: .contiguous(rows: shape.keys, width: shape.valueDim))
    }

    /// Whether all three are contiguous for `shape`.
    public func areContiguous(_ shape: AttentionShape) -> Bool {
        q.isContiguous(rows: shape.queries, width: shape.headDim) && k.isContiguous(rows: shape.keys, width: shape.headDim)
            && v.isContiguous(rows: shape.keys, width: shape.valueDim)
    }

    /// Throws unless each operand's rows fit its buffer; `operation` names the op in the error.
    func check(q qCount: Int, k kCount: Int, v vCount: Int, shape: AttentionShape, operation: String) throws {
        let operands = [("q", q, qCount, shape.queries, shape.headDim), ("k", k, kCount, shape.keys, shape.headDim),
                        ("v", v, vCount, shape.keys, shape.valueDim)]
        for (name, rows, count, length, width) in operands {
            guard let extent = rows.extent(batchHeads: shape.batchHeads, rows: length, width: width) else {
                throw CLError.sizeMismatch(operation: operation, detail: "\(name): \(rows) does not fit \(shape.batchHeads) problems")
            }
            guard extent <= count, extent <= Int(Int32.max) else {
                throw CLError.sizeMismatch(operation: operation, detail: "\(name) holds \(count) floats, \(rows) of shape \(shape) needs \(extent)")
            }
        }
    }
}
