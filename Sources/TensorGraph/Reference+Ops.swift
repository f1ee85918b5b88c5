import Foundation

/// The reference implementation of every op, on host arrays.
///
/// Plain loops in the obvious order; Double accumulation for sums, dot products, softmax and norms.
public enum ReferenceOps {
    /// Computes `node` from the values of its inputs.
    /// - Throws: ``PlanError/indexOutOfRange(op:index:bound:)`` for bad embedding indices or targets.
    public static func evaluate(_ node: Node, _ args: [TensorData]) throws -> TensorData {
        let out = node.shape
        switch node.op {
        case .input, .variable:
            preconditionFailure("leaf \(node.op.name) is fed by the plan")
        case .constant(let data):
            if data.count == out.count { return TensorData(shape: out, floats: data) }
            precondition(data.count == 1, "constant: \(data.count) values for \(out)")
            return TensorData(shape: out, floats: [Float](repeating: data[0], count: out.count))
        case .unary(let u):
            return TensorData(shape: out, floats: args[0].floats.map { unary(u, $0) })
        case .powScalar(let p):
            return TensorData(shape: out, floats: args[0].floats.map { powScalar($0, p) })
        case .binary(let b):
            return broadcast2(out, args[0], args[1]) { x, y in binary(b, x, y) }
        case .compare(let c):
            return broadcast2(out, args[0], args[1]) { x, y in compare(c, x, y) ? 1 : 0 }
        case .select:
            let mc = BroadcastIndexMap(from: args[0].shape, to: out)
            let ma = BroadcastIndexMap(from: args[1].shape, to: out)
            let mb = BroadcastIndexMap(from: args[2].shape, to: out)
            let c = args[0].floats, a = args[1].floats, b = args[2].floats
            var r = [Float](repeating: 0, count: out.count)
            for i in 0..<r.count { r[i] = c[mc.sourceIndex(i)] != 0 ? a[ma.sourceIndex(i)] : b[mb.sourceIndex(i)] }
            return TensorData(shape: out, floats: r)
        case .matmul(let tA, let tB):
            return matmul(args[0], args[1], tA, tB, out)
        case .reduce(let r, let axis, _):
            return reduce(r, args[0], axis: axis, out: out)
        case .softmax(let axis):
            return softmax(args[0], axis: axis, log: false)
        case .logSoftmax(let axis):
            return softmax(args[0], axis: axis, log: true)
        case .layerNorm(let eps):
            return norm(args[0], gain: args[1].floats, bias: args[2].floats, eps: eps, rms: false)
        case let .layerNormGrad(eps, operand):
            return layerNormGrad(args[0], gain: args[1].floats, dy: args[2].floats, eps: eps, operand: operand)
        case .rmsNorm(let eps):
            return norm(args[0], gain: args[1].floats, bias: nil, eps: eps, rms: true)
        case .proportionsNorm(let eps, let compression):
            return proportionsNorm(args[0], gain: args[1].floats, shift: args.count > 2 ? args[2].floats : nil,
                                   eps: eps, compression: compression)
        case .embedding:
            return try embedding(args[0], args[1], out)
        case .reshape:
            return TensorData(shape: out, storage: args[0].storage)
        case .permute(let axes):
            return permute(args[0], axes, out)
        case .slice(let axis, let start, _):
            return slice(args[0], axis: axis, start: start, out: out)
        case .concat(let axis):
            return concat(args, axis: axis, out: out)
        case .crossEntropy(let ignore):
            return try crossEntropy(args[0], args[1], ignore: ignore)
        case .attention(let causal, let scale):
            return attention(args[0], args[1], args[2], causal: causal, scale: scale, out: out)
        case .cacheWrite:
            return try cacheWrite(args[0], rows: args[1], positions: args[2].ints)
        case .cachedAttention(let scale):
            return try cachedAttention(args[0], args[1], args[2], positions: args[3].ints, scale: scale, out: out)
        case let .attentionGrad(causal, scale, operand):
            return attentionGrad(q: args[0], k: args[1], v: args[2], y: args[3], dy: args[4], causal: causal, scale: scale,
                                 operand: operand)
        case .embeddingGrad:
            return try embeddingGrad(args[0], args[1], out)
        case .crossEntropyGrad(let ignore):
            return try crossEntropyGrad(args[0], args[1], upstream: args[2].floats[0], ignore: ignore)
        case .argmax:
            return argmax(args[0], out: out)
        case .dropoutMask(_, let keep, let salt):
            let seed = args[0].ints[0], threshold = DropoutMask.threshold(keep: keep), scale = 1 / keep
            return TensorData(shape: out, floats: (0..<out.count).map {
                DropoutMask.keeps(seed: seed, salt: salt, index: $0, threshold: threshold) ? scale : 0
            })
        }
    }

