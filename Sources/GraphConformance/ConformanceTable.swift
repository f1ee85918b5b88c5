import TensorGraph

/// The op × shape table every backend is checked against.
///
/// Per op: sizes 1, primes (7, 13, 257), non-multiples of 4/8/16/32/64 (33, 65, 100, 1000),
/// rank 1 to 4 where the op allows, broadcasting (row, column, scalar) for binary ops, every
/// matmul transpose combination, batched matmul, GEMV (M = 1), N = 1, K = 1; and one large case
/// per op (`isLarge`). The whole table runs in a few seconds on the reference backend in a
/// release build.
///
/// Bounds: every op uses ``exact`` (1e-7). Float rounding in any sane f32 implementation
/// (including relaxed-math exp/log, a few ulp) leaves NMSE around 1e-12 to 1e-10 even for
/// 1000-term sums, so no op needs a looser bound; data movement ops should be bit-exact.
///
/// Non-finite values: every op also runs on small inputs holding NaN, ±Inf, ±FLT_MAX and
/// denormals (labels starting `non-finite`, see `nonFiniteCases()`), where the runner requires NaN
/// exactly where the reference has NaN and ±Inf exactly where it has ±Inf.
public enum ConformanceTable {
    /// The default bound: NMSE 1e-7 (relative RMS error about 3e-4).
    public static let exact = 1e-7

    /// Every case, optionally without the large ones.
    public static func cases(includeLarge: Bool = true) -> [ConformanceCase] {
        let all = unaryCases() + binaryCases() + powCases() + compareCases() + selectCases()
            + matmulCases() + reduceCases() + softmaxCases() + normCases() + embeddingCases()
            + layoutCases() + crossEntropyCases() + attentionCases() + gradientOpCases()
            + quantizedMatmulCases() + halfMatmulCases() + dropoutCases() + nonFiniteCases() + decodingCases()
        return includeLarge ? all : all.filter { !$0.isLarge }
    }

    /// The distinct op names in the table.
    public static var ops: [String] {
        var seen = Set<String>()
        return cases().map(\.op).filter { seen.insert($0).inserted }
    }

    // MARK: helpers

    private static func fmt(_ shapes: [Shape]) -> String { shapes.map(\.description).joined(separator: "x") }

    private static func uni(_ lo: Double, _ hi: Double) -> InputFill { .uniform(lo, hi) }

    private static let large: Shape = [512, 1000]

    // MARK: elementwise

    private static func unaryRange(_ op: UnaryOp) -> InputFill {
        switch op {
        case .log, .sqrt, .rsqrt: return uni(0.1, 4)
        case .exp: return uni(-5, 5)
        case .tanh, .gelu, .sigmoid: return uni(-4, 4)
        default: return uni(-3, 3)
        }
    }

    static func unaryCases() -> [ConformanceCase] {
        let shapes: [Shape] = [[1], [7], [257], [1000], [4, 100], [13, 65], [2, 3, 13], [2, 3, 5, 33]]
        var result: [ConformanceCase] = []
        for op in UnaryOp.allCases {
            for (i, s) in (shapes + [large]).enumerated() {
                let isLarge = i == shapes.count
                result.append(ConformanceCase(op: op.rawValue, label: s.description, nmseBound: exact, isLarge: isLarge,
                                              inputs: [.init("x", s, unaryRange(op))]) { t in
                    [try t[0].graph.apply(.unary(op), [t[0]])]
                })
            }
        }
        return result
    }

    /// Shape pairs for broadcasting binary ops: same, row vector, column, scalar (both sides), rank 4.
    private static let binaryShapes: [(Shape, Shape, Bool)] = [
        ([1], [1], false), ([7], [7], false), ([13, 257], [13, 257], false), ([1000], [1000], false),
        ([33, 65], [65], false), ([33, 65], [33, 1], false), ([100], [], false), ([], [100], false),
        ([7, 1], [1, 13], false), ([2, 3, 5, 7], [3, 1, 7], false), ([2, 3, 5, 33], [2, 3, 5, 33], false),
        ([512, 1000], [1000], true),
    ]

