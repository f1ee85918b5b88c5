import CLBackend
import CLRuntime
import Foundation
import Testing

/// One attention problem for the tests (scale defaults to 1/√D).
struct AttentionCase: CustomStringConvertible, Sendable {
    var bh: Int, tq: Int, tk: Int, d: Int, dv: Int, causal: Bool
    var scale: Float? = nil
    var shape: AttentionShape {
        AttentionShape(batchHeads: bh, queries: tq, keys: tk, headDim: d, valueDim: dv, causal: causal,
                       scale: scale ?? 1 / Float(d).squareRoot())
    }
    var description: String { "BH\(bh) Tq\(tq) Tk\(tk) D\(d) Dv\(dv)\(causal ? " causal" : "")\(scale.map { " scale \($0)" } ?? "")" }
}

@Suite("AttentionFamily")
struct AttentionFamilyTests {
    static let cases: [AttentionCase] = [
        AttentionCase(bh: 1, tq: 1, tk: 1, d: 1, dv: 1, causal: false),
        AttentionCase(bh: 1, tq: 1, tk: 1, d: 1, dv: 1, causal: true),
        AttentionCase(bh: 3, tq: 7, tk: 7, d: 13, dv: 13, causal: false),
        AttentionCase(bh: 3, tq: 7, tk: 7, d: 13, dv: 13, causal: true),
        AttentionCase(bh: 2, tq: 33, tk: 33, d: 64, dv: 64, causal: false),
        AttentionCase(bh: 2, tq: 33, tk: 33, d: 64, dv: 64, causal: true),
        AttentionCase(bh: 2, tq: 1, tk: 17, d: 24, dv: 8, causal: true),      // decode step against a KV cache
        AttentionCase(bh: 1, tq: 1, tk: 257, d: 64, dv: 64, causal: false),
        AttentionCase(bh: 2, tq: 5, tk: 9, d: 7, dv: 19, causal: true),       // Tq ≠ Tk, causal offset 4
        AttentionCase(bh: 2, tq: 3, tk: 2, d: 7, dv: 19, causal: false),      // Tq > Tk, non-causal
        AttentionCase(bh: 2, tq: 6, tk: 20, d: 16, dv: 16, causal: true),     // offset 14: a key block ends one past a limit
        AttentionCase(bh: 2, tq: 20, tk: 20, d: 65, dv: 65, causal: false),
        AttentionCase(bh: 1, tq: 13, tk: 257, d: 65, dv: 33, causal: true),
        AttentionCase(bh: 2, tq: 31, tk: 47, d: 64, dv: 64, causal: true, scale: 3),  // peaky softmax: max rescaling
        AttentionCase(bh: 8, tq: 128, tk: 128, d: 64, dv: 64, causal: true),
    ]

    /// Materialised softmax in double precision.
    static func reference(_ q: [Float], _ k: [Float], _ v: [Float], _ s: AttentionShape) -> [Float] {
        let (tq, tk, d, dv) = (s.queries, s.keys, s.headDim, s.valueDim)
        var out = [Float](repeating: 0, count: s.batchHeads * tq * dv)
        var scores = [Double](repeating: 0, count: tk)
        for b in 0..<s.batchHeads {
            for i in 0..<tq {
                let visible = s.causal ? i + (tk - tq) + 1 : tk
                var maxScore = -Double.infinity
                for j in 0..<visible {
                    var dot = 0.0
                    for e in 0..<d { dot += Double(q[(b * tq + i) * d + e]) * Double(k[(b * tk + j) * d + e]) }
                    scores[j] = dot * Double(s.scale)
                    maxScore = max(maxScore, scores[j])
                }
                var sum = 0.0
                for j in 0..<visible { scores[j] = Foundation.exp(scores[j] - maxScore); sum += scores[j] }
                for c in 0..<dv {
                    var acc = 0.0
                    for j in 0..<visible { acc += scores[j] * Double(v[(b * tk + j) * dv + c]) }
                    out[(b * tq + i) * dv + c] = Float(acc / sum)
                }
            }
        }
        return out
    }