    // MARK: elementwise

    /// The reference value of a unary op (computed in Double, rounded once).
    public static func unary(_ op: UnaryOp, _ v: Float) -> Float {
        let x = Double(v)
        switch op {
        case .neg: return -v
        case .exp: return Float(Foundation.exp(x))
        case .log: return Float(Foundation.log(x))
        case .sqrt: return Float(x.squareRoot())
        case .rsqrt: return Float(1 / x.squareRoot())
        case .tanh: return Float(Foundation.tanh(x))
        case .relu: return v.isNaN || v > 0 ? v : 0
        case .gelu:
            if v == -.infinity { return 0 }
            let c = (2 / Double.pi).squareRoot()
            return Float(0.5 * x * (1 + Foundation.tanh(c * (x + 0.044715 * x * x * x))))
        case .sigmoid: return Float(1 / (1 + Foundation.exp(-x)))
        case .abs: return Swift.abs(v)
        }
    }

    /// The reference value of a binary op.
    public static func binary(_ op: BinaryOp, _ x: Float, _ y: Float) -> Float {
        switch op {
        case .add: return x + y
        case .sub: return x - y
        case .mul: return x * y
        case .div: return x / y
        case .maximum: return x.isNaN || y.isNaN ? .nan : Swift.max(x, y)
        case .minimum: return x.isNaN || y.isNaN ? .nan : Swift.min(x, y)
        }
    }

    /// `x^p` (Double `pow`, rounded once); `p = ±0.5` is `sqrt` / `1/sqrt`, whose non-finite values
    /// differ from `pow`'s at −∞ and −0 (see ``Op/powScalar(_:)``).
    public static func powScalar(_ x: Float, _ p: Float) -> Float {
        switch p {
        case 0.5: return unary(.sqrt, x)
        case -0.5: return unary(.rsqrt, x)
        default: return Float(Foundation.pow(Double(x), Double(p)))
        }
    }

    /// The larger of `a` and `b`, NaN when either is NaN (the ``ReduceOp/max`` rule).
    static func nanMax(_ a: Double, _ b: Double) -> Double { a.isNaN || b.isNaN ? .nan : Swift.max(a, b) }

    /// The reference value of a comparison.
    public static func compare(_ op: CompareOp, _ x: Float, _ y: Float) -> Bool {
        switch op {
        case .less: return x < y
        case .lessEqual: return x <= y
        case .greater: return x > y
        case .greaterEqual: return x >= y
        case .equal: return x == y
        case .notEqual: return x != y
        }
    }

    private static func broadcast2(_ out: Shape, _ a: TensorData, _ b: TensorData, _ f: (Float, Float) -> Float) -> TensorData {
        let ma = BroadcastIndexMap(from: a.shape, to: out), mb = BroadcastIndexMap(from: b.shape, to: out)
        let x = a.floats, y = b.floats
        var r = [Float](repeating: 0, count: out.count)
        for i in 0..<r.count { r[i] = f(x[ma.sourceIndex(i)], y[mb.sourceIndex(i)]) }
        return TensorData(shape: out, floats: r)
    }

    // MARK: matmul

    private static func matmul(_ a: TensorData, _ b: TensorData, _ tA: Bool, _ tB: Bool, _ out: Shape) -> TensorData {
        let m = out[-2], n = out[-1]
        let k = tA ? a.shape[-2] : a.shape[-1]
        let batches = out.count / (m * n)
        let x = a.floats, y = b.floats
        let bShared = b.shape.rank == 2
        var r = [Float](repeating: 0, count: out.count)
        for batch in 0..<batches {
            let aOff = batch * m * k, bOff = bShared ? 0 : batch * k * n, oOff = batch * m * n
            for i in 0..<m {
                for j in 0..<n {
                    var s = 0.0
                    for p in 0..<k {
                        let av = x[aOff + (tA ? p * m + i : i * k + p)]
                        let bv = y[bOff + (tB ? j * k + p : p * n + j)]
                        s += Double(av) * Double(bv)
                    }
                    r[oOff + i * n + j] = Float(s)
                }
            }
        }
        return TensorData(shape: out, floats: r)
    }

