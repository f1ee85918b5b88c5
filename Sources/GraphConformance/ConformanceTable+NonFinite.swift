import TensorGraph

extension ConformanceTable {
    /// Ordinary values with a few IEEE specials (NaN, ±Inf, ±FLT_MAX, ±denormals) at seeded positions.
    private static func special(_ base: InputFill, _ count: Int, _ kinds: SpecialValues = .all) -> InputFill {
        .withSpecials(base, count: count, kinds: kinds)
    }

    private static func label(_ shapes: [Shape], _ extra: String = "") -> String {
        "non-finite " + shapes.map(\.description).joined(separator: "x") + extra
    }

    /// Every op on small inputs holding NaN, ±Inf, ±FLT_MAX and denormals. The runner holds the
    /// device to the reference's non-finite positions exactly (NaN where it is NaN, ±Inf where it is
    /// ±Inf) and to ``exact`` NMSE over the rest. Shapes are small and include non-multiples of 16 so
    /// the vector tails meet the specials too; index inputs (embedding rows, targets) stay valid.
    /// The rules the reference defines where IEEE leaves a choice are in the ops' doc comments
    /// (e.g. ``ReduceOp/max``, ``BinaryOp/maximum``, ``UnaryOp/relu``, ``Tensor/softmax(axis:)``).
    static func nonFiniteCases() -> [ConformanceCase] {
        nonFiniteElementwiseCases() + nonFiniteMatmulCases() + nonFiniteRowCases() + nonFiniteIndexAndLayoutCases()
            + nonFiniteLossAndAttentionCases() + nonFiniteQuantizedMatmulCases()
    }

    /// Arg-max over rows holding NaN and ±Inf (the first NaN wins, then the first of equal maxima).
    static func nonFiniteArgmaxCases() -> [ConformanceCase] {
        [[13, 37], [33], [5, 2]].map { (s: Shape) in
            ConformanceCase(op: "argmax", label: label([s]), nmseBound: 0,
                            inputs: [.init("x", s, special(.uniform(-2, 2), 6))]) { t in [try t[0].argmax()] }
        }
    }

    private static func nonFiniteElementwiseCases() -> [ConformanceCase] {
        var result: [ConformanceCase] = []
        for op in UnaryOp.allCases {
            for s: Shape in [[7], [4, 37]] {
                result.append(ConformanceCase(op: op.rawValue, label: label([s]), nmseBound: exact,
                                              inputs: [.init("x", s, special(.uniform(-3, 3), 7))]) { t in
                    [try t[0].graph.apply(.unary(op), [t[0]])]
                })
            }
        }
        for op in BinaryOp.allCases {
            for (a, b) in [([33], [33]), ([7, 37], [37]), ([5, 1], [1, 19])] as [(Shape, Shape)] {
                result.append(ConformanceCase(op: op.rawValue, label: label([a, b]), nmseBound: exact,
                                              inputs: [.init("a", a, special(.uniform(-2, 2), 7)),
                                                       .init("b", b, special(.uniform(-2, 2), 5))]) { t in
                    [try t[0].graph.apply(.binary(op), [t[0], t[1]])]
                })
            }
        }
        for p: Float in [2, 3, 0.5, -0.5, -1, 2.5, -1.5] {
            result.append(ConformanceCase(op: "pow", label: label([[37]], "^\(p)"), nmseBound: exact,
                                          inputs: [.init("x", [37], special(.uniform(-3, 3), 7))]) { t in [try t[0].pow(p)] })
        }
        for op in CompareOp.allCases {
            result.append(ConformanceCase(op: op.rawValue, label: label([[7, 37], [37]]), nmseBound: exact,
                                          inputs: [.init("a", [7, 37], special(.smallInts(-2, 2), 9)),
                                                   .init("b", [37], special(.smallInts(-2, 2), 5))]) { t in
                [try t[0].graph.apply(.compare(op), [t[0], t[1]])]
            })
        }
        result.append(ConformanceCase(op: "select", label: label([[33], [33], [33]]), nmseBound: exact,
                                      inputs: [.init("c", [33], special(.smallInts(0, 1), 4)), .init("a", [33], special(.uniform(-2, 2), 7)),
                                               .init("b", [33], special(.uniform(-2, 2), 7))]) { t in [try select(t[0], t[1], t[2])] })
        return result
    }

