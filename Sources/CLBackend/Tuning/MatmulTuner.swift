import CLRuntime
import Foundation

/// A bounded search for the fastest valid `MatmulTuning` of one shape on one device.
///
/// A fixed candidate set (the defaults among them) first, then a local search that changes one
/// parameter at a time around the best so far. Each candidate is validated against a float64
/// reference before it is timed (an invalid or failing one is rejected, never chosen). Timing is
/// device time from profiling events (first start to last end, so gaps between launches count),
/// candidates taking turns in interleaved rounds (machine noise hits them alike); the score is the
/// median over rounds.
public struct MatmulTuner {
    public struct Options: Sendable {
        /// Interleaved timing rounds per phase, and launches per candidate per round.
        public var rounds = 5
        public var launchesPerRound = 3
        public var warmup = 2
        /// Local-search steps after the fixed set (0: fixed set only).
        public var localSearchSteps = 2
        /// NMSE bound a candidate must meet (same as `clbench matmul`).
        public var bound = 1e-10
        public init() {}
    }

    /// What one tune found.
    public struct Outcome: Sendable {
        public var shapeClass: MatmulShapeClass
        public var shape: MatmulShape
        public var winner: MatmulTuning
        public var winnerMs: Double
        public var defaults: MatmulTuning
        public var defaultMs: Double
        /// Candidates measured, and the ones rejected (with why).
        public var tried: Int
        public var rejected: [String]
        /// The winner's NMSE against the float64 reference (checked before timing).
        public var winnerNMSE: Double
        /// Every timed candidate's latest median (ms), fastest first.
        public var scores: [(tuning: MatmulTuning, ms: Double)]
        public var flops: Double { 2 * Double(shape.batch) * Double(shape.m) * Double(shape.n) * Double(shape.k) }
        public var winnerGFLOPS: Double { flops / (winnerMs * 1e6) }
        public var defaultGFLOPS: Double { flops / (defaultMs * 1e6) }

        /// The cache entry for this outcome.
        public func entry(date: Date = Date()) -> MatmulTuningTable.Entry {
            MatmulTuningTable.Entry(
                tuning: winner, shape: "\(shape.batch)x\(shape.m)x\(shape.n)x\(shape.k)", medianMs: winnerMs,
                defaultMedianMs: defaultMs, gflops: winnerGFLOPS, tunedAt: ISO8601DateFormatter().string(from: date))
        }
    }

    public let environment: FamilyEnvironment
    public var options: Options
    public var progress: (String) -> Void

    public init(environment: FamilyEnvironment, options: Options = Options(), progress: @escaping (String) -> Void = { _ in }) {
        self.environment = environment
        self.options = options
        self.progress = progress
    }

