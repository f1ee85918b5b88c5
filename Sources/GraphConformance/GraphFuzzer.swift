import TensorGraph

/// What random graphs ``GraphFuzzer`` draws.
public struct FuzzConfiguration: Sendable, Hashable {
    /// Forward steps per graph (each adds one op, or a short chain such as `linear` + activation).
    public var steps: ClosedRange<Int> = 3...12
    /// The most elements any generated tensor may have (keeps the reference fast in debug builds).
    public var maxElements: Int = 2048
    /// The chance that a real-valued leaf is a variable rather than an input (assignments may then
    /// update it at the end of the run; see ``FuzzGraph/assignments``).
    public var variableProbability: Double = 0.2
    /// The chance that a graph also gets a loss and its backward through ``gradients(of:wrt:)``.
    public var backwardProbability: Double = 0.5
    /// Dimension sizes shapes are drawn from: 1, primes, and sizes around the vector widths 4/8/16/32.
    public var dims: [Int] = [1, 2, 3, 4, 5, 7, 8, 13, 16, 17, 31, 32, 33]
    /// Which dimension variant to draw: 0 draws ``dims`` as they are; variant `r` replaces each size
    /// by another of the same kind — 1 stays 1, and every other size keeps its power of two (odd
    /// stays odd, 2·odd stays 2·odd, …, 16·odd stays 16·odd), rotated `r` places within its kind.
    ///
    /// The same seed under another variant gives the same ops with other sizes, and the OpenCL
    /// backend's generated elementwise kernels take sizes as arguments and only whether a
    /// broadcast period is a multiple of 16 shapes their code: so the variants of a set of graphs
    /// mostly reuse the programs of variant 0 (the test suite runs hundreds of graphs that way on
    /// a driver that builds each new program for a second).
    public var dimensionVariant: Int = 0

    /// The sizes shapes are drawn from under ``dimensionVariant``.
    public var variantDims: [Int] {
        guard dimensionVariant != 0 else { return dims }
        return dims.map { size in
            guard size > 1, let kind = Self.sizeKinds.first(where: { $0.contains(size) }) else { return size }
            let index = kind.firstIndex(of: size)!
            return kind[(index + dimensionVariant) % kind.count]
        }
    }

    /// Sizes grouped by their power of two (1 alone).
    static let sizeKinds: [[Int]] = [
        [3, 5, 7, 13, 17, 31, 33, 11, 19, 23], [2, 6, 10, 14, 18, 22], [4, 12, 20, 28], [8, 24, 40], [16, 48], [32, 96],
    ]

    /// Head sizes of attention (the fused kernel is built per head size: a small set keeps the
    /// number of distinct programs small).
    public var headDims: [Int] = [8, 16]

    /// The defaults.
    public init() {}
}

/// A seeded generator of random graphs over the whole op set, for checking a backend against
/// ``ReferenceBackend`` (see ``FuzzRunner``).
///
/// A graph grows from a pool of tensors: each step takes one or two pool tensors (recent ones
/// more often, so elementwise ops form chains that fusion merges) and appends an op — unary,
/// binary with every broadcasting pattern, pow, comparisons and `select`, reductions, softmax
/// and log-softmax on any axis, layer and RMS norm, matmul with and without transposes (batched,
/// shared B, `linear` with bias and activation), fused and decomposed attention, permute,
/// reshape, slice, concat, embedding, cross-entropy and dropout masks. Some pool tensors besides
/// the last become outputs (members of fused groups turn into extra outputs). Half of the
/// graphs (by default) add a loss — each output weighted by a random input and summed — and its
/// gradients with respect to every f32 input and variable. Some leaves are variables, and some
/// of those get end-of-run assignments (an SGD step, an elementwise update the OpenCL backend
/// computes in place, a blend with another tensor, a swap of two variables).
///
/// Inputs are finite and every op is kept inside its domain: log, sqrt, rsqrt and fractional
/// powers read `|x| + 0.5`, divisors are `|x| + 0.5`, exp reads `min(x, 2)`. Comparisons read
/// only inputs (whole numbers, so equality is common), never computed values: two backends'
/// computed values differ in the last bits, and a comparison would turn that into a different 0/1.
public enum GraphFuzzer {
    /// The graph for `seed`: the same seed and configuration always give the same graph.
    public static func generate(seed: UInt64, configuration: FuzzConfiguration = FuzzConfiguration()) -> FuzzGraph {
        var builder = Builder(seed: seed, configuration: configuration)
        return builder.generate()
    }
}