    private static func nonFiniteMatmulCases() -> [ConformanceCase] {
        var result: [ConformanceCase] = []
        // (batch A, batch B, M, K, N, tA, tB); one or two specials per operand so most rows and
        // columns stay finite and the NaN / ±Inf rows and columns are checked position by position.
        let shapes: [([Int], [Int], Int, Int, Int, Bool, Bool)] = [
            ([], [], 7, 13, 33, false, false), ([], [], 7, 13, 33, true, true), ([], [], 1, 37, 19, false, true),
            ([], [], 33, 19, 17, true, false), ([2], [2], 5, 17, 9, false, false), ([3], [], 5, 16, 37, false, true),
        ]
        for (batchA, batchB, m, k, n, tA, tB) in shapes {
            let a = Shape(batchA + (tA ? [k, m] : [m, k])), b = Shape(batchB + (tB ? [n, k] : [k, n]))
            let flags = [tA ? " tA" : "", tB ? " tB" : ""].joined()
            result.append(ConformanceCase(op: "matmul", label: label([a, b], flags), nmseBound: exact,
                                          inputs: [.init("a", a, special(.uniform(-1, 1), 2, [.nan, .infinities, .denormals])),
                                                   .init("b", b, special(.uniform(-1, 1), 1, [.nan, .infinities, .denormals]))]) { t in
                [try t[0].matmul(t[1], transposeA: tA, transposeB: tB)]
            })
        }
        return result
    }

    private static func nonFiniteRowCases() -> [ConformanceCase] {
        var result: [ConformanceCase] = []
        let reduceShapes: [(Shape, Int)] = [([13, 37], 1), ([13, 37], 0), ([2, 3, 33], 1), ([33], 0)]
        for op in ReduceOp.allCases {
            for (s, axis) in reduceShapes {
                result.append(ConformanceCase(op: op.rawValue, label: label([s], " axis \(axis)"), nmseBound: exact,
                                              inputs: [.init("x", s, special(.uniform(-2, 2), 6))]) { t in
                    [try t[0].graph.apply(.reduce(op, axis: axis, keepDims: false), [t[0]])]
                })
            }
        }
        // A [13, 1] row is one value: a −Inf there is a row of −Inf only.
        let softmaxShapes: [(Shape, Int)] = [([7, 37], -1), ([33], -1), ([13, 1], -1), ([19, 5], 0), ([2, 5, 17], 1)]
        for log in [false, true] {
            for (s, axis) in softmaxShapes {
                result.append(ConformanceCase(op: log ? "logSoftmax" : "softmax", label: label([s], " axis \(axis)"), nmseBound: exact,
                                              inputs: [.init("x", s, special(.uniform(-5, 5), 5))]) { t in
                    [log ? try t[0].logSoftmax(axis: axis) : try t[0].softmax(axis: axis)]
                })
            }
        }
        // No ±FLT_MAX in x: the device's float32 variance overflows (x² = Inf, so rsqrt gives 0 and the
        // row its bias) where the reference's Double variance does not; NaN, ±Inf and denormals agree.
        let normSpecials: SpecialValues = [.nan, .infinities, .denormals]
        for s: Shape in [[7, 37], [3, 33], [5, 16]] {
            let c = s[-1]
            result.append(ConformanceCase(op: "layerNorm", label: label([s]), nmseBound: exact,
                                          inputs: [.init("x", s, special(.uniform(-2, 3), 3, normSpecials)), .init("g", [c], special(.uniform(0.5, 1.5), 1, [.nan, .infinities])),
                                                   .init("b", [c], .uniform(-0.5, 0.5))]) { t in
                [try t[0].layerNorm(gain: t[1], bias: t[2])]
            })
            result.append(layerNormGradCase(s, label: label([s]), operands: LayerNormOperand.allCases,
                                            x: special(.uniform(-2, 3), 3, normSpecials), gain: special(.uniform(0.5, 1.5), 1, [.nan, .infinities]),
                                            dy: special(.uniform(-1, 1), 2, [.nan, .infinities])))
            result.append(ConformanceCase(op: "rmsNorm", label: label([s]), nmseBound: exact,
                                          inputs: [.init("x", s, special(.uniform(-2, 3), 3, normSpecials)), .init("g", [c], special(.uniform(0.5, 1.5), 1, [.nan, .infinities]))]) { t in
                [try t[0].rmsNorm(gain: t[1])]
            })
            result.append(ConformanceCase(op: "proportionsNorm", label: label([s]), nmseBound: exact,
                                          inputs: [.init("x", s, special(.uniform(-2, 3), 3, normSpecials)), .init("g", [c], special(.uniform(0.5, 1.5), 1, [.nan, .infinities])),
                                                   .init("b", [c], special(.uniform(-0.5, 0.5), 1, [.nan, .infinities]))]) { t in
                [try t[0].proportionsNorm(gain: t[1], shift: t[2], compression: 2)]
            })
        }
        return result
    }