    /// Runs one variant; returns the output and whether the guard regions around it stayed intact.
    static func run(_ variant: AttentionFamily.Variant?, _ q: [Float], _ k: [Float], _ v: [Float], _ shape: AttentionShape,
                    environment: FamilyEnvironment = TestDevice.environment,
                    blocking: AttentionFamily.RegisterBlocking? = nil) throws -> (out: [Float], guardsIntact: Bool, steps: [LaunchStep]) {
        let context = TestDevice.context
        let count = shape.batchHeads * shape.queries * shape.valueDim
        let guardFloats = 2 * context.device.info.baseAddressAlignmentBytes / MemoryLayout<Float>.stride
        let sentinel: Float = 12345.5
        let backing = try CLBuffer<Float>(context: context, count: guardFloats + count + guardFloats)
        try backing.fill(sentinel)
        let output = try backing.view(offset: guardFloats, count: count)
        try output.fill(.nan)   // every element must be written
        let qb = try CLBuffer<Float>(context: context, values: q)
        let kb = try CLBuffer<Float>(context: context, values: k)
        let vb = try CLBuffer<Float>(context: context, values: v)
        let steps = try AttentionFamily(environment: environment).encode(q: qb, k: kb, v: vb, output: output,
                                                                         shape: shape, variant: variant, blocking: blocking)
        for step in steps { try step.enqueue(on: context) }
        try context.finish()
        let all = try backing.download()
        let guards = all[..<guardFloats] + all[(guardFloats + count)...]
        return (Array(all[guardFloats..<(guardFloats + count)]), guards.allSatisfy { $0 == sentinel }, steps)
    }

    @Test("every variant matches a double-precision materialised softmax", arguments: cases)
    func matchesReference(_ c: AttentionCase) throws {
        let shape = c.shape
        var random = TestRandom(seed: UInt64(c.bh * 1_000_003 + c.tq * 10_007 + c.tk * 101 + c.d * 7 + c.dv))
        let q = random.floats(c.bh * c.tq * c.d)
        let k = random.floats(c.bh * c.tk * c.d)
        let v = random.floats(c.bh * c.tk * c.dv)
        let expected = Self.reference(q, k, v, shape)
        for variant in AttentionFamily.Variant.allCases {
            let (out, guardsIntact, steps) = try Self.run(variant, q, k, v, shape)
            let error = nmse(expected, out)
            // Plain fp32 accumulation with fma and exp (no fast math): well inside 1e-7.
            #expect(error <= 1e-7, "variant \(variant) \(c): NMSE \(error)")
            #expect(!out.contains { !$0.isFinite }, "variant \(variant) \(c): non-finite output")
            #expect(guardsIntact, "variant \(variant) \(c): wrote outside the output")
            #expect(steps.count == (variant == .cpuRegisterBlocked ? 2 : 1) && steps.allSatisfy { $0.variant.hasPrefix(variant.name) })
        }
    }

    @Test("forced and automatic variant choice")
    func variantChoice() throws {
        let shape = AttentionCase(bh: 1, tq: 4, tk: 4, d: 16, dv: 16, causal: false).shape
        let q = [Float](repeating: 0.5, count: 64)
        let automatic = try Self.run(nil, q, q, q, shape).steps[0].variant
        let expected = AttentionFamily.automaticVariant(for: TestDevice.environment.deviceClass)
        #expect(automatic.hasPrefix(expected.name))
        let forced = try Self.run(nil, q, q, q, shape, environment: TestDevice.environment(forcing: AttentionFamily.Variant.scalar))
        #expect(forced.steps[0].variant.hasPrefix("attention.1"))
        // Equal keys: uniform softmax, output = v row.
        #expect(forced.out.allSatisfy { abs($0 - 0.5) < 1e-6 })
        #expect(AttentionFamily.automaticVariant(for: .cpu) == .cpuRegisterBlocked && AttentionFamily.automaticVariant(for: .gpu) == .gpuTiled)
    }

    @Test("flop and byte counts")
    func costs() throws {
        let full = AttentionCase(bh: 2, tq: 8, tk: 8, d: 16, dv: 16, causal: false).shape
        let causal = AttentionCase(bh: 2, tq: 8, tk: 8, d: 16, dv: 16, causal: true).shape
        let decode = AttentionCase(bh: 2, tq: 2, tk: 8, d: 16, dv: 16, causal: true).shape
        #expect(full.visiblePairs == 2 * 64)
        #expect(causal.visiblePairs == 2 * 36)          // 1 + 2 + … + 8
        #expect(decode.visiblePairs == 2 * (7 + 8))
        let q = [Float](repeating: 0.25, count: 256)
        let step = try Self.run(.cpuBlocked, q, q, q, full).steps[0]
        #expect(step.flops == 4 * 2 * 8 * 8 * 16)
        #expect(step.bytes == 4 * 2 * (8 * 16 * 4))
        #expect(try Self.run(.cpuBlocked, q, q, q, causal).steps[0].flops == 2 * 32 * 2 * 36)
    }