private struct Builder {
    let configuration: FuzzConfiguration
    let seed: UInt64
    var rng: XorShiftRandom
    let graph = Graph()
    var pool: [Tensor] = []
    var fills: [String: InputFill] = [:]
    var inputCount = 0
    var saltCount: UInt32 = 0
    /// The sizes of this dimension variant, and the maps between them and variant 0's.
    let dims: [Int]
    let variantOfBase: [Int: Int]
    let baseOfVariant: [Int: Int]

    init(seed: UInt64, configuration: FuzzConfiguration) {
        self.seed = seed
        self.configuration = configuration
        self.dims = configuration.variantDims
        self.variantOfBase = Dictionary(zip(configuration.dims, dims), uniquingKeysWith: { a, _ in a })
        self.baseOfVariant = Dictionary(zip(dims, configuration.dims), uniquingKeysWith: { a, _ in a })
        self.rng = XorShiftRandom(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 1)
    }

    // MARK: random helpers

    mutating func int(_ bound: Int) -> Int { Swift.min(bound - 1, Int(rng.uniform() * Double(bound))) }
    mutating func chance(_ p: Double) -> Bool { rng.uniform() < p }
    mutating func pick<T>(_ items: [T]) -> T { items[int(items.count)] }
    mutating func dim() -> Int { pick(dims) }
    mutating func baseDim() -> Int { pick(configuration.dims) }

    /// A random shape of `rank` whose element count stays within the limit.
    mutating func shape(rank: Int) -> Shape {
        var dims = (0..<rank).map { _ in baseDim() }
        while dims.reduce(1, *) > configuration.maxElements, let i = dims.indices.max(by: { dims[$0] < dims[$1] }) {
            dims[i] = Swift.max(1, dims[i] / 3)
        }
        return Shape(dims.map { variantOfBase[$0] ?? $0 })
    }

    /// Whether `shape` is within the element limit, judged on the sizes of dimension variant 0, so
    /// every variant of a seed takes the same decisions (and builds the same ops).
    func fits(_ shape: Shape) -> Bool {
        shape.dims.reduce(1) { $0 * (baseOfVariant[$1] ?? $1) } <= configuration.maxElements
    }

    /// A new leaf: an input, or (for some real-valued leaves) a variable, which the plan keeps
    /// between runs and assignments may update.
    mutating func input(_ shape: Shape, _ fill: InputFill = .uniform(-2, 2)) throws -> Tensor {
        let isVariable: Bool
        if case .uniform = fill { isVariable = chance(configuration.variableProbability) } else { isVariable = false }
        let name = (isVariable ? "w" : "x") + "\(inputCount)"
        inputCount += 1
        fills[name] = fill
        return isVariable ? try graph.variable(name, shape) : try graph.input(name, shape, dtype: fill.dtype)
    }

    /// A pool tensor, recent ones more often (chains), optionally filtered.
    mutating func pooled(where accept: (Tensor) -> Bool = { _ in true }) -> Tensor? {
        let candidates = pool.filter(accept)
        guard !candidates.isEmpty else { return nil }
        if chance(0.6) { return candidates[Swift.max(0, candidates.count - 1 - int(Swift.min(3, candidates.count)))] }
        return pick(candidates)
    }

    /// `|t| + 0.5`: a positive operand for log, sqrt, rsqrt, fractional powers and divisors.
    func positive(_ t: Tensor) throws -> Tensor { try t.abs() + 0.5 }

