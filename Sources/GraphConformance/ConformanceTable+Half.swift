import TensorGraph

extension ConformanceTable {
    /// NMSE bound of the `f16` family's variant 3, which rounds x and each product to half:
    /// relative error ≤ 2⁻¹¹ per rounding, NMSE ≲ 1e-6 even for one term (OpenCL backend's
    /// `HalfMatmulFamily.halfProductBound`).
    static let halfProductBound = 1e-5

    /// `linear(x, W)` with W an `f16` variable `[N, K]`: K any length (1, primes, 16k ± 1, 4095),
    /// awkward N and batch, rank-3 x, with and without a bias, and weights with NaN and values past
    /// half's range (±inf once stored), whose non-finite outputs must land where the reference's do.
    /// The reference widens the stored halves and runs the float matmul, so the bound is ``exact``
    /// where products are in f32; where the backend may multiply in half
    /// (``NumericShortcuts/halfPrecisionProducts``) the bound is ``halfProductBound``.
    static func halfMatmulCases() -> [ConformanceCase] {
        // (x shape, N, bias, large, non-finite weights)
        let shapes: [(Shape, Int, Bool, Bool, Bool)] = [
            ([1, 1], 1, false, false, false), ([1, 17], 7, true, false, false), ([3, 15], 13, false, false, false),
            ([7, 33], 257, true, false, false), ([33, 64], 5, false, false, false), ([2, 3, 100], 9, true, false, false),
            ([5, 48], 11, false, false, true), ([1, 4095], 33, true, true, false), ([8, 4096], 65, false, true, false),
        ]
        return shapes.map { x, n, hasBias, large, nonFinite in
            let k = x[-1]
            let label = "\(x)xf16 [\(n), \(k)]ᵀ" + (hasBias ? " + bias" : "") + (nonFinite ? " (W with NaN, ±65536 → ±inf)" : "")
            var c = ConformanceCase(
                op: "matmul.f16", label: label, nmseBound: exact, isLarge: large,
                build: { g in
                    let input = try g.input("x", x)
                    let w = try g.variable("w", [n, k], dtype: .f16)
                    let b = hasBias ? try g.variable("b", [n]) : nil
                    return [try linear(input, weight: w, bias: b)]
                },
                feeds: { rng in ["x": InputFill.uniform(-1, 1).generate(x, &rng)] })
            c.variables = { rng in
                var w = InputFill.uniform(-1, 1).generate([n, k], &rng).floats
                if nonFinite {
                    // Row 1 holds a NaN, row 4 overflows to +inf, row 7 to −inf; the other rows stay finite.
                    w[1 * k + 3] = .nan
                    w[4 * k + 5] = 65536
                    w[7 * k] = -1e6
                }
                var values = ["w": try! TensorData(shape: [n, k], floats: w).quantized(.f16)]
                if hasBias { values["b"] = InputFill.uniform(-1, 1).generate([n], &rng) }
                return values
            }
            c.shortcutBound = { shortcuts in shortcuts.contains(.halfPrecisionProducts) ? halfProductBound : nil }
            return c
        }
    }
}