    /// The fixed candidate set for `shape` on this device class (defaults first).
    public func fixedCandidates(for shape: MatmulShape) -> [MatmulTuning] {
        let base = MatmulTuning.defaults(for: environment.context.device.info, shape: shape)
        var list = [base]
        if base.variant == .cpuRegisterBlocked {
            for tm in [2, 4, 8, 16] {
                for kb in [64, 128, 256] {
                    var t = base
                    t.rowsPerTile = tm
                    t.kBlock = kb
                    list.append(t)
                }
            }
            // Packing versus reading B in place (dot products for B [N, K]) at this M.
            var noPack = base
            noPack.packMinRows = shape.m + 1
            noPack.packMinRowsTransposedB = shape.m + 1
            var pack = base
            pack.packMinRows = min(base.packMinRows, shape.m)
            pack.packMinRowsTransposedB = min(base.packMinRowsTransposedB, shape.m)
            list += [noPack, pack]
            if shape.transposeB {
                // The pack's transpose done per work-item in private memory instead of a launch.
                for tm in [base.rowsPerTile, 4] {
                    var inline = pack
                    inline.inlineTransposeB = true
                    inline.rowsPerTile = tm
                    list.append(inline)
                }
            }
            for rt in [1, 2, 8] {
                var t = base
                t.rowTilesPerItem = rt
                list.append(t)
            }
            // Work-item order: sweeps of a few B panels (matters once B outgrows the cache).
            if shape.n > 256 {
                for pg in [2, 4, 8, 16, 1 << 20] where pg < (shape.n + 31) / 32 || pg == 1 << 20 {
                    var t = base
                    t.panelGroup = pg
                    list.append(t)
                }
            }
            if shape.transposeB && shape.m >= 4 {
                // The dot path's tile and vector width (register pressure differs per ISA).
                for (r, c) in [(4, 4), (2, 4), (4, 2), (2, 8), (8, 2), (4, 8), (1, 8), (8, 3), (4, 3), (3, 9), (4, 6), (2, 9), (2, 14)] {
                    for w in [8, 16] {
                        var t = noPack
                        (t.dotRows, t.dotCols, t.dotWidth) = (r, c, w)
                        list.append(t)
                    }
                }
                // Row tiles per dot work-item (fewer, fatter work-items).
                for rt in [1, 2, 8] {
                    var t = noPack
                    t.rowTilesPerItem = rt
                    list.append(t)
                }
            }
        } else {
            for (tsm, tsn, tsk, wptm, wptn) in [(64, 64, 16, 4, 4), (32, 32, 16, 2, 2), (64, 64, 8, 4, 4), (128, 64, 16, 8, 4),
                                                (64, 128, 16, 4, 8), (128, 128, 8, 8, 8), (32, 64, 16, 4, 4), (16, 16, 16, 1, 1)] {
                var t = base
                (t.tsm, t.tsn, t.tsk, t.wptm, t.wptn) = (tsm, tsn, tsk, wptm, wptn)
                list.append(t)
            }
        }
        return unique(list)
    }

    /// Configurations one step away from `t`.
    public func neighbours(of t: MatmulTuning, shape: MatmulShape) -> [MatmulTuning] {
        var list: [MatmulTuning] = []
        func add(_ change: (inout MatmulTuning) -> Void) {
            var n = t
            change(&n)
            list.append(n)
        }
        if t.variant == .cpuRegisterBlocked {
            for tm in [t.rowsPerTile - 2, t.rowsPerTile - 1, t.rowsPerTile + 1, t.rowsPerTile + 2] where (2...16).contains(tm) {
                add { $0.rowsPerTile = tm }
            }
            for kb in [t.kBlock / 2, t.kBlock * 3 / 4, t.kBlock * 3 / 2, t.kBlock * 2] where (16...1024).contains(kb) {
                add { $0.kBlock = kb }
            }
            for rt in [t.rowTilesPerItem - 1, t.rowTilesPerItem + 1, t.rowTilesPerItem * 2] where (1...16).contains(rt) {
                add { $0.rowTilesPerItem = rt }
            }
            if t.panelGroup < (shape.n + 31) / 32 {
                for pg in [t.panelGroup / 2, t.panelGroup * 2] where pg >= 1 { add { $0.panelGroup = pg } }
            }
            if shape.transposeB && shape.m >= 4 && shape.m < t.packMinRowsTransposedB {
                for r in [t.dotRows - 1, t.dotRows + 1] where (1...8).contains(r) { add { $0.dotRows = r } }
                for c in [t.dotCols - 1, t.dotCols + 1] where (1...16).contains(c) { add { $0.dotCols = c } }
                add { $0.dotWidth = t.dotWidth == 16 ? 8 : 16 }
            }
        } else {
            for tsk in [t.tsk / 2, t.tsk * 2] where (4...32).contains(tsk) { add { $0.tsk = tsk } }
            for w in [t.wptm / 2, t.wptm * 2] where w >= 1 && t.tsm % w == 0 { add { $0.wptm = w } }
            for w in [t.wptn / 2, t.wptn * 2] where w >= 1 && t.tsn % w == 0 { add { $0.wptn = w } }
            for tsm in [t.tsm / 2, t.tsm * 2] where tsm >= t.wptm && tsm % t.wptm == 0 && tsm <= 256 { add { $0.tsm = tsm } }
            for tsn in [t.tsn / 2, t.tsn * 2] where tsn >= t.wptn && tsn % t.wptn == 0 && tsn <= 256 { add { $0.tsn = tsn } }
        }
        return unique(list)
    }