    /// A second operand that broadcasts against `shape`: the same shape, trailing dims, some
    /// dims set to 1, a column, a scalar input or a scalar constant.
    mutating func partner(for shape: Shape) throws -> Tensor {
        if chance(0.25), let same = pooled(where: { $0.shape == shape }) { return same }
        let dims = shape.dims
        switch int(6) {
        case 0: return try input(shape)
        case 1 where !dims.isEmpty: return try input(Shape(Array(dims.suffix(1 + int(dims.count)))))
        case 2 where !dims.isEmpty: return try input(Shape(dims.map { chance(0.5) ? 1 : $0 }))
        case 3 where dims.count >= 1: return try input(Shape(Array(dims.dropLast()) + [1]))
        case 4: return try input([])
        default: return graph.constant(Float(pick([-1.5, -0.5, 0.25, 0.5, 2, 3])))
        }
    }

    // MARK: generation

    mutating func generate() -> FuzzGraph {
        let steps = configuration.steps.lowerBound + int(configuration.steps.count)
        for _ in 0..<2 { pool.append(try! input(shape(rank: 1 + int(3)))) }
        for _ in 0..<steps {
            // A step that does not fit (shapes it cannot use) appends nothing to the pool; nodes it
            // appended before throwing are dead and left out of the plan.
            if let t = try? step() { pool.append(t) }
        }
        var outputs = [pool.last!]
        for t in pool.dropLast().shuffledPrefix(int(4), using: &self) where !outputs.contains(where: { $0.id == t.id }) {
            outputs.append(t)
        }
        var gradientOf: [NodeID: Tensor] = [:]
        if chance(configuration.backwardProbability), let (withGradients, gradients) = try? backward(outputs) {
            outputs = withGradients
            gradientOf = gradients
        }
        let assignments = (try? stateUpdates(gradientOf: gradientOf)) ?? []
        var result = FuzzGraph(seed: seed, graph: graph, outputs: outputs, assignments: assignments, fills: fills).pruned()
        result.dimensionVariant = configuration.dimensionVariant
        return result
    }

    /// The outputs, a loss `Σ sum(o · w)` over the f32 outputs with random weights `w`, and the
    /// loss's gradients with respect to every f32 input and variable; also the gradients by leaf.
    mutating func backward(_ outputs: [Tensor]) throws -> ([Tensor], [NodeID: Tensor]) {
        var loss: Tensor?
        for o in outputs where o.dtype == .f32 {
            let weighted = try o * input(o.shape, .uniform(-1, 1))
            let term = try weighted.reshape([o.shape.count]).sum(axis: 0)
            loss = try loss.map { try $0 + term } ?? term
        }
        guard let loss else { return (outputs, [:]) }
        let wrt = (graph.inputs + graph.variables).filter { $0.dtype == .f32 }.map { graph.tensor($0.id) }
        let grads = try gradients(of: loss, wrt: wrt)
        return (outputs + [loss] + grads, Dictionary(uniqueKeysWithValues: zip(wrt.map(\.id), grads)))
    }

    /// End-of-run updates of some variables: an SGD step `w − 0.1·∂loss/∂w` when the graph has a
    /// backward, an elementwise update of the variable alone (which the OpenCL backend computes in
    /// place), a blend with a pool tensor of the same shape, or two variables swapped.
    mutating func stateUpdates(gradientOf: [NodeID: Tensor]) throws -> [Assignment] {
        var variables = graph.variables.map { graph.tensor($0.id) }.filter { $0.dtype == .f32 }
        var result: [Assignment] = []
        while !variables.isEmpty && result.count < 3 && chance(0.6) {
            let v = variables.remove(at: int(variables.count))
            if chance(0.15), let k = variables.firstIndex(where: { $0.shape == v.shape }) {
                let other = variables.remove(at: k)
                result += [try Assignment(v, other), try Assignment(other, v)]
                continue
            }
            let value: Tensor
            switch int(3) {
            case 0 where gradientOf[v.id] != nil: value = try v - gradientOf[v.id]! * 0.1
            case 1: value = try v * 0.9 + 0.1
            default:
                guard let blend = pooled(where: { $0.shape == v.shape && $0.id != v.id && $0.dtype == .f32 }) else {
                    value = try (v * 0.5).tanh()
                    break
                }
                value = try v * 0.5 + blend
            }
            result.append(try Assignment(v, value))
        }
        return result
    }