    // MARK: reductions

    /// (outer, n, inner) for iterating along `axis` of `shape`.
    private static func split(_ shape: Shape, _ axis: Int) -> (Int, Int, Int) {
        let outer = shape.dims[..<axis].reduce(1, *)
        let inner = shape.dims[(axis + 1)...].reduce(1, *)
        return (outer, shape.dims[axis], inner)
    }

    /// The index of the largest of `values` (not empty): the first of equal maxima; a NaN counts as
    /// larger than every number, so the first NaN when there is one (``Op/argmax``'s rule).
    public static func argmaxIndex<C: Collection<Float>>(_ values: C) -> Int where C.Index == Int {
        var best = values.startIndex
        for i in values.indices {
            if values[best].isNaN { break }
            if values[i].isNaN || values[i] > values[best] { best = i }
        }
        return best - values.startIndex
    }

    private static func argmax(_ a: TensorData, out: Shape) -> TensorData {
        let n = a.shape[-1], x = a.floats
        return TensorData(shape: out, ints: (0..<out.count).map { Int32(argmaxIndex(x[($0 * n)..<(($0 + 1) * n)])) })
    }

    private static func reduce(_ op: ReduceOp, _ a: TensorData, axis: Int, out: Shape) -> TensorData {
        let (outer, n, inner) = split(a.shape, axis)
        let x = a.floats
        var r = [Float](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            for i in 0..<inner {
                switch op {
                case .sum, .mean:
                    var s = 0.0
                    for j in 0..<n { s += Double(x[(o * n + j) * inner + i]) }
                    r[o * inner + i] = Float(op == .mean ? s / Double(n) : s)
                case .max:
                    var m = -Double.infinity
                    for j in 0..<n { m = nanMax(m, Double(x[(o * n + j) * inner + i])) }
                    r[o * inner + i] = Float(m)
                }
            }
        }
        return TensorData(shape: out, floats: r)
    }

    private static func softmax(_ a: TensorData, axis: Int, log: Bool) -> TensorData {
        let (outer, n, inner) = split(a.shape, axis)
        let x = a.floats
        var r = [Float](repeating: 0, count: x.count)
        for o in 0..<outer {
            for i in 0..<inner {
                func at(_ j: Int) -> Int { (o * n + j) * inner + i }
                var m = -Double.infinity
                for j in 0..<n { m = nanMax(m, Double(x[at(j)])) }
                var s = 0.0
                for j in 0..<n { s += Foundation.exp(Double(x[at(j)]) - m) }
                let ls = Foundation.log(s)
                for j in 0..<n {
                    let z = Double(x[at(j)]) - m
                    r[at(j)] = Float(log ? z - ls : Foundation.exp(z) / s)
                }
            }
        }
        return TensorData(shape: a.shape, floats: r)
    }

    private static func norm(_ a: TensorData, gain: [Float], bias: [Float]?, eps: Float, rms: Bool) -> TensorData {
        let c = a.shape[-1], rows = a.shape.count / c
        let x = a.floats
        var r = [Float](repeating: 0, count: x.count)
        for row in 0..<rows {
            let base = row * c
            var mean = 0.0
            if !rms {
                for j in 0..<c { mean += Double(x[base + j]) }
                mean /= Double(c)
            }
            var v = 0.0
            for j in 0..<c { let d = Double(x[base + j]) - mean; v += d * d }
            v /= Double(c)
            let inv = 1 / (v + Double(eps)).squareRoot()
            for j in 0..<c {
                let y = (Double(x[base + j]) - mean) * inv * Double(gain[j]) + Double(bias?[j] ?? 0)
                r[base + j] = Float(y)
            }
        }
        return TensorData(shape: a.shape, floats: r)
    }