    private func unique(_ list: [MatmulTuning]) -> [MatmulTuning] {
        let limit = environment.context.device.info.maxWorkGroupSize
        var seen = Set<MatmulTuning>()
        return list.filter { (try? $0.validate(maxWorkGroupSize: limit)) != nil && seen.insert($0).inserted }
    }

    /// A prepared candidate: its steps bound to the shared buffers.
    private struct Prepared {
        var tuning: MatmulTuning
        var steps: [LaunchStep]
    }

    /// Device time from the first launch's start to the last one's end: kernel time plus the gaps
    /// between a candidate's launches (pocl: several µs each), which a plan pays too; a pack step
    /// must earn its launch.
    static func deviceSpanMilliseconds(_ events: [CLEvent]) throws -> Double {
        let times = try events.map { try $0.profilingTimes() }
        guard let start = times.map(\.started).min(), let end = times.map(\.ended).max() else { return 0 }
        return Double(end &- start) / 1e6
    }

    /// Tunes `shape`; throws only when the shape itself cannot run (even the defaults fail).
    public func tune(_ shape: MatmulShape) throws -> Outcome {
        let context = environment.context
        var random = TuningRandom(seed: UInt64(shape.m &* 31 &+ shape.n &* 7 &+ shape.k &+ shape.batch &* 1_000_003))
        let aValues = (0..<shape.aCount).map { _ in random.uniform() }
        let bValues = (0..<shape.bCount).map { _ in random.uniform() }
        let a = try CLBuffer<Float>(context: context, values: aValues)
        let b = try CLBuffer<Float>(context: context, values: bValues)
        let c = try CLBuffer<Float>(context: context, count: shape.cCount)
        let rows = Self.checkedRows(shape)
        let reference = Self.reference(rows: rows, a: aValues, b: bValues, shape: shape)

        var rejected: [String] = []
        var tried = 0
        var scores: [MatmulTuning: Double] = [:]
        var errors: [MatmulTuning: Double] = [:]

        func prepare(_ candidates: [MatmulTuning]) -> [Prepared] {
            var ready: [Prepared] = []
            for t in candidates where scores[t] == nil {
                tried += 1
                progress("validating \(t)")
                do {
                    let family = MatmulFamily(environment: environment)
                    family.tuning = t
                    let steps = try family.encode(a: a, b: b, c: c, shape: shape, variant: t.variant)
                    try c.upload([Float](repeating: .nan, count: shape.cCount))
                    for step in steps { try step.enqueue(on: context) }
                    try context.finish()
                    let error = try Self.nmse(reference: reference, c: c, rows: rows, shape: shape)
                    guard error.isFinite, error <= options.bound else {
                        rejected.append("\(t): nmse \(error) > \(options.bound)")
                        continue
                    }
                    errors[t] = error
                    ready.append(Prepared(tuning: t, steps: steps))
                } catch {
                    rejected.append("\(t): \(error)")
                }
            }
            return ready
        }

        func time(_ prepared: [Prepared], phase: String) throws {
            for p in prepared {
                for _ in 0..<options.warmup { for step in p.steps { try step.enqueue(on: context) } }
            }
            try context.finish()
            var perRound = [[Double]](repeating: [], count: prepared.count)
            for round in 0..<options.rounds {
                progress("\(phase): round \(round + 1)/\(options.rounds), \(prepared.count) candidates")
                for (index, p) in prepared.enumerated() {
                    var times: [Double] = []
                    for _ in 0..<max(1, options.launchesPerRound) {
                        let events = try p.steps.map { try $0.enqueue(on: context, event: true) }.compactMap { $0 }
                        try context.finish()
                        times.append(try Self.deviceSpanMilliseconds(events))
                    }
                    perRound[index].append(Self.median(times))
                }
            }
            for (index, p) in prepared.enumerated() { scores[p.tuning] = Self.median(perRound[index]) }
        }

        func encode(_ t: MatmulTuning) throws -> [LaunchStep] {
            let family = MatmulFamily(environment: environment)
            family.tuning = t
            return try family.encode(a: a, b: b, c: c, shape: shape, variant: t.variant)
        }

        let defaults = MatmulTuning.defaults(for: environment.context.device.info, shape: shape)
        let fixed = prepare(fixedCandidates(for: shape))
        guard fixed.contains(where: { $0.tuning == defaults }) else {
            throw CLError.sizeMismatch(operation: "matmul tune \(shape.description)",
                                       detail: "the default configuration failed: \(rejected.first ?? "?")")
        }
        try time(fixed, phase: "fixed set")
        var best = scores.min { $0.value < $1.value }!.key
        for step in 0..<options.localSearchSteps {
            let around = prepare(neighbours(of: best, shape: shape))
            if around.isEmpty { break }
            // Re-time the incumbent with its neighbours so they meet the same noise.
            let incumbent = Prepared(tuning: best, steps: try encode(best))
            try time([incumbent] + around, phase: "local search \(step + 1)")
            let next = scores.min { $0.value < $1.value }!.key
            if next == best { break }
            best = next
        }
        // The winner must beat the defaults measured beside it; a near tie keeps the defaults.
        let finalists = [Prepared(tuning: defaults, steps: try encode(defaults))]
            + (best == defaults ? [] : [Prepared(tuning: best, steps: try encode(best))])
        try time(finalists, phase: "final: defaults vs best")
        let defaultMs = scores[defaults]!, bestMs = scores[best]!
        let winner = bestMs < defaultMs * 0.97 ? best : defaults
        return Outcome(shapeClass: MatmulShapeClass(shape), shape: shape, winner: winner,
                       winnerMs: winner == defaults ? defaultMs : bestMs, defaults: defaults, defaultMs: defaultMs,
                       tried: tried, rejected: rejected, winnerNMSE: errors[winner] ?? .nan,
                       scores: scores.map { ($0.key, $0.value) }.sorted { $0.ms < $1.ms })
    }