    static func binaryCases() -> [ConformanceCase] {
        var result: [ConformanceCase] = []
        for op in BinaryOp.allCases {
            for (a, b, isLarge) in binaryShapes {
                let fb: InputFill = op == .div ? uni(0.5, 2) : uni(-2, 2)
                result.append(ConformanceCase(op: op.rawValue, label: fmt([a, b]), nmseBound: exact, isLarge: isLarge,
                                              inputs: [.init("a", a, uni(-2, 2)), .init("b", b, fb)]) { t in
                    [try t[0].graph.apply(.binary(op), [t[0], t[1]])]
                })
            }
        }
        // The Float-operand builders (scalar constants) once each.
        result.append(ConformanceCase(op: "add", label: "[13, 7]+2.5, 3-x, x*0.5, 1/x", nmseBound: exact,
                                      inputs: [.init("x", [13, 7], uni(0.5, 2))]) { t in
            [try t[0] + 2.5, try 3 - t[0], try t[0] * 0.5, try 1 / t[0]]
        })
        return result
    }

    static func powCases() -> [ConformanceCase] {
        let shapes: [(Shape, Float, Bool)] = [
            ([1], 2, false), ([7], 0.5, false), ([13, 257], 3, false), ([2, 3, 5, 33], -1.5, false),
            ([1000], 2.5, false), (large, 2, true),
        ]
        return shapes.map { s, p, isLarge in
            ConformanceCase(op: "pow", label: "\(s)^\(p)", nmseBound: exact, isLarge: isLarge,
                            inputs: [.init("x", s, uni(0.1, 3))]) { t in [try t[0].pow(p)] }
        }
    }

    static func compareCases() -> [ConformanceCase] {
        let shapes: [(Shape, Shape, Bool)] = [
            ([1], [1], false), ([100], [100], false), ([13, 65], [65], false), ([257], [], false),
            ([2, 3, 5, 7], [5, 1], false), ([7, 1], [1, 13], false), ([512, 1000], [1000], true),
        ]
        var result: [ConformanceCase] = []
        for op in CompareOp.allCases {
            for (a, b, isLarge) in shapes {
                // Small whole numbers so that equality is common.
                result.append(ConformanceCase(op: op.rawValue, label: fmt([a, b]), nmseBound: exact, isLarge: isLarge,
                                              inputs: [.init("a", a, .smallInts(-2, 2)), .init("b", b, .smallInts(-2, 2))]) { t in
                    [try t[0].graph.apply(.compare(op), [t[0], t[1]])]
                })
            }
        }
        return result
    }

    static func selectCases() -> [ConformanceCase] {
        let shapes: [(Shape, Shape, Shape, Bool)] = [
            ([1], [1], [1], false), ([7], [7], [7], false), ([65], [13, 65], [], false),
            ([2, 1, 5, 1], [33], [2, 3, 5, 33], false), ([13, 1], [1, 257], [13, 257], false),
            ([1000], [1000], [1000], false), ([512, 1000], [1000], [512, 1], true),
        ]
        return shapes.map { c, a, b, isLarge in
            ConformanceCase(op: "select", label: fmt([c, a, b]), nmseBound: exact, isLarge: isLarge,
                            inputs: [.init("c", c, .smallInts(0, 1)), .init("a", a, uni(-2, 2)), .init("b", b, uni(-2, 2))]) { t in
                [try select(t[0], t[1], t[2])]
            }
        }
    }

    // MARK: matmul

