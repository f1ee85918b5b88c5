import Testing
import TensorGraph

/// Finite-difference checks of matmul: the four transpose combinations, batched, and B shared by all batches.
@Suite struct MatmulGradientTests {
    static let flags: [(Bool, Bool)] = [(false, false), (false, true), (true, false), (true, true)]

    private func operands(_ batch: [Int], m: Int, k: Int, n: Int, _ tA: Bool, _ tB: Bool, sharedB: Bool) -> [FDInput] {
        let a = Shape(batch + (tA ? [k, m] : [m, k]))
        let b = Shape((sharedB ? [] : batch) + (tB ? [n, k] : [k, n]))
        return [.f32("a", a, -1, 1), .f32("b", b, -1, 1)]
    }

    @Test(arguments: 0..<4) func rank2(_ combo: Int) throws {
        let (tA, tB) = Self.flags[combo]
        for (m, k, n) in [(3, 5, 7), (1, 3, 1)] {
            try checkGradients("matmul \(m)x\(k)x\(n) tA \(tA) tB \(tB)", operands([], m: m, k: k, n: n, tA, tB, sharedB: false)) {
                try $0[0].matmul($0[1], transposeA: tA, transposeB: tB)
            }
        }
    }

    @Test(arguments: 0..<4) func batched(_ combo: Int) throws {
        let (tA, tB) = Self.flags[combo]
        try checkGradients("batched tA \(tA) tB \(tB)", operands([2, 1], m: 3, k: 5, n: 2, tA, tB, sharedB: false)) {
            try $0[0].matmul($0[1], transposeA: tA, transposeB: tB)
        }
    }

    @Test(arguments: 0..<4) func sharedB(_ combo: Int) throws {
        let (tA, tB) = Self.flags[combo]
        try checkGradients("shared B tA \(tA) tB \(tB)", operands([3, 2], m: 3, k: 5, n: 2, tA, tB, sharedB: true)) {
            try $0[0].matmul($0[1], transposeA: tA, transposeB: tB)
        }
    }

    /// The shared-B gradient is one matmul over folded batches, not a per-batch matmul and a sum.
    @Test func sharedBGradientIsOneMatmul() throws {
        let g = Graph()
        let a = try g.input("a", [4, 3, 5]), b = try g.input("b", [5, 7])
        let loss = try a.matmul(b).sum(axis: -1).sum(axis: -1).sum(axis: 0)
        let before = g.nodes.count
        _ = try gradients(of: loss, wrt: [b])
        let added = g.nodes[before...]
        let matmuls = added.filter { if case .matmul = $0.op { return true } else { return false } }
        #expect(matmuls.count == 1 && matmuls[0].shape == [5, 7])
        #expect(!added.contains { if case .reduce(_, let axis, _) = $0.op { return axis == 0 && $0.shape.rank == 2 } else { return false } })
    }
}