    /// ``Op/layerNormGrad(eps:operand:)`` per row in Double, the statistics recomputed from x.
    private static func layerNormGrad(_ a: TensorData, gain: [Float], dy: [Float], eps: Float,
                                      operand: LayerNormOperand) -> TensorData {
        let c = a.shape[-1], rows = a.shape.count / max(c, 1)
        let x = a.floats
        var dx = [Float](repeating: 0, count: operand == .input ? x.count : 0)
        var parameters = [Double](repeating: 0, count: c)
        var xhat = [Double](repeating: 0, count: c)
        for row in 0..<rows {
            let base = row * c
            var mean = 0.0
            for j in 0..<c { mean += Double(x[base + j]) }
            mean /= Double(c)
            var variance = 0.0
            for j in 0..<c { let d = Double(x[base + j]) - mean; variance += d * d }
            let r = 1 / (variance / Double(c) + Double(eps)).squareRoot()
            for j in 0..<c { xhat[j] = (Double(x[base + j]) - mean) * r }
            switch operand {
            case .input:
                var meanD = 0.0, meanDX = 0.0
                for j in 0..<c {
                    let d = Double(dy[base + j]) * Double(gain[j])
                    meanD += d
                    meanDX += d * xhat[j]
                }
                meanD /= Double(c)
                meanDX /= Double(c)
                for j in 0..<c {
                    let d = Double(dy[base + j]) * Double(gain[j])
                    dx[base + j] = Float(r * (d - meanD - xhat[j] * meanDX))
                }
            case .gain:
                for j in 0..<c { parameters[j] += Double(dy[base + j]) * xhat[j] }
            case .bias:
                for j in 0..<c { parameters[j] += Double(dy[base + j]) }
            }
        }
        if operand == .input { return TensorData(shape: a.shape, floats: dx) }
        return TensorData(shape: [c], floats: parameters.map { Float($0) })
    }

    /// `c·tanh(u/c)·gain (+ shift)`, `u = x / (mean|x| + eps)`, per row in Double.
    private static func proportionsNorm(_ a: TensorData, gain: [Float], shift: [Float]?, eps: Float,
                                        compression: Float) -> TensorData {
        let n = a.shape[-1], rows = a.shape.count / max(n, 1)
        let x = a.floats, c = Double(compression)
        var r = [Float](repeating: 0, count: x.count)
        for row in 0..<rows {
            let base = row * n
            var magnitude = 0.0
            for j in 0..<n { magnitude += Swift.abs(Double(x[base + j])) }
            let scale = magnitude / Double(n) + Double(eps)
            for j in 0..<n {
                let u = Double(x[base + j]) / scale
                var y = c * Foundation.tanh(u / c) * Double(gain[j])
                if let shift { y += Double(shift[j]) }
                r[base + j] = Float(y)
            }
        }
        return TensorData(shape: a.shape, floats: r)
    }

    // MARK: indexing and layout

    private static func embedding(_ table: TensorData, _ indices: TensorData, _ out: Shape) throws -> TensorData {
        let v = table.shape[0], c = table.shape[1]
        let t = table.floats, idx = indices.ints
        var r = [Float](repeating: 0, count: out.count)
        for (row, i) in idx.enumerated() {
            guard i >= 0, Int(i) < v else { throw PlanError.indexOutOfRange(op: "embedding", index: i, bound: v) }
            for j in 0..<c { r[row * c + j] = t[Int(i) * c + j] }
        }
        return TensorData(shape: out, floats: r)
    }

    private static func embeddingGrad(_ indices: TensorData, _ gradient: TensorData, _ out: Shape) throws -> TensorData {
        let v = out[0], c = out[1]
        let g = gradient.floats
        var sums = [Double](repeating: 0, count: out.count)
        for (row, i) in indices.ints.enumerated() {
            guard i >= 0, Int(i) < v else { throw PlanError.indexOutOfRange(op: "embeddingGrad", index: i, bound: v) }
            for j in 0..<c { sums[Int(i) * c + j] += Double(g[row * c + j]) }
        }
        return TensorData(shape: out, floats: sums.map { Float($0) })
    }

    private static func permute(_ a: TensorData, _ axes: [Int], _ out: Shape) -> TensorData {
        let inStrides = contiguousStrides(a.shape)
        let srcStrides = axes.map { inStrides[$0] }   // stride in the input of each output axis
        let x = a.floats
        var r = [Float](repeating: 0, count: out.count)
        for i in 0..<r.count {
            let o = multiIndex(i, in: out)
            var s = 0
            for k in 0..<o.count { s += o[k] * srcStrides[k] }
            r[i] = x[s]
        }
        return TensorData(shape: out, floats: r)
    }