    mutating func step() throws -> Tensor {
        switch int(100) {
        case 0..<6: return try input(shape(rank: 1 + int(4)))
        case 6..<22: return try unary()
        case 22..<38: return try binary()
        case 38..<42: return try power()
        case 42..<48: return try compareSelect()
        case 48..<55: return try reduce()
        case 55..<61: return try softmax()
        case 61..<66: return try norm()
        case 66..<76: return try matmul()
        case 76..<80: return try attention()
        case 80..<90: return try layout()
        case 90..<94: return try embedding()
        case 94..<97: return try crossEntropyLoss()
        default: return try dropout()
        }
    }

    mutating func unary() throws -> Tensor {
        guard let t = pooled() else { throw FuzzSkip() }
        let op = pick(UnaryOp.allCases)
        switch op {
        case .log, .sqrt, .rsqrt: return try graph.apply(.unary(op), [positive(t)])
        case .exp: return try t.minimum(2).exp()
        default: return try graph.apply(.unary(op), [t])
        }
    }

    mutating func binary() throws -> Tensor {
        guard let a = pooled() else { throw FuzzSkip() }
        let b = try partner(for: a.shape)
        let op = pick(BinaryOp.allCases)
        let result: Tensor
        switch (op, chance(0.3)) {
        case (.div, false): result = try a / positive(b)
        case (.div, true): result = try b / positive(a)
        case (_, let swap): result = try graph.apply(.binary(op), swap ? [b, a] : [a, b])
        }
        guard fits(result.shape) else { throw FuzzSkip() }
        return result
    }

    mutating func power() throws -> Tensor {
        guard let t = pooled() else { throw FuzzSkip() }
        let p: Float = pick([2, 3, 1, 0.5, -0.5, -1, 1.5, 2.5, -1.5])
        let base = (p == 2 || p == 3 || p == 1) ? t : try positive(t)
        return try base.pow(p)
    }

    /// A comparison of inputs (never of computed values) and its use: a `select`, a mask
    /// multiplied in, or the 0/1 tensor itself.
    mutating func compareSelect() throws -> Tensor {
        guard let a = pooled() else { throw FuzzSkip() }
        let dims = a.shape.dims
        let conditionShape = chance(0.5) || dims.isEmpty ? a.shape : Shape(Array(dims.suffix(1 + int(dims.count))))
        let x = try input(conditionShape, .smallInts(-2, 2))
        let y = chance(0.5) ? try input(chance(0.5) ? conditionShape : [], .smallInts(-2, 2))
            : graph.constant(Float(int(5) - 2))
        let condition = try graph.apply(.compare(pick(CompareOp.allCases)), [x, y])
        switch int(3) {
        case 0: return try select(condition, a, partner(for: a.shape))
        case 1: return try a * condition
        default: return condition
        }
    }

    mutating func reduce() throws -> Tensor {
        guard let t = pooled(where: { $0.shape.rank >= 1 }) else { throw FuzzSkip() }
        let axis = int(t.shape.rank), keep = chance(0.4)
        return try graph.apply(.reduce(pick(ReduceOp.allCases), axis: axis, keepDims: keep), [t])
    }

    mutating func softmax() throws -> Tensor {
        guard let t = pooled(where: { $0.shape.rank >= 1 }) else { throw FuzzSkip() }
        let axis = chance(0.6) ? t.shape.rank - 1 : int(t.shape.rank)
        return chance(0.7) ? try t.softmax(axis: axis) : try t.logSoftmax(axis: axis)
    }