    static func matmulCases() -> [ConformanceCase] {
        var result: [ConformanceCase] = []
        func add(_ batchA: [Int], _ batchB: [Int], _ m: Int, _ k: Int, _ n: Int, _ tA: Bool, _ tB: Bool, large: Bool = false) {
            let a = Shape(batchA + (tA ? [k, m] : [m, k]))
            let b = Shape(batchB + (tB ? [n, k] : [k, n]))
            let flags = [tA ? "tA" : nil, tB ? "tB" : nil].compactMap { $0 }.joined(separator: " ")
            result.append(ConformanceCase(op: "matmul", label: fmt([a, b]) + (flags.isEmpty ? "" : " " + flags),
                                          nmseBound: exact, isLarge: large,
                                          inputs: [.init("a", a, uni(-1, 1)), .init("b", b, uni(-1, 1))]) { t in
                [try t[0].matmul(t[1], transposeA: tA, transposeB: tB)]
            })
        }
        let combos = [(false, false), (false, true), (true, false), (true, true)]
        // (M, K, N): primes, GEMV (M = 1), N = 1, K = 1, all-ones, non-multiples of tile widths.
        let sizes = [(7, 13, 257), (1, 33, 65), (65, 100, 1), (13, 1, 7), (1, 1, 1), (33, 65, 100), (3, 1000, 5)]
        for (m, k, n) in sizes {
            for (tA, tB) in combos { add([], [], m, k, n, tA, tB) }
        }
        for (tA, tB) in combos {
            add([2, 3], [2, 3], 7, 13, 33, tA, tB)     // batched, rank 4
            add([5], [], 13, 33, 7, tA, tB)           // batched A, shared rank-2 B
        }
        add([4], [4], 1, 64, 17, false, true)         // batched GEMV (decode-style attention scores)
        add([], [], 256, 300, 200, false, false, large: true)
        return result
    }

    // MARK: reductions and softmax

    static func reduceCases() -> [ConformanceCase] {
        let shapes: [(Shape, Int, Bool)] = [
            ([1], 0, false), ([7], 0, false), ([1000], 0, false), ([13, 257], 0, false), ([13, 257], 1, false),
            ([13, 257], -1, true), ([33, 65, 7], 1, false), ([2, 3, 5, 33], 1, false), ([2, 3, 5, 33], 3, true),
            ([2, 3, 5, 33], 0, false),
        ]
        var result: [ConformanceCase] = []
        for op in ReduceOp.allCases {
            for (s, axis, keep) in shapes {
                result.append(ConformanceCase(op: op.rawValue, label: "\(s) axis \(axis)\(keep ? " keepDims" : "")", nmseBound: exact,
                                              inputs: [.init("x", s, uni(-2, 2))]) { t in
                    [try t[0].graph.apply(.reduce(op, axis: axis, keepDims: keep), [t[0]])]
                })
            }
            result.append(ConformanceCase(op: op.rawValue, label: "\(large) axis -1", nmseBound: exact, isLarge: true,
                                          inputs: [.init("x", large, uni(-2, 2))]) { t in
                [try t[0].graph.apply(.reduce(op, axis: -1, keepDims: false), [t[0]])]
            })
        }
        return result
    }

    /// The ops a decoding step added: arg-max (also on non-finite rows) and two embeddings added.
    /// Last in the table: case `i` draws from seed + i, so cases added at the end leave the inputs
    /// of every earlier case as they were.
    static func decodingCases() -> [ConformanceCase] {
        argmaxCases() + embeddingSumCases() + nonFiniteArgmaxCases()
    }

    /// Indices must match exactly (bound 0: one index off among many rows is a tiny NMSE); whole
    /// numbers in a narrow range make ties common, so the first-of-equal-maxima rule is checked.
    static func argmaxCases() -> [ConformanceCase] {
        let shapes: [(Shape, Bool)] = [([1], false), ([7], false), ([13, 257], false), ([2, 3, 65], false), ([33, 1], false),
                                       ([4, 1000], false), (large, true)]
        var result: [ConformanceCase] = []
        for (s, isLarge) in shapes {
            for (fill, what) in [(uni(-2, 2), ""), (.smallInts(-2, 2), " ties")] {
                result.append(ConformanceCase(op: "argmax", label: "\(s)\(what)", nmseBound: 0, isLarge: isLarge,
                                              inputs: [.init("x", s, fill)]) { t in [try t[0].argmax()] })
            }
        }
        return result
    }