    @Test("rejects causal Tk < Tq and short buffers")
    func rejectsBadShapes() throws {
        let context = TestDevice.context
        let buffer = try CLBuffer<Float>(context: context, count: 64)
        let family = AttentionFamily(environment: TestDevice.environment)
        #expect(throws: CLError.self) {
            try family.encode(q: buffer, k: buffer, v: buffer, output: buffer,
                              shape: AttentionCase(bh: 1, tq: 4, tk: 3, d: 2, dv: 2, causal: true).shape)
        }
        #expect(throws: CLError.self) {
            try family.encode(q: buffer, k: buffer, v: buffer, output: buffer,
                              shape: AttentionCase(bh: 1, tq: 9, tk: 9, d: 8, dv: 8, causal: false).shape)
        }
        #expect(throws: KernelVariantError.unknown(family: "attention", number: 9, available: [1, 2, 3, 4])) {
            try AttentionFamily.Variant.numbered(9)
        }
    }
}

/// Variant 4 (register-blocked, K packed transposed by a pre-pass) on awkward shapes: T not a
/// multiple of the key block or the query block, D below, at and past one float16 chunk.
@Suite("AttentionRegisterBlocked")
struct AttentionRegisterBlockedTests {
    static let cases: [AttentionCase] = {
        var result: [AttentionCase] = []
        for t in [1, 5, 17, 33, 65] {
            for d in [1, 7, 64] {
                for causal in [false, true] { result.append(AttentionCase(bh: 2, tq: t, tk: t, d: d, dv: d, causal: causal)) }
            }
        }
        // Tq ≠ Tk (causal aligned at the end), D ≠ Dv, one query against a long cache, peaky softmax.
        result += [
            AttentionCase(bh: 3, tq: 5, tk: 33, d: 7, dv: 64, causal: true),
            AttentionCase(bh: 3, tq: 5, tk: 33, d: 64, dv: 7, causal: false),
            AttentionCase(bh: 2, tq: 17, tk: 65, d: 64, dv: 64, causal: true),
            AttentionCase(bh: 2, tq: 33, tk: 17, d: 7, dv: 1, causal: false),   // Tq > Tk
            AttentionCase(bh: 1, tq: 1, tk: 65, d: 64, dv: 64, causal: true),
            AttentionCase(bh: 2, tq: 33, tk: 33, d: 64, dv: 64, causal: true, scale: 4),
        ]
        return result
    }()

    static func check(_ c: AttentionCase, blocking: AttentionFamily.RegisterBlocking? = nil) throws {
        var random = TestRandom(seed: UInt64(c.bh * 1_000_003 + c.tq * 10_007 + c.tk * 101 + c.d * 7 + c.dv))
        let q = random.floats(c.bh * c.tq * c.d)
        let k = random.floats(c.bh * c.tk * c.d)
        let v = random.floats(c.bh * c.tk * c.dv)
        let expected = AttentionFamilyTests.reference(q, k, v, c.shape)
        let (out, guardsIntact, steps) = try AttentionFamilyTests.run(.cpuRegisterBlocked, q, k, v, c.shape, blocking: blocking)
        let error = nmse(expected, out)
        let name = blocking.map { "\($0)" } ?? "default"
        #expect(error <= 1e-7, "\(c) \(name): NMSE \(error)")
        #expect(!out.contains { !$0.isFinite }, "\(c) \(name): non-finite output")
        #expect(guardsIntact, "\(c) \(name): wrote outside the output")
        #expect(steps.count == 2 && steps.allSatisfy { $0.variant.hasPrefix("attention.4") })
    }

    @Test("matches a double-precision materialised softmax", arguments: cases)
    func matchesReference(_ c: AttentionCase) throws { try Self.check(c) }

