/// Shape and dtype inference for every op.

/// Infers the result shape and dtype of `op` applied to operands of the given shapes and dtypes.
///
/// Returns the op with its axes normalised to `0..<rank` (and a reshape's `-1` resolved), the
/// result shape and the result dtype.
/// - Throws: ``GraphError`` naming the op and the operand shapes when they do not fit.
public func inferShape(_ op: Op, _ shapes: [Shape], _ dtypes: [DType]) throws -> (op: Op, shape: Shape, dtype: DType) {
    let name = op.name
    func fail(_ message: String, _ expected: String) -> GraphError {
        GraphError(op: name, shapes: shapes, expected: expected, message: message)
    }
    func arity(_ n: Int) throws {
        guard shapes.count == n else {
            throw fail("got \(shapes.count) operands \(list(shapes))", "exactly \(n) operand\(n == 1 ? "" : "s")")
        }
    }
    func requireF32(_ indices: [Int]) throws {
        for i in indices where dtypes[i] != .f32 {
            let why = dtypes[i].isQuantized ? "quantized weights are only B of matmul(transposeB: true) / linear"
                : "i32 is only for embedding indices and crossEntropy targets"
            throw fail("operand \(i) \(shapes[i]) has dtype \(dtypes[i].rawValue)", "f32 operands (\(why))")
        }
    }
    func axis(_ a: Int, _ s: Shape) throws -> Int {
        guard let n = s.normalizedAxis(a) else {
            throw fail("axis \(a) is out of range for \(s)", "an axis in \(-s.rank)..<\(s.rank)")
        }
        return n
    }

    switch op {
    case .input, .variable, .constant:
        throw fail("cannot apply a leaf op", "use Graph.input, Graph.variable or Graph.constant")

    case .unary, .powScalar:
        try arity(1); try requireF32([0])
        return (op, shapes[0], .f32)

    case .binary, .compare:
        try arity(2); try requireF32([0, 1])
        guard let s = broadcastShape(shapes[0], shapes[1]) else {
            throw fail("cannot broadcast \(shapes[0]) with \(shapes[1])", "trailing dimensions equal or 1 (\(firstMismatch(shapes[0], shapes[1])))")
        }
        return (op, s, .f32)

    case .select:
        try arity(3); try requireF32([0, 1, 2])
        guard let s = broadcastShape(shapes) else {
            throw fail("cannot broadcast \(shapes[0]), \(shapes[1]) and \(shapes[2])", "trailing dimensions equal or 1")
        }
        return (op, s, .f32)

    case .matmul(let tA, let tB):
        try arity(2)
        if dtypes[1].isQuantized { try checkQuantizedMatmul(shapes, dtypes, transposeA: tA, transposeB: tB, fail: fail) }
        try requireF32(dtypes[1].isQuantized ? [0] : [0, 1])
        let a = shapes[0], b = shapes[1]
        let what = "cannot multiply \(a)\(tA ? "ᵀ" : "") by \(b)\(tB ? "ᵀ" : "")"
        guard a.rank >= 2, b.rank >= 2 else { throw fail(what, "both operands of rank 2 or more") }
        let m = tA ? a[-1] : a[-2], ka = tA ? a[-2] : a[-1]
        let kb = tB ? b[-1] : b[-2], n = tB ? b[-2] : b[-1]
        guard ka == kb else { throw fail(what, "inner dimensions must match (\(ka) vs \(kb))") }
        let batchA = Array(a.dims.dropLast(2)), batchB = Array(b.dims.dropLast(2))
        guard b.rank == 2 || batchA == batchB else {
            throw fail(what, "equal batch dimensions, or B of rank 2 (\(Shape(batchA)) vs \(Shape(batchB)))")
        }
        return (op, Shape(batchA + [m, n]), .f32)

    case .reduce(let r, let ax, let keep):
        try arity(1); try requireF32([0])
        guard shapes[0].rank >= 1 else { throw fail("cannot reduce scalar \(shapes[0])", "an operand of rank 1 or more") }
        let a = try axis(ax, shapes[0])
        var dims = shapes[0].dims
        if keep { dims[a] = 1 } else { dims.remove(at: a) }
        return (.reduce(r, axis: a, keepDims: keep), Shape(dims), .f32)

    case .softmax(let ax), .logSoftmax(let ax):
        try arity(1); try requireF32([0])
        guard shapes[0].rank >= 1 else { throw fail("cannot normalise scalar \(shapes[0])", "an operand of rank 1 or more") }
        let a = try axis(ax, shapes[0])
        if case .softmax = op { return (.softmax(axis: a), shapes[0], .f32) }
        return (.logSoftmax(axis: a), shapes[0], .f32)

    case .layerNorm, .rmsNorm:
        let isLayer: Bool
        if case .layerNorm = op { isLayer = true } else { isLayer = false }
        try arity(isLayer ? 3 : 2); try requireF32(Array(0..<shapes.count))
        let x = shapes[0]
        guard x.rank >= 1 else { throw fail("cannot normalise scalar \(x)", "x of rank 1 or more") }
        let c = x[-1]
        for i in 1..<shapes.count where shapes[i] != Shape([c]) {
            throw fail("cannot normalise \(x) with \(i == 1 ? "gain" : "bias") \(shapes[i])", "\(i == 1 ? "gain" : "bias") of shape [\(c)] (the last axis of x)")
        }
        return (op, x, .f32)

    case .proportionsNorm(let eps, let compression):
        guard shapes.count == 2 || shapes.count == 3 else {
            throw fail("got \(shapes.count) operands \(list(shapes))", "x and gain, and optionally shift (2 or 3 operands)")
        }
        try requireF32(Array(0..<shapes.count))
        guard eps >= 0, eps.isFinite else { throw fail("eps \(eps)", "a finite eps >= 0") }
        guard compression > 0, compression.isFinite else { throw fail("compression \(compression)", "a finite compression > 0") }
        let x = shapes[0]
        guard x.rank >= 1 else { throw fail("cannot normalise scalar \(x)", "x of rank 1 or more") }
        let c = x[-1]
        for i in 1..<shapes.count where shapes[i] != Shape([c]) {
            throw fail("cannot normalise \(x) with \(i == 1 ? "gain" : "shift") \(shapes[i])", "\(i == 1 ? "gain" : "shift") of shape [\(c)] (the last axis of x)")
        }
        return (op, x, .f32)

    case .embedding:
        try arity(2)
        let table = shapes[0], idx = shapes[1]
        guard dtypes[0] == .f32, dtypes[1] == .i32 else {
            throw fail("cannot look up \(idx) (\(dtypes[1].rawValue)) in \(table) (\(dtypes[0].rawValue))", "an f32 table and i32 indices")
        }
        guard table.rank == 2 else { throw fail("cannot look up \(idx) in \(table)", "a table of rank 2 [V, C]") }
        return (op, Shape(idx.dims + [table[1]]), .f32)

    case .reshape(let target):
        try arity(1)
        let s = shapes[0]
        let negatives = target.dims.filter { $0 == -1 }.count
        guard negatives <= 1, target.dims.allSatisfy({ $0 > 0 || $0 == -1 }) else {
            throw fail("cannot reshape \(s) to \(target)", "positive dimensions and at most one -1")
        }
        var dims = target.dims
        if let i = dims.firstIndex(of: -1) {
            let known = dims.filter { $0 != -1 }.reduce(1, *)
            guard s.count % known == 0 else {
                throw fail("cannot reshape \(s) to \(target)", "element counts must match (\(s.count) is not a multiple of \(known))")
            }
            dims[i] = s.count / known
        }
        let resolved = Shape(dims)
        guard resolved.count == s.count else {
            throw fail("cannot reshape \(s) to \(target)", "element counts must match (\(s.count) vs \(resolved.count))")
        }
        // Reshape moves no data, so i32 index tensors may be reshaped (e.g. targets [B, T] -> [B*T]).
        if dtypes[0].isQuantized { try requireF32([0]) }
        return (.reshape(resolved), resolved, dtypes[0])

    case .permute(let axes):
        try arity(1); try requireF32([0])
        let s = shapes[0]
        let norm = axes.map { $0 < 0 ? $0 + s.rank : $0 }
        guard norm.count == s.rank, norm.sorted() == Array(0..<s.rank) else {
            throw fail("cannot permute \(s) by \(axes)", "a permutation of 0..<\(s.rank)")
        }
        return (.permute(norm), Shape(norm.map { s.dims[$0] }), .f32)

    case .slice(let ax, let start, let end):
        try arity(1); try requireF32([0])
        let s = shapes[0]
        guard s.rank >= 1 else { throw fail("cannot slice scalar \(s)", "an operand of rank 1 or more") }
        let a = try axis(ax, s)
        guard start >= 0, start < end, end <= s.dims[a] else {
            throw fail("cannot slice \(s) along axis \(a) with \(start)..<\(end)", "0 <= start < end <= \(s.dims[a])")
        }
        var dims = s.dims
        dims[a] = end - start
        return (.slice(axis: a, start: start, end: end), Shape(dims), .f32)

    case .concat(let ax):
        guard !shapes.isEmpty else { throw fail("nothing to concatenate", "at least one operand") }
        try requireF32(Array(0..<shapes.count))
        let first = shapes[0]
        guard first.rank >= 1 else { throw fail("cannot concatenate scalars \(list(shapes))", "operands of rank 1 or more") }
        let a = try axis(ax, first)
        var total = 0
        for s in shapes {
            var x = s.dims, y = first.dims
            guard s.rank == first.rank else {
                throw fail("cannot concatenate \(list(shapes)) along axis \(a)", "equal ranks (\(first.rank) vs \(s.rank))")
            }
            x[a] = 0; y[a] = 0
            guard x == y else {
                throw fail("cannot concatenate \(list(shapes)) along axis \(a)", "equal dimensions except on axis \(a)")
            }
            total += s.dims[a]
        }
        var dims = first.dims
        dims[a] = total
        return (.concat(axis: a), Shape(dims), .f32)

    case .crossEntropy:
        try arity(2)
        let logits = shapes[0], targets = shapes[1]
        guard dtypes[0] == .f32, dtypes[1] == .i32 else {
            throw fail("cannot score logits \(logits) (\(dtypes[0].rawValue)) against targets \(targets) (\(dtypes[1].rawValue))", "f32 logits and i32 targets")
        }
        guard logits.rank == 2, targets.rank == 1, targets[0] == logits[0] else {
            throw fail("cannot score logits \(logits) against targets \(targets)", "logits [N, C] and targets [N]")
        }
        return (op, [], .f32)

    case .embeddingGrad(let vocabularySize):
        try arity(2)
        let indices = shapes[0], gradient = shapes[1]
        guard dtypes[0] == .i32, dtypes[1] == .f32 else {
            throw fail("indices \(indices) are \(dtypes[0].rawValue), gradient \(gradient) is \(dtypes[1].rawValue)", "i32 indices and an f32 gradient")
        }
        guard vocabularySize > 0 else { throw fail("vocabulary size \(vocabularySize)", "a positive vocabulary size") }
        guard gradient.rank == indices.rank + 1, Array(gradient.dims.dropLast()) == indices.dims else {
            throw fail("gradient \(gradient) does not match indices \(indices)", "gradient [..., C] with the indices' shape [...] before C")
        }
        return (op, [vocabularySize, gradient[-1]], .f32)

    case .dropoutMask(let shape, let keep, _):
        try arity(1)
        guard dtypes[0] == .i32, shapes[0] == [1] else {
            throw fail("seed \(shapes[0]) is \(dtypes[0].rawValue)", "an i32 seed of shape [1]")
        }
        guard keep > 0, keep <= 1 else { throw fail("keep probability \(keep)", "a keep probability in (0, 1]") }
        guard shape.dims.allSatisfy({ $0 > 0 }) else { throw fail("mask shape \(shape)", "a mask shape of positive sizes") }
        return (op, shape, .f32)

    case .argmax:
        try arity(1); try requireF32([0])
        guard shapes[0].rank >= 1, shapes[0][-1] >= 1 else {
            throw fail("cannot take the arg-max of \(shapes[0])", "an operand of rank 1 or more with a non-empty last axis")
        }
        return (op, Shape(Array(shapes[0].dims.dropLast())), .i32)

    case .crossEntropyGrad:
        try arity(3)
        let logits = shapes[0], targets = shapes[1], upstream = shapes[2]
        guard dtypes[0] == .f32, dtypes[1] == .i32, dtypes[2] == .f32 else {
            throw fail("dtypes \(dtypes.map(\.rawValue))", "f32 logits, i32 targets and an f32 upstream gradient")
        }
        guard logits.rank == 2, targets.rank == 1, targets[0] == logits[0], upstream.count == 1 else {
            throw fail("cannot differentiate logits \(logits) against targets \(targets) with upstream \(upstream)",
                       "logits [N, C], targets [N] and a scalar upstream gradient")
        }
        return (op, logits, .f32)

    case .attention:
        try arity(3); try requireF32([0, 1, 2])
        let q = shapes[0], k = shapes[1], v = shapes[2]
        let what = "cannot attend with q \(q), k \(k), v \(v)"
        guard q.rank >= 2, k.rank == q.rank, v.rank == q.rank else { throw fail(what, "q, k, v of equal rank 2 or more") }
        let batch = Array(q.dims.dropLast(2))
        guard Array(k.dims.dropLast(2)) == batch, Array(v.dims.dropLast(2)) == batch else {
            throw fail(what, "equal batch dimensions")
        }
        guard q[-1] == k[-1] else { throw fail(what, "q and k head sizes must match (\(q[-1]) vs \(k[-1]))") }
        guard k[-2] == v[-2] else { throw fail(what, "k and v lengths must match (\(k[-2]) vs \(v[-2]))") }
        return (op, Shape(batch + [q[-2], v[-1]]), .f32)

    case .cacheWrite:
        try arity(3); try requireF32([0, 1])
        let cache = shapes[0], rows = shapes[1], positions = shapes[2]
        guard dtypes[2] == .i32 else { throw fail("positions have dtype \(dtypes[2].rawValue)", "i32 positions") }
        guard cache.rank == 4, rows.rank == 4, rows[0] == cache[0], rows[1] == cache[1], rows[2] == 1, rows[3] == cache[3],
              positions.rank == 1, positions[0] == cache[0] else {
            throw fail("cannot write rows \(rows) at positions \(positions) into a cache \(cache)",
                       "cache [B, H, L, D], rows [B, H, 1, D], positions [B]")
        }
        return (op, cache, .f32)

    case .cachedAttention:
        try arity(4); try requireF32([0, 1, 2])
        let q = shapes[0], k = shapes[1], v = shapes[2], positions = shapes[3]
        let what = "cannot attend with q \(q) over keys \(k), values \(v) at positions \(positions)"
        guard dtypes[3] == .i32 else { throw fail("positions have dtype \(dtypes[3].rawValue)", "i32 positions") }
        guard q.rank == 4, k.rank == 4, v.rank == 4, Array(k.dims.prefix(2)) == Array(q.dims.prefix(2)),
              Array(v.dims.prefix(3)) == Array(k.dims.prefix(3)), q[3] == k[3], positions.rank == 1, positions[0] == q[0],
              q[2] <= k[2] else {
            throw fail(what, "q [B, H, Tq, D], keys [B, H, L, D], values [B, H, L, Dv], positions [B], Tq ≤ L")
        }
        return (op, Shape([q[0], q[1], q[2], v[3]]), .f32)

    case .layerNormGrad(_, let operand):
        try arity(3); try requireF32([0, 1, 2])
        let x = shapes[0], gain = shapes[1], dy = shapes[2]
        guard x.rank >= 1, gain == Shape([x[-1]]), dy == x else {
            throw fail("x \(x), gain \(gain), dy \(dy)", "x [..., C], gain [C], dy shaped like x")
        }
        return (op, operand == .input ? x : gain, .f32)

    case .attentionGrad(_, _, let operand):
        try arity(5); try requireF32([0, 1, 2, 3, 4])
        let q = shapes[0], k = shapes[1], v = shapes[2], y = shapes[3], dy = shapes[4]
        let forward = try inferShape(.attention(causal: false, scale: 1), [q, k, v], [.f32, .f32, .f32]).shape
        guard y == forward, dy == forward else {
            throw fail("y \(y) and dy \(dy) against the attention's output \(forward)",
                       "y and dy shaped like attention(q, k, v)")
        }
        switch operand {
        case .query: return (op, q, .f32)
        case .key: return (op, k, .f32)
        case .value: return (op, v, .f32)
        }
    }
}

private func list(_ shapes: [Shape]) -> String { shapes.map(\.description).joined(separator: ", ") }

private func firstMismatch(_ a: Shape, _ b: Shape) -> String {
    for i in 1...max(1, min(a.rank, b.rank)) where i <= min(a.rank, b.rank) {
        let x = a.dims[a.rank - i], y = b.dims[b.rank - i]
        if x != y && x != 1 && y != 1 { return "\(x) vs \(y)" }
    }
    return "\(a) vs \(b)"
}