    // MARK: Reference

    /// Rows checked exactly: all for small products, else 24 spread over M with both ends.
    static func checkedRows(_ s: MatmulShape) -> [Int] {
        if s.batch * s.m * s.n * s.k <= 1 << 22 { return Array(0..<s.m) }
        let count = 24, stride = max(1, s.m / count)
        return Array(Set((0..<count).map { min(s.m - 1, $0 * stride + $0 % 3) } + [0, s.m - 1])).sorted()
    }

    /// float64 rows of C for every batch: [batch][row][n].
    static func reference(rows: [Int], a: [Float], b: [Float], shape s: MatmulShape) -> [Double] {
        var result: [Double] = []
        result.reserveCapacity(s.batch * rows.count * s.n)
        var line = [Double](repeating: 0, count: s.n)
        for bt in 0..<s.batch {
            let aBase = bt * s.m * s.k, bBase = s.broadcastB ? 0 : bt * s.k * s.n
            for i in rows {
                for j in 0..<s.n { line[j] = 0 }
                for p in 0..<s.k {
                    let av = Double(s.transposeA ? a[aBase + p * s.m + i] : a[aBase + i * s.k + p])
                    if s.transposeB {
                        for j in 0..<s.n { line[j] += av * Double(b[bBase + j * s.k + p]) }
                    } else {
                        let base = bBase + p * s.n
                        for j in 0..<s.n { line[j] += av * Double(b[base + j]) }
                    }
                }
                result += line
            }
        }
        return result
    }

    static func nmse(reference: [Double], c: CLBuffer<Float>, rows: [Int], shape s: MatmulShape) throws -> Double {
        var error = 0.0, power = 0.0, index = 0
        for bt in 0..<s.batch {
            for i in rows {
                let actual = try c.download(offset: (bt * s.m + i) * s.n, count: s.n)
                for value in actual {
                    guard value.isFinite else { return .infinity }
                    let d = reference[index] - Double(value)
                    error += d * d
                    power += reference[index] * reference[index]
                    index += 1
                }
            }
        }
        return power > 0 ? error / power : error
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .infinity }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}

/// Seeded data for tuning runs (uniform in [-1, 1)).
struct TuningRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func uniform() -> Float {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Float((z ^ (z >> 31)) >> 40) / Float(1 << 23) - 1
    }
}