    private static func nonFiniteIndexAndLayoutCases() -> [ConformanceCase] {
        var result: [ConformanceCase] = []
        for (v, c, idx) in [(7, 37, [5]), (13, 16, [4, 3])] as [(Int, Int, Shape)] {
            result.append(ConformanceCase(op: "embedding", label: label([[v, c]], " by \(idx)"), nmseBound: exact,
                                          inputs: [.init("table", [v, c], special(.uniform(-1, 1), 9)), .init("idx", idx, .indices(v))]) { t in
                [try embedding(t[0], t[1])]
            })
            result.append(ConformanceCase(op: "embeddingGrad", label: label([[v, c]], " from \(idx)"), nmseBound: exact,
                                          inputs: [.init("idx", idx, .indices(v)), .init("dy", Shape(idx.dims + [c]), special(.uniform(-1, 1), 9))]) { t in
                [try embeddingGrad(indices: t[0], gradient: t[1], vocabularySize: v)]
            })
        }
        let x: Shape = [2, 3, 37]
        let layouts: [(String, String, @Sendable (Tensor) throws -> Tensor)] = [
            ("reshape", " to [6, 37]", { try $0.reshape([6, 37]) }),
            ("permute", " by [2, 0, 1]", { try $0.permute([2, 0, 1]) }),
            ("slice", " axis 2 3..<36", { try $0.slice(axis: 2, start: 3, end: 36) }),
            ("concat", " with itself, axis 1", { try concat([$0, $0], axis: 1) }),
        ]
        for (op, extra, body) in layouts {
            result.append(ConformanceCase(op: op, label: label([x], extra), nmseBound: exact,
                                          inputs: [.init("x", x, special(.uniform(-1, 1), 14))]) { t in [try body(t[0])] })
        }
        result.append(ConformanceCase(op: "dropout", label: label([[5, 37]], " keep 0.5"), nmseBound: exact,
                                      inputs: [.init("x", [5, 37], special(.uniform(-1, 1), 14)), .init("seed", [1], .indices(1_000_000))]) { t in
            [try dropout(t[0], rate: 0.5, seed: t[1], salt: 3)]
        })
        return result
    }

