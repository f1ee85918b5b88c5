import CLBackend
import CLRuntime
import TensorGraph
import Testing

/// Attention reading q, k, v in place from a fused projection's [B, T, 3C] output
/// (``AttentionOperandRows``): the plan's forward and backward against the reference through
/// autograd, the launches it saves, and the families' refusals.
@Suite(.serialized) struct AttentionOperandViewTests {
    static let backend = OpenCLBackend(context: TestDevice.context)

    struct Heads: CustomStringConvertible, Sendable {
        let batch: Int, sequence: Int, heads: Int, headSize: Int
        var width: Int { heads * headSize }
        var description: String { "B\(batch) T\(sequence) H\(heads) hs\(headSize)" }
    }

    /// qkv [B, T, 3C] → q, k, v heads [B, H, T, hs] (slice, reshape, permute, as the GPT builds them),
    /// causal attention, loss Σ y·u; outputs y and d loss / d qkv. With `keysAlsoOutput`, k is a plan
    /// output too (so it cannot be read in place).
    static func graph(_ h: Heads, keysAlsoOutput: Bool = false) throws -> (Graph, [Tensor]) {
        let graph = Graph()
        let qkv = try graph.input("qkv", [h.batch, h.sequence, 3 * h.width])
        let u = try graph.input("u", [h.batch, h.heads, h.sequence, h.headSize])
        func heads(_ part: Int) throws -> Tensor {
            try qkv.slice(axis: 2, start: part * h.width, end: (part + 1) * h.width)
                .reshape([h.batch, h.sequence, h.heads, h.headSize]).permute([0, 2, 1, 3])
        }
        let (q, k, v) = (try heads(0), try heads(1), try heads(2))
        let y = try attention(q: q, k: k, v: v, causal: true)
        let loss = try (y * u).sum(axis: 3).sum(axis: 2).sum(axis: 1).sum(axis: 0)
        let dqkv = try gradients(of: loss, wrt: [qkv])[0]
        return (graph, [y, dqkv] + (keysAlsoOutput ? [k] : []))
    }

    static func feeds(_ h: Heads) -> [String: TensorData] {
        var random = TestRandom(seed: UInt64(h.batch * 1000 + h.sequence * 10 + h.headSize))
        return ["qkv": TensorData(shape: [h.batch, h.sequence, 3 * h.width], floats: random.floats(h.batch * h.sequence * 3 * h.width, -2, 2)),
                "u": TensorData(shape: [h.batch, h.heads, h.sequence, h.headSize], floats: random.floats(h.batch * h.sequence * h.width))]
    }

    @Test("q, k, v read and dq, dk, dv written in place match the reference, with no head copies or concatenation",
          arguments: [Heads(batch: 2, sequence: 7, heads: 3, headSize: 13), Heads(batch: 1, sequence: 33, heads: 2, headSize: 8),
                      Heads(batch: 3, sequence: 1, heads: 4, headSize: 16), Heads(batch: 2, sequence: 20, heads: 1, headSize: 64)])
    func matchesTheReferenceWithoutCopies(_ h: Heads) throws {
        let (graph, outputs) = try Self.graph(h)
        let feeds = Self.feeds(h)
        let expected = try ReferenceBackend().compile(graph, outputs: outputs, options: CompileOptions()).run(feeds)
        var options = CompileOptions()
        options.guardElements = 16
        let actual = try Self.backend.compile(graph, outputs: outputs, options: options).run(feeds)
        for (name, (e, a)) in zip(["y", "dqkv"], zip(expected, actual)) {
            #expect(nmse(e.floats, a.floats) < 1e-10, "\(h) \(name): nmse \(nmse(e.floats, a.floats))")
        }
        // Forcing the forward's blocked variant (contiguous operands only) brings the three head copies back.
        func layoutSteps(_ options: CompileOptions) throws -> Int {
            try Self.backend.compilePlan(graph, outputs: outputs, options: options).steps.filter { $0.variant.hasPrefix("layout") }.count
        }
        // The backward writes dq, dk, dv rows into d qkv itself: no layout launch at all.
        let inPlace = try layoutSteps(CompileOptions())
        #expect(inPlace == 0, "\(h): \(inPlace) layout launches")
        let blockedForward = CompileOptions(openCL: OpenCLOptions(forcing: AttentionFamily.Variant.cpuBlocked))
        let copied = try layoutSteps(blockedForward)
        #expect(copied == 3, "\(h): \(copied) layout launches with the forward's head copies")
        // Copied q, k, v with gradients still written in place.
        let copiedResult = try Self.backend.compile(graph, outputs: outputs, options: blockedForward).run(feeds)
        #expect(nmse(expected[1].floats, copiedResult[1].floats) < 1e-10, "\(h): copied operands")
        // The GPU backward (contiguous rows only): head copies and the gradient's concatenation come back.
        let gpuBackward = try layoutSteps(CompileOptions(openCL: OpenCLOptions(forcing: AttentionBackwardFamily.Variant.gpuTiled)))
        #expect(gpuBackward >= 4, "\(h): \(gpuBackward) layout launches with the GPU backward")
        var forced = CompileOptions(openCL: OpenCLOptions(forcing: AttentionBackwardFamily.Variant.gpuTiled))
        forced.guardElements = 16
        let contiguousResult = try Self.backend.compile(graph, outputs: outputs, options: forced).run(feeds)
        #expect(nmse(expected[1].floats, contiguousResult[1].floats) < 1e-10, "\(h): GPU backward")
    }