    static func softmaxCases() -> [ConformanceCase] {
        let shapes: [(Shape, Int, Bool)] = [
            ([1], -1, false), ([7], -1, false), ([1000], -1, false), ([13, 257], -1, false), ([33, 65], 0, false),
            ([2, 13, 7], 1, false), ([2, 3, 5, 33], -1, false), ([4, 100], -1, false), (large, -1, true),
        ]
        var result: [ConformanceCase] = []
        for log in [false, true] {
            for (s, axis, isLarge) in shapes {
                result.append(ConformanceCase(op: log ? "logSoftmax" : "softmax", label: "\(s) axis \(axis)", nmseBound: exact,
                                              isLarge: isLarge, inputs: [.init("x", s, uni(-5, 5))]) { t in
                    [log ? try t[0].logSoftmax(axis: axis) : try t[0].softmax(axis: axis)]
                })
            }
        }
        return result
    }

    static func normCases() -> [ConformanceCase] {
        let shapes: [(Shape, Bool)] = [
            ([1], false), ([7], false), ([13, 257], false), ([2, 3, 65], false), ([2, 3, 5, 33], false),
            ([4, 1000], false), ([33, 100], false), (large, true),
        ]
        var result: [ConformanceCase] = []
        for (s, isLarge) in shapes {
            let c = s[-1]
            result.append(ConformanceCase(op: "layerNorm", label: s.description, nmseBound: exact, isLarge: isLarge,
                                          inputs: [.init("x", s, uni(-2, 3)), .init("g", [c], uni(0.5, 1.5)), .init("b", [c], uni(-0.5, 0.5))]) { t in
                [try t[0].layerNorm(gain: t[1], bias: t[2])]
            })
            result.append(ConformanceCase(op: "rmsNorm", label: s.description, nmseBound: exact, isLarge: isLarge,
                                          inputs: [.init("x", s, uni(-2, 3)), .init("g", [c], uni(0.5, 1.5))]) { t in
                [try t[0].rmsNorm(gain: t[1])]
            })
            result.append(layerNormGradCase(s, isLarge: isLarge, operands: LayerNormOperand.allCases,
                                            x: uni(-2, 3), gain: uni(0.5, 1.5), dy: uni(-1, 1)))
            // Default compression 4; with a shift and compression 1.5 (u reaches ~3, deep in tanh's bend).
            result.append(ConformanceCase(op: "proportionsNorm", label: s.description, nmseBound: exact, isLarge: isLarge,
                                          inputs: [.init("x", s, uni(-2, 3)), .init("g", [c], uni(0.5, 1.5))]) { t in
                [try t[0].proportionsNorm(gain: t[1])]
            })
            result.append(ConformanceCase(op: "proportionsNorm", label: "\(s) +shift c 1.5", nmseBound: exact, isLarge: isLarge,
                                          inputs: [.init("x", s, uni(-2, 3)), .init("g", [c], uni(0.5, 1.5)), .init("b", [c], uni(-0.5, 0.5))]) { t in
                [try t[0].proportionsNorm(gain: t[1], shift: t[2], compression: 1.5)]
            })
        }
        return result
    }

    /// The layer norm's backward for `operands` (one node each, computed together where the backend can).
    static func layerNormGradCase(_ s: Shape, label: String? = nil, isLarge: Bool = false, operands: [LayerNormOperand],
                                  x: InputFill, gain: InputFill, dy: InputFill) -> ConformanceCase {
        let names = operands.map { "d" + $0.rawValue }.joined(separator: ", ")
        return ConformanceCase(op: "layerNormGrad", label: "\(label ?? s.description) \(names)", nmseBound: exact, isLarge: isLarge,
                               inputs: [.init("x", s, x), .init("g", [s[-1]], gain), .init("dy", s, dy)]) { t in
            try operands.map { try t[0].graph.apply(.layerNormGrad(eps: 1e-5, operand: $0), [t[0], t[1], t[2]]) }
        }
    }

    // MARK: indexing and layout