    private static func nonFiniteLossAndAttentionCases() -> [ConformanceCase] {
        var result: [ConformanceCase] = []
        let losses: [(Int, Int, Int32?, Double)] = [(7, 37, nil, 0), (33, 7, nil, 0), (13, 1, nil, 0), (16, 19, -1, 0.3)]
        for (n, c, ignore, fraction) in losses {
            let extra = ignore.map { " ignore \($0)" } ?? ""
            let inputs: [ConformanceInput] = [.init("logits", [n, c], special(.uniform(-4, 4), 4)),
                                              .init("targets", [n], .targets(c, ignore: ignore, ignoreFraction: fraction))]
            result.append(ConformanceCase(op: "crossEntropy", label: label([[n, c]], extra), nmseBound: exact, inputs: inputs) { t in
                [try crossEntropy(logits: t[0], targets: t[1], ignoreIndex: ignore)]
            })
            result.append(ConformanceCase(op: "crossEntropyGrad", label: label([[n, c]], extra), nmseBound: exact,
                                          inputs: inputs + [.init("g", [], .uniform(0.5, 2))]) { t in
                [try crossEntropyGrad(logits: t[0], targets: t[1], upstream: t[2], ignoreIndex: ignore)]
            })
        }
        // One special in q, k or v each: a NaN / ±Inf query row, key column or value row. Causal
        // cases keep v finite: the unfused lowering multiplies a masked key's probability (0) by its
        // value row, so a non-finite masked value gives NaN there (Op.attention documents this); a
        // masked key's score is never read by either lowering, so k holds specials in every case.
        let attentions: [(Shape, Shape, Shape, Bool)] = [
            ([7, 13], [7, 13], [7, 13], false), ([7, 13], [7, 13], [7, 13], true),
            ([2, 5, 16], [2, 33, 16], [2, 33, 7], true), ([33, 8], [7, 8], [7, 5], false),
            ([1, 2, 19, 33], [1, 2, 19, 33], [1, 2, 19, 33], true), ([2, 19, 33], [2, 37, 33], [2, 37, 17], false),
        ]
        for (q, k, v, causal) in attentions {
            let specials: SpecialValues = [.nan, .infinities]
            result.append(ConformanceCase(op: "attention", label: label([q, k, v], causal ? " causal" : ""), nmseBound: exact,
                                          inputs: [.init("q", q, special(.uniform(-1, 1), 1, specials)),
                                                   .init("k", k, special(.uniform(-1, 1), 1, specials)),
                                                   .init("v", v, special(.uniform(-1, 1), causal ? 0 : 1, specials))]) { t in
                [try attention(q: t[0], k: t[1], v: t[2], causal: causal, scale: nil)]
            })
        }
        return result
    }

    /// `linear(x, W)` with W quantized and a NaN in x. No ±Inf for the block formats: `quant`
    /// variant 3 (the CPU default) quantizes x to integers, which cannot carry an Inf, and gives
    /// NaN for the x row where the float product has ±Inf per output (quant.cl's header documents
    /// this). `f16` weights multiply in f32, so its x holds NaN, ±Inf and denormals; not ±FLT_MAX,
    /// which its variant 3 (half products) rounds to ±Inf as it rounds x to half.
    private static func nonFiniteQuantizedMatmulCases() -> [ConformanceCase] {
        var result: [ConformanceCase] = []
        for format in QuantFormat.allCases {
            let kinds: SpecialValues = format == .f16 ? [.nan, .infinities, .denormals] : .nan
            for (x, n) in [([3, 64], 13), ([7, 32], 37)] as [(Shape, Int)] {
                let k = x[-1]
                var c = ConformanceCase(
                    op: "matmul.\(format.rawValue)", label: label([x], "x\(format.rawValue) [\(n), \(k)]ᵀ"), nmseBound: exact,
                    build: { g in
                        [try linear(try g.input("x", x), weight: try g.variable("w", [n, k], dtype: format.dtype), bias: nil)]
                    },
                    feeds: { rng in ["x": special(.uniform(-1, 1), 2, kinds).generate(x, &rng)] })
                c.variables = { rng in ["w": try! InputFill.uniform(-1, 1).generate([n, k], &rng).quantized(format)] }
                c.shortcutBound = { shortcuts in
                    if format == .f16 { return shortcuts.contains(.halfPrecisionProducts) ? halfProductBound : nil }
                    return shortcuts.contains(.quantizedActivations) ? quantizedXBound(format) : nil
                }
                result.append(c)
            }
        }
        return result
    }
}
