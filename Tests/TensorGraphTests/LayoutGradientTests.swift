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