    static func embeddingCases() -> [ConformanceCase] {
        let shapes: [(Int, Int, Shape, Bool)] = [
            (1, 1, [1], false), (7, 13, [5], false), (257, 33, [4, 7], false), (65, 100, [2, 3, 5], false),
            (1000, 16, [33], false), (13, 7, [], false), (1000, 1024, [8, 128], true),
        ]
        return shapes.map { v, c, idx, isLarge in
            ConformanceCase(op: "embedding", label: "[\(v), \(c)] by \(idx)", nmseBound: exact, isLarge: isLarge,
                            inputs: [.init("table", [v, c], uni(-1, 1)), .init("idx", idx, .indices(v))]) { t in
                [try embedding(t[0], t[1])]
            }
        }
    }

    /// Two gathers added (token + position embeddings, one launch where the backend fuses them):
    /// the second broadcast over the leading rows, or the first reshaped as a decode step does.
    static func embeddingSumCases() -> [ConformanceCase] {
        let sums: [(Int, Int, Shape, Int, Shape, Shape?)] = [
            (13, 33, [4, 7], 7, [7], nil), (65, 100, [3, 1], 64, [3], [3, 100]), (5, 16, [6], 9, [6], nil), (1, 1, [1], 1, [1], nil),
            (27, 257, [2, 3], 5, [2, 3], nil),
        ]
        return sums.map { va, c, ia, vb, ib, reshape in
            ConformanceCase(op: "embedding", label: "[\(va), \(c)] by \(ia) + [\(vb), \(c)] by \(ib)" + (reshape.map { " as \($0)" } ?? ""),
                            nmseBound: exact, inputs: [.init("a", [va, c], uni(-1, 1)), .init("ia", ia, .indices(va)),
                                                       .init("b", [vb, c], uni(-1, 1)), .init("ib", ib, .indices(vb))]) { t in
                let first = try embedding(t[0], t[1])
                return [try (reshape.map { try first.reshape($0) } ?? first) + embedding(t[2], t[3])]
            }
        }
    }

    static func layoutCases() -> [ConformanceCase] {
        var result: [ConformanceCase] = []
        let reshapes: [(Shape, Shape, Bool)] = [
            ([13, 257], [257, 13], false), ([2, 3, 5, 33], [6, -1], false), ([1], [], false),
            ([1000], [10, 10, 10], false), ([7, 13], [91], false), (large, [1000, 512], true),
        ]
        for (s, to, isLarge) in reshapes {
            result.append(ConformanceCase(op: "reshape", label: "\(s) to \(to)", nmseBound: exact, isLarge: isLarge,
                                          inputs: [.init("x", s, uni(-1, 1))]) { t in [try t[0].reshape(to)] })
        }
        result.append(ConformanceCase(op: "reshape", label: "i32 [4, 33] to [132]", nmseBound: exact,
                                      inputs: [.init("x", [4, 33], .indices(1000))]) { t in [try t[0].reshape([132])] })

        let permutes: [(Shape, [Int], Bool)] = [
            ([13, 257], [1, 0], false), ([1, 7], [1, 0], false), ([7, 13, 33], [0, 2, 1], false),
            ([2, 3, 5, 33], [3, 1, 0, 2], false), ([2, 3, 5, 7], [0, 2, 1, 3], false), ([1000], [0], false),
            // GPT head split/merge: runs of exactly 16 (vector width) and of 37 (two vectors + a tail).
            ([3, 5, 4, 16], [0, 2, 1, 3], false), ([2, 7, 3, 37], [0, 2, 1, 3], false),
            (large, [1, 0], true),
        ]
        for (s, axes, isLarge) in permutes {
            result.append(ConformanceCase(op: "permute", label: "\(s) by \(axes)", nmseBound: exact, isLarge: isLarge,
                                          inputs: [.init("x", s, uni(-1, 1))]) { t in [try t[0].permute(axes)] })
        }

        let slices: [(Shape, Int, Int, Int, Bool)] = [
            ([13, 257], 1, 3, 200, false), ([13, 257], 0, 0, 1, false), ([2, 3, 5, 33], 2, 1, 4, false),
            ([2, 3, 5, 33], -1, 32, 33, false), ([1000], 0, 1, 999, false), ([7], 0, 0, 7, false),
            ([3, 8192], 0, 1, 2, false),  // one contiguous run of 8192, cut into pieces across work-items
            (large, 1, 100, 900, true),
        ]
        for (s, axis, start, end, isLarge) in slices {
            result.append(ConformanceCase(op: "slice", label: "\(s) axis \(axis) \(start)..<\(end)", nmseBound: exact, isLarge: isLarge,
                                          inputs: [.init("x", s, uni(-1, 1))]) { t in [try t[0].slice(axis: axis, start: start, end: end)] })
        }

        let concats: [([Shape], Int, Bool)] = [
            ([[7], [13]], 0, false), ([[13, 65], [13, 1], [13, 100]], 1, false), ([[2, 3, 5, 33], [2, 1, 5, 33]], 1, false),
            ([[1], [1]], 0, false), ([[33, 7], [65, 7]], 0, false), ([[7, 13]], 0, false),
            ([[2, 3, 5, 7], [2, 3, 5, 1]], -1, false), ([[512, 1000], [512, 24]], 1, true),
        ]
        for (shapes, axis, isLarge) in concats {
            let ins = shapes.enumerated().map { ConformanceInput("x\($0.offset)", $0.element, uni(-1, 1)) }
            result.append(ConformanceCase(op: "concat", label: "\(fmt(shapes)) axis \(axis)", nmseBound: exact, isLarge: isLarge,
                                          inputs: ins) { t in [try concat(t, axis: axis)] })
        }
        return result
    }

