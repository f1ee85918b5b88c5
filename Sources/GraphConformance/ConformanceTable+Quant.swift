import TensorGraph

extension ConformanceTable {
    /// NMSE bound for the OpenCL backend's x-quantizing `quant` variant 3: q8_0 (int16 x, measured
    /// ≤ 3.5e-10) stays within ``exact``; q4_0 (int8 x) 1e-3 (measured 5.1e-4 on the single-output
    /// [1, 32]x[1, 32]ᵀ case, where one dot product's relative error is the whole NMSE; ~1e-5 on
    /// wide outputs).
    static func quantizedXBound(_ format: QuantFormat) -> Double { format == .q8_0 ? exact : 1e-3 }

    /// `linear(x, W)` with W a `q8_0` / `q4_0` variable `[N, K]`: awkward N and batch (1, primes,
    /// rank-3 x), K = 32, 64, 96 and 4096 (the large case), with and without a bias. The reference
    /// dequantizes W and runs the float matmul, so the bound is ``exact``, except where the backend
    /// may quantize x per 32-block first (``NumericShortcuts/quantizedActivations``); there the
    /// bound is ``quantizedXBound(_:)``. (K not a multiple of 32 is refused when the variable is declared;
    /// TensorGraph's tests check that message.)
    static func quantizedMatmulCases() -> [ConformanceCase] {
        var result: [ConformanceCase] = []
        // (x shape, N, bias, large)
        let shapes: [(Shape, Int, Bool, Bool)] = [
            ([1, 32], 1, false, false), ([1, 64], 7, true, false), ([3, 96], 13, false, false), ([7, 32], 257, true, false),
            ([33, 64], 5, false, false), ([2, 3, 96], 9, true, false), ([1, 4096], 33, true, true), ([8, 4096], 65, false, true),
        ]
        for format in QuantFormat.allCases where format != .f16 {
            for (x, n, hasBias, large) in shapes {
                let k = x[-1]
                let label = "\(x)x\(format.rawValue) [\(n), \(k)]ᵀ" + (hasBias ? " + bias" : "")
                var c = ConformanceCase(
                    op: "matmul.\(format.rawValue)", label: label, nmseBound: exact, isLarge: large,
                    build: { g in
                        let input = try g.input("x", x)
                        let w = try g.variable("w", [n, k], dtype: format.dtype)
                        let b = hasBias ? try g.variable("b", [n]) : nil
                        return [try linear(input, weight: w, bias: b)]
                    },
                    feeds: { rng in ["x": InputFill.uniform(-1, 1).generate(x, &rng)] })
                c.variables = { rng in
                    let w = InputFill.uniform(-1, 1).generate([n, k], &rng)
                    var values = ["w": try! w.quantized(format)]
                    if hasBias { values["b"] = InputFill.uniform(-1, 1).generate([n], &rng) }
                    return values
                }
                c.shortcutBound = { shortcuts in shortcuts.contains(.quantizedActivations) ? quantizedXBound(format) : nil }
                result.append(c)
            }
        }
        return result
    }
}
