import Foundation
import Testing
import TensorGraph

/// The proportions norm: its reference values, shape rules and gradients against finite differences.
@Suite struct ProportionsNormTests {
    /// A sign pattern for x: magnitudes are drawn in [0.2, 2) and signs alternate irregularly, so
    /// no value lies within a finite-difference step of |x|'s kink at 0.
    static func signs(_ count: Int) -> [Float] { (0..<count).map { ($0 * 7 + $0 / 3) % 3 == 0 ? -1 : 1 } }

    @Test func referenceFollowsTheFormulaPerRow() throws {
        let g = Graph()
        let x = try g.input("x", [2, 3]), gain = try g.input("g", [3]), shift = try g.input("b", [3])
        let outputs = [try x.proportionsNorm(gain: gain), try x.proportionsNorm(gain: gain, shift: shift, eps: 0.5, compression: 1.5)]
        let xs: [Float] = [1, -2, 3, 0.25, 0, -8], gains: [Float] = [1, 0.5, 2], shifts: [Float] = [0.1, -0.2, 0.3]
        let out = try ReferenceBackend().compile(g, outputs: outputs, options: CompileOptions())
            .run(["x": TensorData(shape: [2, 3], floats: xs), "g": TensorData(shape: [3], floats: gains),
                  "b": TensorData(shape: [3], floats: shifts)])
        for (k, (eps, c, hasShift)) in [(1e-5, 4.0, false), (0.5, 1.5, true)].enumerated() {
            for row in 0..<2 {
                let values = xs[(row * 3)..<(row * 3 + 3)].map(Double.init)
                let s = values.map(abs).reduce(0, +) / 3 + eps
                for j in 0..<3 {
                    let expected = c * tanh(values[j] / s / c) * Double(gains[j]) + (hasShift ? Double(shifts[j]) : 0)
                    #expect(abs(Double(out[k].floats[row * 3 + j]) - expected) < 1e-6, "output \(k) [\(row), \(j)]")
                }
            }
        }
        // The soft bound: |y| < c·|gain| however large x is.
        #expect(out[0].floats[5] > -4 * 2 && out[0].floats[5] < -1, "a large value is compressed towards −c·gain")
    }

    @Test func badOperandsAndParametersAreShapeErrors() throws {
        let g = Graph()
        let x = try g.input("x", [4, 5]), gain = try g.input("g", [5]), wrong = try g.input("w", [4])
        #expect(throws: GraphError.self) { try x.proportionsNorm(gain: wrong) }
        #expect(throws: GraphError.self) { try x.proportionsNorm(gain: gain, shift: wrong) }
        #expect(throws: GraphError.self) { try x.proportionsNorm(gain: gain, compression: 0) }
        #expect(throws: GraphError.self) { try x.proportionsNorm(gain: gain, compression: .infinity) }
        #expect(throws: GraphError.self) { try x.proportionsNorm(gain: gain, eps: -1) }
        let scalar = try g.input("s", [])
        #expect(throws: GraphError.self) { try scalar.proportionsNorm(gain: gain) }
        do {
            _ = try x.proportionsNorm(gain: gain, compression: -2)
        } catch let error as GraphError {
            #expect("\(error)".contains("proportionsNorm") && "\(error)".contains("compression -2"), "\(error)")
        }
    }

    @Test func gradientsMatchFiniteDifferences() throws {
        for (shape, c, withShift) in [([3, 5], 4, false), ([2, 1, 7], 1.5, true), ([4, 1], 4, true), ([2, 13], 1.5, false)]
            as [(Shape, Float, Bool)] {
            let n = shape[-1]
            let signs = Self.signs(shape.count)
            var inputs: [FDInput] = [.f32("x", shape, 0.2, 2), .f32("gain", [n], 0.5, 1.5)]
            if withShift { inputs.append(.f32("shift", [n], -1, 1)) }
            try checkGradients("proportionsNorm \(shape) c \(c)\(withShift ? " +shift" : "")", inputs, h: 3e-3) { t in
                let x = try t[0] * t[0].graph.constant(signs, shape: shape)
                return try x.proportionsNorm(gain: t[1], shift: withShift ? t[2] : nil, compression: c)
            }
        }
    }

    /// The module: gain only by default, gain and shift on request; the identity has no parameters.
    @Test func moduleParameters() throws {
        #expect(ProportionsNorm(6).namedParameters().map(\.name) == ["weight"])
        #expect(ProportionsNorm(6, shift: true).namedParameters().map(\.name) == ["weight", "bias"])
        #expect(Identity().namedParameters().isEmpty)
    }
}