    // MARK: loss and attention

    static func crossEntropyCases() -> [ConformanceCase] {
        let shapes: [(Int, Int, Int32?, Double, Bool)] = [
            (1, 1, nil, 0, false), (7, 13, nil, 0, false), (33, 257, nil, 0, false), (100, 65, nil, 0, false),
            (1, 1000, nil, 0, false),
            (13, 7, -100, 0.3, false),   // some rows ignored
            (16, 7, 0, 0.3, false),      // ignore index that is also a valid class
            (5, 7, -1, 1.0, false),      // every row ignored: 0
            (512, 1000, -1, 0.1, true),
        ]
        return shapes.map { n, c, ignore, fraction, isLarge in
            let label = "[\(n), \(c)]" + (ignore.map { " ignore \($0)" + (fraction >= 1 ? " (all)" : "") } ?? "")
            return ConformanceCase(op: "crossEntropy", label: label, nmseBound: exact, isLarge: isLarge,
                                   inputs: [.init("logits", [n, c], uni(-4, 4)),
                                            .init("targets", [n], .targets(c, ignore: ignore, ignoreFraction: fraction))]) { t in
                [try crossEntropy(logits: t[0], targets: t[1], ignoreIndex: ignore)]
            }
        }
    }

    /// The ops only autograd emits: the embedding scatter-add and the fused cross-entropy backward.
    static func gradientOpCases() -> [ConformanceCase] {
        var result: [ConformanceCase] = []
        let embeddings: [(Int, Int, Shape, Bool)] = [
            (1, 1, [1], false), (7, 13, [5], false), (27, 48, [128, 3], false), (3, 33, [4, 7], false),
            (65, 100, [2, 3, 5], false), (13, 7, [], false), (65, 1024, [8, 96], true),
        ]
        for (v, c, idx, isLarge) in embeddings {
            result.append(ConformanceCase(op: "embeddingGrad", label: "[\(v), \(c)] from \(idx)", nmseBound: exact, isLarge: isLarge,
                                          inputs: [.init("idx", idx, .indices(v)), .init("dy", Shape(idx.dims + [c]), uni(-1, 1))]) { t in
                [try embeddingGrad(indices: t[0], gradient: t[1], vocabularySize: v)]
            })
        }
        let losses: [(Int, Int, Int32?, Double, Bool)] = [
            (1, 1, nil, 0, false), (7, 13, nil, 0, false), (128, 27, nil, 0, false), (33, 65, nil, 0, false),
            (13, 7, -100, 0.3, false), (5, 7, -1, 1.0, false), (512, 1000, -1, 0.1, true),
        ]
        for (n, c, ignore, fraction, isLarge) in losses {
            let label = "[\(n), \(c)]" + (ignore.map { " ignore \($0)" + (fraction >= 1 ? " (all)" : "") } ?? "")
            result.append(ConformanceCase(op: "crossEntropyGrad", label: label, nmseBound: exact, isLarge: isLarge,
                                          inputs: [.init("logits", [n, c], uni(-4, 4)),
                                                   .init("targets", [n], .targets(c, ignore: ignore, ignoreFraction: fraction)),
                                                   .init("g", [], uni(0.5, 2))]) { t in
                [try crossEntropyGrad(logits: t[0], targets: t[1], upstream: t[2], ignoreIndex: ignore)]
            })
        }
        return result
    }