    private static func slice(_ a: TensorData, axis: Int, start: Int, out: Shape) -> TensorData {
        let (outer, n, inner) = split(a.shape, axis)
        let len = out.dims[axis]
        let x = a.floats
        var r = [Float](repeating: 0, count: out.count)
        for o in 0..<outer {
            for j in 0..<len {
                for i in 0..<inner { r[(o * len + j) * inner + i] = x[(o * n + start + j) * inner + i] }
            }
        }
        return TensorData(shape: out, floats: r)
    }

    private static func concat(_ parts: [TensorData], axis: Int, out: Shape) -> TensorData {
        let (outer, total, inner) = split(out, axis)
        var r = [Float](repeating: 0, count: out.count)
        var offset = 0
        for p in parts {
            let n = p.shape.dims[axis]
            let x = p.floats
            for o in 0..<outer {
                for j in 0..<n {
                    for i in 0..<inner { r[(o * total + offset + j) * inner + i] = x[(o * n + j) * inner + i] }
                }
            }
            offset += n
        }
        return TensorData(shape: out, floats: r)
    }

    // MARK: loss and attention

    private static func crossEntropy(_ logits: TensorData, _ targets: TensorData, ignore: Int32?) throws -> TensorData {
        let n = logits.shape[0], c = logits.shape[1]
        let x = logits.floats, t = targets.ints
        var total = 0.0, counted = 0
        for row in 0..<n {
            let target = t[row]
            if let ignore, target == ignore { continue }
            guard target >= 0, Int(target) < c else { throw PlanError.indexOutOfRange(op: "crossEntropy", index: target, bound: c) }
            let (m, s) = maxAndExpSum(x, row * c, c)
            total += m + Foundation.log(s) - Double(x[row * c + Int(target)])
            counted += 1
        }
        return TensorData(shape: [], floats: [counted > 0 ? Float(total / Double(counted)) : 0])
    }

    /// The row's maximum and Σ exp(x − max), in Double, over `count` values from `offset`.
    private static func maxAndExpSum(_ x: [Float], _ offset: Int, _ count: Int) -> (Double, Double) {
        var m = -Double.infinity
        for j in 0..<count { m = nanMax(m, Double(x[offset + j])) }
        var s = 0.0
        for j in 0..<count { s += Foundation.exp(Double(x[offset + j]) - m) }
        return (m, s)
    }

    private static func crossEntropyGrad(_ logits: TensorData, _ targets: TensorData, upstream: Float,
                                         ignore: Int32?) throws -> TensorData {
        let n = logits.shape[0], c = logits.shape[1]
        let x = logits.floats, t = targets.ints
        let counted = t.filter { $0 != ignore }.count
        var r = [Float](repeating: 0, count: n * c)
        guard counted > 0 else { return TensorData(shape: logits.shape, floats: r) }
        let scale = Double(upstream) / Double(counted)
        for row in 0..<n {
            let target = t[row]
            if let ignore, target == ignore { continue }
            guard target >= 0, Int(target) < c else { throw PlanError.indexOutOfRange(op: "crossEntropyGrad", index: target, bound: c) }
            let (m, s) = maxAndExpSum(x, row * c, c)
            for j in 0..<c {
                let p = Foundation.exp(Double(x[row * c + j]) - m) / s
                r[row * c + j] = Float((p - (j == Int(target) ? 1 : 0)) * scale)
            }
        }
        return TensorData(shape: logits.shape, floats: r)
    }

    private static func attention(_ q: TensorData, _ k: TensorData, _ v: TensorData, causal: Bool, scale: Float, out: Shape) -> TensorData {
        let tq = q.shape[-2], d = q.shape[-1], tk = k.shape[-2], dv = v.shape[-1]
        let batches = q.shape.count / (tq * d)
        let qs = q.floats, ks = k.floats, vs = v.floats
        var r = [Float](repeating: 0, count: out.count)
        var scores = [Double](repeating: 0, count: tk)
        for b in 0..<batches {
            let qo = b * tq * d, ko = b * tk * d, vo = b * tk * dv, oo = b * tq * dv
            for i in 0..<tq {
                // Keys visible to query i; none (only when Tq > Tk) means a uniform average,
                // as the decomposed form with its -1e30 mask gives.
                var last = causal ? i + (tk - tq) : tk - 1
                var uniform = false
                if last < 0 { last = tk - 1; uniform = true }
                attendOneQuery(qs, qo + i * d, ks, ko, vs, vo, keys: last + 1, d: d, dv: dv, scale: scale, uniform: uniform,
                               scores: &scores, into: &r, at: oo + i * dv)
            }
        }
        return TensorData(shape: out, floats: r)
    }