    @Test("every block size and build option", arguments: [
        AttentionFamily.RegisterBlocking(queries: 1, keys: 16),
        AttentionFamily.RegisterBlocking(queries: 3, keys: 32),
        AttentionFamily.RegisterBlocking(queries: 8, keys: 16),
        AttentionFamily.RegisterBlocking(queries: 2, keys: 16, fastMath: true),
        AttentionFamily.RegisterBlocking(queries: 5, keys: 32, fastMath: true, nativeExp: true),
        AttentionFamily.RegisterBlocking(queries: 2, keys: 16, groups: 3),
        AttentionFamily.RegisterBlocking(queries: 3, keys: 32, groups: 16),
        AttentionFamily.RegisterBlocking(queries: 8, keys: 32),
        AttentionFamily.RegisterBlocking(queries: 4, keys: 32, wide: true),
        AttentionFamily.RegisterBlocking(queries: 3, keys: 16, groups: 2, wide: true),
        AttentionFamily.RegisterBlocking(queries: 5, keys: 32, fastMath: true, wide: true),
    ])
    func blockings(_ blocking: AttentionFamily.RegisterBlocking) throws {
        try Self.check(AttentionCase(bh: 2, tq: 13, tk: 37, d: 7, dv: 19, causal: true), blocking: blocking)
        try Self.check(AttentionCase(bh: 2, tq: 37, tk: 37, d: 7, dv: 19, causal: false), blocking: blocking)
    }

    @Test("rejects block sizes it has no code for")
    func rejectsBadBlocking() throws {
        let buffer = try CLBuffer<Float>(context: TestDevice.context, count: 64)
        let family = AttentionFamily(environment: TestDevice.environment)
        for bad in [AttentionFamily.RegisterBlocking(queries: 0, keys: 16), AttentionFamily.RegisterBlocking(queries: 9, keys: 16),
                    AttentionFamily.RegisterBlocking(queries: 2, keys: 24), AttentionFamily.RegisterBlocking(queries: 2, keys: 16, groups: 17)] {
            #expect(throws: CLError.self) {
                try family.encode(q: buffer, k: buffer, v: buffer, output: buffer,
                                  shape: AttentionCase(bh: 1, tq: 2, tk: 2, d: 2, dv: 2, causal: false).shape,
                                  variant: .number(4), blocking: bad)
            }
        }
    }
}

/// Release-build timing, off by default: `CLGRAPH_ATTENTION_BENCH=1 swift test -c release --filter AttentionBench`.
@Suite("AttentionBench", .enabled(if: ProcessInfo.processInfo.environment["CLGRAPH_ATTENTION_BENCH"] != nil))
struct AttentionBench {
    /// Kernel time (profiling events) of `step`: min and median over `runs` after a warm-up.
    static func time(_ step: LaunchStep, runs: Int) throws -> (min: Double, median: Double) {
        for _ in 0..<3 { try step.enqueue(on: TestDevice.context) }
        try TestDevice.context.finish()
        var times: [Double] = []
        for _ in 0..<runs {
            let event = try step.enqueue(on: TestDevice.context, event: true)
            try TestDevice.context.finish()
            times.append(try event!.profilingTimes().durationMilliseconds)
        }
        times.sort()
        return (times[0], times[times.count / 2])
    }

    @Test func timings() throws {
        let context = TestDevice.context
        let env = TestDevice.environment
        var random = TestRandom(seed: 7)
        let variants = (ProcessInfo.processInfo.environment["CLGRAPH_ATTENTION_BENCH"] ?? "")
            .split(separator: ",").compactMap { Int($0) }
        let only = ProcessInfo.processInfo.environment["CLGRAPH_ATTENTION_BENCH_T"].flatMap { Int($0) }
        for (t, causal) in [(256, true), (256, false), (1024, true), (1024, false)] where only == nil || only == t {
            let shape = AttentionShape(batchHeads: 8, queries: t, keys: t, headDim: 64, valueDim: 64, causal: causal, scale: 0.125)
            let n = 8 * t * 64
            let q = try CLBuffer<Float>(context: context, values: random.floats(n))
            let k = try CLBuffer<Float>(context: context, values: random.floats(n))
            let v = try CLBuffer<Float>(context: context, values: random.floats(n))
            let out = try CLBuffer<Float>(context: context, count: n)
            for variant in variants.isEmpty ? [2] : variants {
                if variant == 1 && t > 256 || variant == 3 && t > 256 { continue }
                var step = try AttentionFamily(environment: env).encode(q: q, k: k, v: v, output: out, shape: shape,
                                                                        variant: .number(variant > 10 ? 2 : variant))[0]
                if variant > 10 {   // 2x: variant 2 with QB = x, launched directly (exploration)
                    let qb = variant % 10
                    let kernel = try env.program("attention", defines: ["D": "64", "DV": "64", "QB": "\(qb)", "KT": "32"])
                        .kernel("attention_blocked")
                    try kernel.setArguments(q, k, v, out, Int32(t), Int32(t), Int32(causal ? 1 : 0), Float(0.125))
                    step = LaunchStep(kernel: kernel, global: [(t + qb - 1) / qb, 8], local: [1, 1],
                                      variant: "attention.2 QB=\(qb)", label: "", flops: step.flops, bytes: step.bytes)
                }
                let (lo, median) = try Self.time(step, runs: t > 256 ? 10 : 30)
                print(String(format: "BENCH B1 H8 T%d D64 %@ %@: min %.3f ms, median %.3f ms, %.1f GFLOP/s (median)",
                             t, causal ? "causal" : "full  ", step.variant, lo, median, step.flops / median / 1e6))
            }
        }
    }
}