    mutating func norm() throws -> Tensor {
        guard let t = pooled(where: { $0.shape.rank >= 1 && $0.shape[-1] >= 2 }) else { throw FuzzSkip() }
        let c = t.shape[-1]
        let eps: Float = pick([1e-5, 1e-3])
        let gain = try input([c], .uniform(0.5, 1.5))
        if chance(0.5) { return try t.rmsNorm(gain: gain, eps: eps) }
        if chance(0.3) { return try t.proportionsNorm(gain: gain, shift: chance(0.5) ? input([c], .uniform(-1, 1)) : nil, eps: eps,
                                                      compression: pick([1.5, 4])) }
        return try t.layerNorm(gain: gain, bias: input([c], .uniform(-1, 1)), eps: eps)
    }

    /// A (batched) matmul with random transposes and a shared or batched B; sometimes `linear`
    /// with a bias and an activation (the patterns the OpenCL backend folds into the matmul).
    mutating func matmul() throws -> Tensor {
        guard var a = pooled(where: { $0.shape.rank >= 1 }) else { throw FuzzSkip() }
        if a.shape.rank == 1 { a = try a.reshape([1, a.shape[0]]) }
        let transposeA = chance(0.3), transposeB = chance(0.4)
        let dims = a.shape.dims
        let k = transposeA ? dims[dims.count - 2] : dims[dims.count - 1]
        let m = transposeA ? dims[dims.count - 1] : dims[dims.count - 2]
        let batch = Array(dims.dropLast(2))
        let n = dim()
        guard fits(Shape(batch + [m, n])) else { throw FuzzSkip() }
        let batchedB = !batch.isEmpty && chance(0.4)
        let bShape = Shape((batchedB ? batch : []) + (transposeB ? [n, k] : [k, n]))
        let b: Tensor
        if let pooledB = pooled(where: { $0.shape == bShape }), chance(0.3) { b = pooledB } else {
            b = try input(bShape, .uniform(-1, 1))
        }
        var y = try a.matmul(b, transposeA: transposeA, transposeB: transposeB)
        if chance(0.4) {
            y = try y + input([n], .uniform(-1, 1))
            switch int(5) {
            case 0: y = try y.tanh()
            case 1: y = try y.gelu()
            case 2: y = try y.sigmoid()
            case 3: y = try y.relu()
            default: break
            }
        }
        return y
    }

    /// Fused or decomposed attention; q projected from a pool tensor to a head size, k and v inputs.
    mutating func attention() throws -> Tensor {
        guard let t = pooled(where: { $0.shape.rank >= 2 && $0.shape.rank <= 3 }) else { throw FuzzSkip() }
        let d = pick(configuration.headDims), dv = pick(configuration.headDims)
        let q = try t.matmul(input([t.shape[-1], d], .uniform(-0.5, 0.5)))
        let batch = Array(q.shape.dims.dropLast(2))
        let tk = pick([1, 3, 5, 8, 13, 17])
        let k = try input(Shape(batch + [tk, d]), .uniform(-1, 1))
        let v = try input(Shape(batch + [tk, dv]), .uniform(-1, 1))
        let causal = chance(0.5)
        guard fits(Shape(batch + [q.shape[-2], Swift.max(tk, dv)])) else { throw FuzzSkip() }
        if chance(0.3) { return try decomposedAttention(q: q, k: k, v: v, causal: causal) }
        return try TensorGraph.attention(q: q, k: k, v: v, causal: causal)
    }