    /// One query's attention over keys `0..<keys` (rows of d floats from `kOffset`, values of dv
    /// floats from `vOffset`), in double: the output row goes to `r[at..<at + dv]`. `uniform`
    /// weighs every key alike (the average a query that sees no key gets).
    private static func attendOneQuery(_ qs: [Float], _ qOffset: Int, _ ks: [Float], _ kOffset: Int, _ vs: [Float], _ vOffset: Int,
                                       keys: Int, d: Int, dv: Int, scale: Float, uniform: Bool, scores: inout [Double],
                                       into r: inout [Float], at: Int) {
        var m = -Double.infinity
        for j in 0..<keys {
            var dot = 0.0
            for p in 0..<d { dot += Double(qs[qOffset + p]) * Double(ks[kOffset + j * d + p]) }
            scores[j] = uniform ? 0 : dot * Double(scale)
            m = nanMax(m, scores[j])
        }
        var sum = 0.0
        for j in 0..<keys { scores[j] = Foundation.exp(scores[j] - m); sum += scores[j] }
        for e in 0..<dv {
            var acc = 0.0
            for j in 0..<keys { acc += scores[j] * Double(vs[vOffset + j * dv + e]) }
            r[at + e] = Float(acc / sum)
        }
    }

    // MARK: KV cache

    private static func cacheWrite(_ cache: TensorData, rows: TensorData, positions: [Int32]) throws -> TensorData {
        let (b, h, l, d) = (cache.shape[0], cache.shape[1], cache.shape[2], cache.shape[3])
        var r = cache.floats
        let source = rows.floats
        for s in 0..<b {
            let p = Int(positions[s])
            guard p >= 0, p < l else { throw PlanError.indexOutOfRange(op: "cacheWrite", index: positions[s], bound: l) }
            for head in 0..<h {
                let to = ((s * h + head) * l + p) * d, from = (s * h + head) * d
                for e in 0..<d { r[to + e] = source[from + e] }
            }
        }
        return TensorData(shape: cache.shape, floats: r)
    }

    /// Each query's visible prefix is `0...p`: the same arithmetic as ``attention`` over those keys.
    private static func cachedAttention(_ q: TensorData, _ k: TensorData, _ v: TensorData, positions: [Int32], scale: Float,
                                        out: Shape) throws -> TensorData {
        let (b, h, tq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let l = k.shape[2], dv = v.shape[3]
        let qs = q.floats, ks = k.floats, vs = v.floats
        var r = [Float](repeating: 0, count: out.count)
        var scores = [Double](repeating: 0, count: l)
        for s in 0..<b {
            let position = Int(positions[s])
            guard position >= tq - 1, position < l else {
                throw PlanError.indexOutOfRange(op: "cachedAttention", index: positions[s], bound: l)
            }
            for head in 0..<h {
                let bh = s * h + head
                let qo = bh * tq * d, ko = bh * l * d, vo = bh * l * dv, oo = bh * tq * dv
                for i in 0..<tq {
                    attendOneQuery(qs, qo + i * d, ks, ko, vs, vo, keys: position - (tq - 1) + i + 1, d: d, dv: dv, scale: scale, uniform: false,
                                   scores: &scores, into: &r, at: oo + i * dv)
                }
            }
        }
        return TensorData(shape: out, floats: r)
    }
}

extension TensorData {
    /// Wraps existing storage with a (same-count) shape.
    public init(shape: Shape, storage: Storage) {
        switch storage {
        case .f32(let f): self.init(shape: shape, floats: f)
        case .i32(let i): self.init(shape: shape, ints: i)
        case .quantized(let format, let bytes): self.init(shape: shape, format: format, bytes: bytes)
        }
    }
}