/// Variant 4 block-size / build-option exploration in interleaved rounds, off by default:
/// `CLGRAPH_ATTENTION4=4x16,4x32f,2x16fn swift test -c release --filter AttentionBlockingBench`
/// (QxK, `f` = -cl-fast-relaxed-math, `n` = native_exp2, `v2` = variant 2 for comparison).
@Suite("AttentionBlockingBench", .enabled(if: ProcessInfo.processInfo.environment["CLGRAPH_ATTENTION4"] != nil))
struct AttentionBlockingBench {
    @Test func rounds() throws {
        let context = TestDevice.context
        let env = ProcessInfo.processInfo.environment
        let specs = (env["CLGRAPH_ATTENTION4"] ?? "").split(separator: ",").map(String.init)
        let t = Int(env["CLGRAPH_ATTENTION4_T"] ?? "256") ?? 256
        let causal = env["CLGRAPH_ATTENTION4_FULL"] == nil
        let shape = AttentionShape(batchHeads: 8, queries: t, keys: t, headDim: 64, valueDim: 64, causal: causal, scale: 0.125)
        var random = TestRandom(seed: 11)
        let n = 8 * t * 64
        let qv = random.floats(n), kv = random.floats(n), vv = random.floats(n)
        let q = try CLBuffer<Float>(context: context, values: qv)
        let k = try CLBuffer<Float>(context: context, values: kv)
        let v = try CLBuffer<Float>(context: context, values: vv)
        let expected = AttentionFamilyTests.reference(qv, kv, vv, shape)
        var configs: [(String, [LaunchStep], CLBuffer<Float>)] = []
        for spec in specs {
            let out = try CLBuffer<Float>(context: context, count: n)
            let family = AttentionFamily(environment: TestDevice.environment)
            if spec == "v2" {
                configs.append((spec, try family.encode(q: q, k: k, v: v, output: out, shape: shape, variant: .number(2)), out))
                continue
            }
            let parts = spec.split(separator: "x")
            let qb = Int(parts[0])!
            let rest = String(parts[1])
            let kb = Int(rest.prefix { $0.isNumber })!
            let blocking = AttentionFamily.RegisterBlocking(queries: qb, keys: kb, fastMath: rest.contains("f"),
                                                            nativeExp: rest.contains("n"))
            configs.append((spec, try family.encode(q: q, k: k, v: v, output: out, shape: shape, variant: .number(4), blocking: blocking), out))
        }
        var medians = [[Double]](repeating: [], count: configs.count)
        var firstStep = [[Double]](repeating: [], count: configs.count)
        for round in 0..<6 {
            for (index, config) in configs.enumerated() {
                var times: [Double] = [], firsts: [Double] = []
                for _ in 0..<(round == 0 ? 3 : 10) {
                    let events = try config.1.map { try $0.enqueue(on: context, event: true)! }
                    try context.finish()
                    let each = try events.map { try $0.profilingTimes().durationMilliseconds }
                    times.append(each.reduce(0, +))
                    firsts.append(each[0])
                }
                times.sort()
                firsts.sort()
                if round > 0 {
                    medians[index].append(times[times.count / 2])
                    firstStep[index].append(firsts[firsts.count / 2])
                }
            }
        }
        for (index, config) in configs.enumerated() {
            let m = medians[index].sorted(), f = firstStep[index].sorted()
            let error = nmse(expected, try config.2.download())
            print(String(format: "BLOCK T%d %@ %-8@ median of round medians %.3f ms (min round %.3f; first step %.3f), NMSE %.2e",
                         t, causal ? "causal" : "full", config.0, m[m.count / 2], m[0], f[f.count / 2], error))
        }
    }
}