    mutating func layout() throws -> Tensor {
        guard let t = pooled(where: { $0.shape.rank >= 1 }) else { throw FuzzSkip() }
        let dims = t.shape.dims
        switch int(5) {
        case 0:
            guard dims.count >= 2 else { return try t.reshape(Shape([1] + dims)) }
            var axes = Array(0..<dims.count)
            for i in stride(from: axes.count - 1, to: 0, by: -1) { axes.swapAt(i, int(i + 1)) }
            if axes == Array(0..<dims.count) { axes.swapAt(axes.count - 1, axes.count - 2) }
            return try t.permute(axes)
        case 1:
            // Merge two adjacent axes, split one, flatten, or add a leading 1.
            if dims.count >= 2 && chance(0.4) {
                let i = int(dims.count - 1)
                return try t.reshape(Shape(Array(dims[..<i]) + [dims[i] * dims[i + 1]] + Array(dims[(i + 2)...])))
            }
            // Split an even axis in two (evenness survives a dimension variant, so the split stays possible).
            if let i = dims.indices.first(where: { dims[$0] % 2 == 0 }), chance(0.5), dims.count < 4 {
                return try t.reshape(Shape(Array(dims[..<i]) + [2, dims[i] / 2] + Array(dims[(i + 1)...])))
            }
            return chance(0.5) || dims.count >= 4 ? try t.reshape([t.shape.count]) : try t.reshape(Shape([1] + dims))
        case 2:
            guard let axis = dims.indices.filter({ dims[$0] >= 2 }).randomElement(using: &self) else { throw FuzzSkip() }
            let start = int(dims[axis] - 1)
            let end = start + 1 + int(dims[axis] - start)
            return try t.slice(axis: axis, start: start, end: end)
        case 3:
            let axis = int(dims.count)
            var parts = [t]
            for _ in 0..<(1 + int(2)) {
                if chance(0.3) { parts.append(t); continue }
                var other = dims
                other[axis] = pick([1, 2, 3, 5, 8])
                parts.append(try input(Shape(other)))
            }
            let result = try concat(parts, axis: axis)
            guard fits(result.shape) else { throw FuzzSkip() }
            return result
        default:
            guard dims.count >= 2 else { throw FuzzSkip() }
            return try t.transposed()
        }
    }

    /// An embedding lookup from an input table, or from a computed rank-2 pool tensor (so the
    /// backward's scatter-add feeds further gradients).
    mutating func embedding() throws -> Tensor {
        let table: Tensor
        if let pooledTable = pooled(where: { $0.shape.rank == 2 }), chance(0.4) { table = pooledTable } else {
            table = try input([pick([3, 5, 17]), dim()], .uniform(-1, 1))
        }
        let vocabulary = table.shape[0]
        let indices = try input(shape(rank: 1 + int(2)), .indices(vocabulary))
        let result = try TensorGraph.embedding(table, indices)
        guard fits(result.shape) else { throw FuzzSkip() }
        return result
    }

    /// Mean cross-entropy of a pool tensor seen as `[N, C]` logits; some targets ignored.
    mutating func crossEntropyLoss() throws -> Tensor {
        guard let t = pooled(where: { $0.shape.rank >= 1 && $0.shape[-1] >= 2 }) else { throw FuzzSkip() }
        let c = t.shape[-1]
        let logits = t.shape.rank == 2 ? t : try t.reshape([t.shape.count / c, c])
        let ignore: Int32? = chance(0.5) ? -1 : nil
        let targets = try input([logits.shape[0]], .targets(c, ignore: ignore, ignoreFraction: 0.25))
        return try crossEntropy(logits: logits, targets: targets, ignoreIndex: ignore)
    }

    /// `t · mask` with a dropout mask from an i32 seed input.
    mutating func dropout() throws -> Tensor {
        guard let t = pooled() else { throw FuzzSkip() }
        let seedInput = try input([1], .indices(1_000_000))
        saltCount += 1
        let mask = try graph.apply(.dropoutMask(shape: t.shape, keep: pick([0.5, 0.8, 0.9]), salt: saltCount), [seedInput])
        return try t * mask
    }
}

/// A step that does not apply to the current pool; the generator moves on.
private struct FuzzSkip: Error {}

extension Builder: RandomNumberGenerator {
    /// Lets `randomElement(using:)` draw from the builder's seeded stream.
    mutating func next() -> UInt64 { UInt64(rng.next()) << 32 | UInt64(rng.next()) }
}

extension Array {
    /// Up to `count` elements in a random order.
    fileprivate func shuffledPrefix<G: RandomNumberGenerator>(_ count: Int, using generator: inout G) -> [Element] {
        Array(shuffled(using: &generator).prefix(count))
    }
}
