import Testing
import TensorGraph

/// Finite-difference checks of reshape, permute, slice, concat and attention.
@Suite struct LayoutGradientTests {
    @Test func permute() throws {
        try checkGradients("permute", [.f32("x", [2, 3, 5], -1, 1)]) { try $0[0].permute([2, 0, 1]) }
        try checkGradients("transpose", [.f32("x", [3, 1, 7], -1, 1)]) { try $0[0].transposed() }
    }

    @Test func slice() throws {
        try checkGradients("slice middle", [.f32("x", [3, 7], -1, 1)]) { try $0[0].slice(axis: 1, start: 2, end: 5) }
        try checkGradients("slice start", [.f32("x", [5, 3], -1, 1)]) { try $0[0].slice(axis: 0, start: 0, end: 1) }
        try checkGradients("slice end", [.f32("x", [2, 5, 3], -1, 1)]) { try $0[0].slice(axis: 1, start: 3, end: 5) }
        try checkGradients("slice all", [.f32("x", [3], -1, 1)]) { try $0[0].slice(axis: 0, start: 0, end: 3) }
        // Several slices of one tensor: disjoint ones (with a gap) join one concatenation, an
        // overlapping one is added on its own, a slice along another axis too.
        try checkGradients("slices of one tensor", [.f32("x", [4, 9], -1, 1)]) { t in
            let x = t[0]
            let parts = [try x.slice(axis: 1, start: 0, end: 3) * 2, try x.slice(axis: 1, start: 5, end: 9).tanh(),
                         try x.slice(axis: 1, start: 2, end: 6).exp().slice(axis: 1, start: 0, end: 3)]
            return try parts.map { try $0.sum(axis: 1) }.reduce(x.slice(axis: 0, start: 1, end: 3).sum(axis: 1).sum(axis: 0)) {
                try $0 + $1.sum(axis: 0)
            }
        }
    }

    @Test("the gradients of slices that tile an axis form one concatenation and no sum")
    func slicesThatTileAnAxis() throws {
        let graph = Graph()
        let qkv = try graph.input("qkv", [5, 12])
        let (q, k, v) = (try qkv.slice(axis: 1, start: 0, end: 4), try qkv.slice(axis: 1, start: 4, end: 8),
                         try qkv.slice(axis: 1, start: 8, end: 12))
        let loss = try ((q * k).tanh() + v.exp()).sum(axis: 1).sum(axis: 0)
        let before = graph.nodes.count
        let gradient = try gradients(of: loss, wrt: [qkv])[0]
        let backward = graph.nodes[before...]
        #expect(gradient.node.op.name == "concat")
        #expect(backward.filter { $0.op.name == "concat" }.count == 1)
        #expect(!backward.contains { $0.op.name == "add" && $0.shape == qkv.shape }, "the three padded gradients are not summed")
        #expect(gradient.node.inputs.count == 3 && gradient.node.inputs.allSatisfy { graph.node($0).op.name != "constant" },
                "the parts are the three slices' gradients, no zero blocks")
    }

    @Test func concat() throws {
        try checkGradients("concat axis 1", [.f32("a", [3, 1], -1, 1), .f32("b", [3, 5], -1, 1), .f32("c", [3, 2], -1, 1)]) {
            try TensorGraph.concat($0, axis: 1)
        }
        try checkGradients("concat axis 0, reused", [.f32("a", [2, 3], -1, 1), .f32("b", [1, 3], -1, 1)]) {
            try TensorGraph.concat([$0[0], $0[1], $0[0]], axis: 0)
        }
    }

    @Test(arguments: [false, true]) func attention(_ causal: Bool) throws {
        // Tq = Tk, Tq < Tk (a KV cache) and Tq > Tk (queries that see no key when causal).
        for (tq, tk) in [(3, 3), (2, 5), (5, 3)] {
            try checkGradients("attention causal \(causal) Tq \(tq) Tk \(tk)",
                               [.f32("q", [2, tq, 3], -1, 1), .f32("k", [2, tk, 3], -1, 1), .f32("v", [2, tk, 2], -1, 1)]) {
                try TensorGraph.attention(q: $0[0], k: $0[1], v: $0[2], causal: causal)
            }
        }
        // Awkward head sizes and lengths (T 1, 7, 33 with head sizes 13 and 8).
        for (tq, tk, d) in [(1, 1, 8), (7, 7, 13), (33, 33, 8), (7, 4, 13)] {
            try checkGradients("attention causal \(causal) Tq \(tq) Tk \(tk) D \(d)",
                               [.f32("q", [1, tq, d], -1, 1), .f32("k", [1, tk, d], -1, 1), .f32("v", [1, tk, 3], -1, 1)]) {
                try TensorGraph.attention(q: $0[0], k: $0[1], v: $0[2], causal: causal)
            }
        }
        try checkGradients("attention rank 4 causal \(causal)",
                           [.f32("q", [1, 2, 3, 5], -1, 1), .f32("k", [1, 2, 3, 5], -1, 1), .f32("v", [1, 2, 3, 1], -1, 1)]) {
            try TensorGraph.attention(q: $0[0], k: $0[1], v: $0[2], causal: causal, scale: 0.7)
        }
    }
}