    @Test("an operand read by something else too is copied, the others still read in place")
    func sharedOperandIsCopied() throws {
        let h = Heads(batch: 2, sequence: 9, heads: 2, headSize: 8)
        let (graph, outputs) = try Self.graph(h, keysAlsoOutput: true)
        let feeds = Self.feeds(h)
        let expected = try ReferenceBackend().compile(graph, outputs: outputs, options: CompileOptions()).run(feeds)
        let actual = try Self.backend.compile(graph, outputs: outputs, options: CompileOptions()).run(feeds)
        for (e, a) in zip(expected, actual) { #expect(nmse(e.floats, a.floats) < 1e-10) }
        let steps = try Self.backend.compilePlan(graph, outputs: outputs, options: CompileOptions()).steps
        #expect(steps.filter { $0.variant.hasPrefix("layout") && $0.label.contains("permute") }.count >= 1, "\(steps.map(\.label))")
    }

    @Test("rows in place: variant 4 and backward variant 1 take them, the other variants refuse them, bad extents are errors")
    func familiesCheckLayouts() throws {
        let context = TestDevice.context
        let shape = AttentionShape(batchHeads: 4, queries: 5, keys: 5, headDim: 8, valueDim: 8, causal: true, scale: 0.35)
        // Two batches of two heads, interleaved in [2, 5, 3·16] rows: q at 0, k at 16, v at 32.
        let packed = try CLBuffer<Float>(context: context, values: (0..<(2 * 5 * 48)).map { Float($0 % 17) / 17 })
        func rows(_ offset: Int) -> AttentionOperandRows {
            AttentionOperandRows(offset: offset, heads: 2, batchStride: 5 * 48, headStride: 8, rowStride: 48)
        }
        let layouts = AttentionOperandLayouts(q: rows(0), k: rows(16), v: rows(32))
        let out = try CLBuffer<Float>(context: context, count: 4 * 5 * 8)
        let family = AttentionFamily(environment: TestDevice.environment)
        _ = try family.encode(q: packed, k: packed, v: packed, output: out, layouts: layouts, shape: shape, variant: .cpuRegisterBlocked)
        for variant in [AttentionFamily.Variant.scalar, .cpuBlocked, .gpuTiled] {
            #expect(throws: CLError.self) {
                try family.encode(q: packed, k: packed, v: packed, output: out, layouts: layouts, shape: shape, variant: variant)
            }
        }
        var tooFar = layouts
        tooFar.v.offset = 40
        #expect(throws: CLError.self) {
            try family.encode(q: packed, k: packed, v: packed, output: out, layouts: tooFar, shape: shape, variant: .cpuRegisterBlocked)
        }
        let backward = AttentionBackwardFamily(environment: TestDevice.environment)
        _ = try backward.encode(q: packed, k: packed, v: packed, y: out, dy: out, dq: nil, dk: nil, dv: nil, layouts: layouts,
                                shape: shape, variant: .cpuBlocked)
        #expect(throws: CLError.self) {
            try backward.encode(q: packed, k: packed, v: packed, y: out, dy: out, dq: nil, dk: nil, dv: nil, layouts: layouts,
                                shape: shape, variant: .gpuTiled)
        }
    }
}