    static func attentionCases() -> [ConformanceCase] {
        // (q, k, v, causal, scale)
        let shapes: [(Shape, Shape, Shape, Bool, Float?, Bool)] = [
            ([7, 13], [7, 13], [7, 13], false, nil, false),
            ([7, 13], [7, 13], [7, 13], true, nil, false),
            ([1, 1], [1, 1], [1, 1], true, nil, false),
            ([2, 3, 13, 33], [2, 3, 13, 33], [2, 3, 13, 33], true, nil, false),
            ([2, 3, 13, 33], [2, 3, 13, 33], [2, 3, 13, 33], false, 0.5, false),
            ([2, 5, 16], [2, 33, 16], [2, 33, 7], false, nil, false),   // Tq < Tk
            ([2, 5, 16], [2, 33, 16], [2, 33, 7], true, nil, false),    // Tq < Tk, causal aligned at the end
            ([1, 2, 1, 32], [1, 2, 65, 32], [1, 2, 65, 32], true, nil, false), // decode step
            ([33, 8], [7, 8], [7, 5], false, nil, false),               // Tq > Tk
            ([2, 13, 65], [2, 13, 65], [2, 13, 65], true, nil, false),
            ([1, 2, 128, 32], [1, 2, 128, 32], [1, 2, 128, 32], true, nil, true),
        ]
        return shapes.map { q, k, v, causal, scale, isLarge in
            let label = fmt([q, k, v]) + (causal ? " causal" : "") + (scale.map { " scale \($0)" } ?? "")
            return ConformanceCase(op: "attention", label: label, nmseBound: exact, isLarge: isLarge,
                                   inputs: [.init("q", q, uni(-1, 1)), .init("k", k, uni(-1, 1)), .init("v", v, uni(-1, 1))]) { t in
                [try attention(q: t[0], k: t[1], v: t[2], causal: causal, scale: scale)]
            }
        }
    }

    // MARK: dropout

    /// Masks must be bit-identical to the reference's (the same hash), including the scalar tails.
    static func dropoutCases() -> [ConformanceCase] {
        let shapes: [(Shape, Float, Bool)] = [([1], 0.5, false), ([7], 0.9, false), ([13, 65], 0.8, false), ([2, 3, 5, 33], 0.5, false),
                                              ([4097], 0.999, false), (large, 0.9, true)]
        return shapes.enumerated().map { index, item in
            let (s, keep, isLarge) = item
            return ConformanceCase(op: "dropout", label: "\(s) keep \(keep)", nmseBound: exact, isLarge: isLarge,
                                   inputs: [.init("x", s, uni(-1, 1)), .init("seed", [1], .indices(1_000_000))]) { t in
                let mask = try t[0].graph.apply(.dropoutMask(shape: s, keep: keep, salt: UInt32(index)), [t[1]])
                return [mask, try dropout(t[0], rate: 1 - keep, seed: t[1], salt: UInt32(index + 7))]
            }
        }
    }
}
