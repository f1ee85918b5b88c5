/// Where quantized weights may appear in a graph.

extension Graph {
    /// A block-quantized variable needs whole blocks of 32 along its last axis (`f16`: any length).
    func validateQuantizedVariable(_ name: String, _ shape: Shape, _ dtype: DType) throws {
        guard let format = dtype.quantFormat else { return }
        guard shape.rank >= 1, let last = shape.dims.last, last % format.blockSize == 0 else {
            throw GraphError(op: "variable", shapes: [shape],
                             expected: "a last axis (K) that is a multiple of \(format.blockSize) for \(dtype.rawValue) blocks",
                             message: "variable \"\(name)\" of dtype \(dtype.rawValue) has shape \(shape)")
        }
    }
}

/// A quantized B is only read as the weight of `x · Wᵀ`: B `[N, K]` of rank 2, K a whole number of
/// the format's blocks (32 for `q8_0` / `q4_0`, any for `f16`), A f32 and not transposed.
func checkQuantizedMatmul(_ shapes: [Shape], _ dtypes: [DType], transposeA: Bool, transposeB: Bool,
                          fail: (String, String) -> GraphError) throws {
    let a = shapes[0], b = shapes[1], dtype = dtypes[1].rawValue
    let what = "cannot multiply \(a)\(transposeA ? "ᵀ" : "") by \(dtype) \(b)\(transposeB ? "ᵀ" : "")"
    guard transposeB, !transposeA else {
        throw fail(what, "a quantized B only as matmul(transposeB: true) (x·Wᵀ, the linear layout) with A not transposed")
    }
    guard b.rank == 2 else { throw fail(what, "a quantized B of rank 2 [N, K]") }
    let blockSize = dtypes[1].quantFormat?.blockSize ?? 1
    guard b[1] % blockSize == 0 else {
        throw fail(what, "K (\(b[1])) a multiple of \(blockSize) for \(dtype) blocks")
    }
    guard !dtypes[0].isQuantized else { throw fail(what, "an f32 A") }
}
