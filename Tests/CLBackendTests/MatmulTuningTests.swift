import CLBackend
import CLRuntime
import Foundation
import Testing

/// float64 reference C = A·B for one product.
private func reference(_ a: [Float], _ b: [Float], _ s: MatmulShape) -> [Float] {
    var c = [Float](repeating: 0, count: s.batch * s.m * s.n)
    for bt in 0..<s.batch {
        let aBase = bt * s.m * s.k, bBase = s.broadcastB ? 0 : bt * s.k * s.n
        for i in 0..<s.m {
            for j in 0..<s.n {
                var sum = 0.0
                for p in 0..<s.k {
                    let av = s.transposeA ? a[aBase + p * s.m + i] : a[aBase + i * s.k + p]
                    let bv = s.transposeB ? b[bBase + j * s.k + p] : b[bBase + p * s.n + j]
                    sum += Double(av) * Double(bv)
                }
                c[(bt * s.m + i) * s.n + j] = Float(sum)
            }
        }
    }
    return c
}

/// Runs `shape` through `family` (output inside sentinel guards) and returns NMSE and whether the guards held.
private func run(_ family: MatmulFamily, _ shape: MatmulShape, variant: MatmulFamily.Variant?, seed: UInt64) throws -> (Double, Bool) {
    let context = TestDevice.context
    var random = TestRandom(seed: seed)
    let aValues = random.floats(shape.aCount), bValues = random.floats(shape.bCount)
    let a = try CLBuffer<Float>(context: context, values: aValues)
    let b = try CLBuffer<Float>(context: context, values: bValues)
    let pad = max(16, context.device.info.baseAddressAlignmentBytes / 4)
    let parent = try CLBuffer<Float>(context: context, values: [Float](repeating: -999.5, count: shape.cCount + 2 * pad))
    let c = try parent.view(offset: pad, count: shape.cCount)
    let steps = try family.encode(a: a, b: b, c: c, shape: shape, variant: variant)
    for _ in 0..<2 { for step in steps { try step.enqueue(on: context) } }
    try context.finish()
    let all = try parent.download()
    let intact = all[..<pad].allSatisfy { $0 == -999.5 } && all[(pad + shape.cCount)...].allSatisfy { $0 == -999.5 }
    return (nmse(reference(aValues, bValues, shape), Array(all[pad..<(pad + shape.cCount)])), intact)
}

/// Collects tuning-cache warnings instead of printing them.
private final class WarningLog: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}

private func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("clgraph-tuning-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite("MatmulTuning", .serialized)
struct MatmulTuningTests {
    /// Awkward sizes (1, 7, 13, 257, 1000, 1025) in every role, small total work for debug builds.
    static let awkward: [(m: Int, n: Int, k: Int)] = [(1, 1000, 7), (7, 13, 1025), (257, 13, 7), (13, 1025, 1),
                                                     (1000, 7, 13), (1025, 1, 13), (13, 257, 257)]

    @Test("non-default tuned configurations against the reference on awkward sizes", arguments: [1, 2])
    func tunedConfigurations(configuration: Int) throws {
        let tuning = try #require(MatmulTuning.conformanceConfigurations[configuration])
        #expect(tuning != MatmulTuning.defaults(for: .cpu) && tuning != MatmulTuning.defaults(for: .gpu)
                && tuning != MatmulTuning.defaults(for: TestDevice.context.device.info))
        let family = MatmulFamily(environment: TestDevice.environment)
        family.tuning = tuning
        for (index, size) in Self.awkward.enumerated() {
            for layout in 0..<4 {
                let shape = MatmulShape(m: size.m, n: size.n, k: size.k, transposeA: layout & 1 != 0, transposeB: layout & 2 != 0)
                let (error, intact) = try run(family, shape, variant: tuning.variant, seed: UInt64(10 * index + layout))
                #expect(error < 1e-7, "\(tuning) \(shape): nmse \(error)")
                #expect(intact, "\(tuning) \(shape): wrote outside C")
            }
        }
    }

    @Test("a cached winner is used for its shape class only, and runs correctly")
    func cachedWinnerIsUsed() throws {
        let info = TestDevice.context.device.info
        var table = MatmulTuningTable(device: info)
        var winner = MatmulTuning.defaults(for: .cpu)
        (winner.rowsPerTile, winner.kBlock, winner.rowTilesPerItem, winner.packMinRowsTransposedB) = (5, 32, 2, 200)
        let shape = MatmulShape(m: 37, n: 70, k: 300, transposeB: true)
        table.entries[MatmulShapeClass(shape).description] = MatmulTuningTable.Entry(
            tuning: winner, shape: "1x37x70x300", medianMs: 1, defaultMedianMs: 2, gflops: 1, tunedAt: "now")
        let family = MatmulFamily(environment: TestDevice.environment)
        family.tuned = table
        #expect(family.resolvedTuning(for: shape).tuning == winner)
        #expect(family.resolvedTuning(for: shape).source.description.hasPrefix("tuned"))
        #expect(family.automaticVariant(for: shape) == .cpuRegisterBlocked)
        // Another class (not transposed) falls back to the defaults.
        #expect(family.resolvedTuning(for: MatmulShape(m: 37, n: 70, k: 300)).source == .deviceDefault)
        let (error, intact) = try run(family, shape, variant: nil, seed: 4)
        #expect(error < 1e-7 && intact)
    }

    @Test("an exact-shape winner beats its class's winner, for that shape only")
    func exactShapeWinner() throws {
        var table = MatmulTuningTable(device: TestDevice.context.device.info)
        var classWinner = MatmulTuning.defaults(for: .cpu), exactWinner = MatmulTuning.defaults(for: .cpu)
        classWinner.rowsPerTile = 6
        (exactWinner.rowsPerTile, exactWinner.kBlock, exactWinner.packMinRows) = (3, 16, 1)
        let shape = MatmulShape(m: 29, n: 70, k: 45)
        let sibling = MatmulShape(m: 30, n: 70, k: 45)
        #expect(shape.tuningKey == "1x29x70x45.nn")
        #expect(MatmulShape(batch: 4, m: 2, n: 3, k: 5, transposeA: true, transposeB: true, broadcastB: true).tuningKey == "4x2x3x5.tt.shared")
        func entry(_ t: MatmulTuning) -> MatmulTuningTable.Entry {
            MatmulTuningTable.Entry(tuning: t, shape: "", medianMs: 1, defaultMedianMs: 2, gflops: 1, tunedAt: "now")
        }
        table.entries[MatmulShapeClass(shape).description] = entry(classWinner)
        table.shapes[shape.tuningKey] = entry(exactWinner)
        let family = MatmulFamily(environment: TestDevice.environment)
        family.tuned = table
        #expect(family.resolvedTuning(for: shape).tuning == exactWinner)
        #expect(family.resolvedTuning(for: shape).source == .tuned(shapeClass: "1x29x70x45.nn"))
        #expect(family.resolvedTuning(for: sibling).tuning == classWinner)
        let (error, intact) = try run(family, shape, variant: nil, seed: 5)
        #expect(error < 1e-7 && intact)
    }

    @Test("narrow products (N ≤ 32) run the dot path and short-K products read B in place by default, correctly on awkward sizes")
    func narrowDefaults() throws {
        let info = TestDevice.context.device.info
        let family = MatmulFamily(environment: TestDevice.environment)
        family.tuned = nil
        let logits = MatmulShape(m: 128, n: 27, k: 512, transposeB: true)
        #expect(MatmulShapeClass(logits).description == "narrow.nt")
        if DeviceClass(info) == .cpu {
            #expect(family.resolvedTuning(for: logits).tuning.packMinRowsTransposedB > logits.m)
            // K ≤ 32 reads B [K, N] in place by default; longer K still packs.
            #expect(family.resolvedTuning(for: MatmulShape(m: 128, n: 512, k: 27)).tuning.packMinRows > 128)
            #expect(family.resolvedTuning(for: MatmulShape(m: 128, n: 512, k: 33)).tuning.packMinRows <= 128)
        }
        // Tiles of 3×9 (and the 8-wide fallback) over rows, columns and K that are not multiples of them.
        for (index, (m, n, k)) in [(4, 1, 1), (7, 27, 13), (13, 32, 31), (128, 27, 512), (257, 7, 17), (5, 10, 100)].enumerated() {
            let shape = MatmulShape(m: m, n: n, k: k, transposeB: true)
            let (error, intact) = try run(family, shape, variant: nil, seed: UInt64(40 + index))
            #expect(error < 1e-7, "\(shape): nmse \(error)")
            #expect(intact, "\(shape): wrote outside C")
        }
    }

    @Test("shape classes and their keys")
    func shapeClasses() {
        #expect(MatmulShapeClass(MatmulShape(m: 128, n: 27, k: 512, transposeB: true)).description == "narrow.nt")
        #expect(MatmulShapeClass(MatmulShape(m: 27, n: 512, k: 128, transposeA: true)).description == "tall-skinny.tn")
        #expect(MatmulShapeClass(MatmulShape(m: 1024, n: 1024, k: 1024)).description == "square-large.nn")
        #expect(MatmulShapeClass(MatmulShape(m: 128, n: 512, k: 144, transposeB: true)).description == "tall-skinny.nt")
        #expect(MatmulShapeClass(MatmulShape(m: 1, n: 512, k: 512, transposeA: true)).description == "gemv.tn")
        #expect(MatmulShapeClass(MatmulShape(batch: 8, m: 256, n: 256, k: 64, transposeB: true)).description == "batched.nt")
        for shapeClass in MatmulShapeClass.modelClasses {
            #expect(MatmulShapeClass(key: shapeClass.description) == shapeClass)
            #expect(MatmulShapeClass(shapeClass.representativeShape) == shapeClass)
        }
        #expect(MatmulShapeClass(key: "square-large.xn") == nil && MatmulShapeClass(key: "huge.nn") == nil)
    }

    @Test("cache round trip")
    func roundTrip() throws {
        let info = TestDevice.context.device.info
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = MatmulTuningCache.url(for: info, directory: directory)
        var table = MatmulTuningTable(device: info)
        table.entries["tall-skinny.nt"] = MatmulTuningTable.Entry(
            tuning: MatmulTuning.conformanceConfigurations[1]!, shape: "1x128x512x144", medianMs: 0.2, defaultMedianMs: 0.3,
            gflops: 90, tunedAt: "2026-11-23T12:00:00Z")
        try MatmulTuningCache.save(table, url: url)
        let log = WarningLog()
        let saved = MatmulTuningCache.warn
        MatmulTuningCache.warn = { log.append($0) }
        defer { MatmulTuningCache.warn = saved }
        #expect(MatmulTuningCache.load(device: info, url: url) == table)
        #expect(log.all.isEmpty)
        // No file: nil and silent.
        #expect(MatmulTuningCache.load(device: info, url: directory.appendingPathComponent("none.json")) == nil)
        #expect(log.all.isEmpty)
    }

    @Test("a corrupt cache is ignored with a warning (defaults) and a tune can rewrite it")
    func corruptCache() throws {
        let info = TestDevice.context.device.info
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = MatmulTuningCache.url(for: info, directory: directory)
        let log = WarningLog()
        let saved = MatmulTuningCache.warn
        MatmulTuningCache.warn = { log.append($0) }
        defer { MatmulTuningCache.warn = saved }
        for junk in ["{\"formatVersion\": 1, \"deviceName\": ", "not json at all", ""] {
            try Data(junk.utf8).write(to: url)
            #expect(MatmulTuningCache.load(device: info, url: url) == nil)
        }
        #expect(log.all.count == 3)
        #expect(log.all.allSatisfy { $0.contains("corrupt") && $0.contains(url.path) })
        // A table with an invalid entry is also refused.
        var bad = MatmulTuningTable(device: info)
        var tuning = MatmulTuning.defaults(for: .cpu)
        tuning.rowsPerTile = 0
        bad.entries["square-large.nn"] = MatmulTuningTable.Entry(tuning: tuning, shape: "", medianMs: 1, defaultMedianMs: 1,
                                                                  gflops: 1, tunedAt: "")
        try MatmulTuningCache.save(bad, url: url)
        #expect(MatmulTuningCache.load(device: info, url: url) == nil)
        #expect(log.all.count == 4)
        // A family without a table runs the defaults.
        let family = MatmulFamily(environment: TestDevice.environment)
        family.tuned = nil
        #expect(family.resolvedTuning(for: MatmulShape(m: 64, n: 64, k: 64)).tuning == family.defaultTuning)
        // Rewriting replaces the corrupt file.
        try MatmulTuningCache.save(MatmulTuningTable(device: info), url: url)
        #expect(MatmulTuningCache.load(device: info, url: url) == MatmulTuningTable(device: info))
    }

    @Test("a merge keeps the file's other winners, the just-measured entry wins its key, a foreign table is replaced")
    func mergeRules() throws {
        let info = TestDevice.context.device.info
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = MatmulTuningCache.url(for: info, directory: directory)
        func entry(_ ms: Double, _ configuration: Int) -> MatmulTuningTable.Entry {
            MatmulTuningTable.Entry(tuning: MatmulTuning.conformanceConfigurations[configuration]!, shape: "1x64x64x64",
                                    medianMs: ms, defaultMedianMs: 1, gflops: 1, tunedAt: "2026-11-23T12:00:00Z")
        }
        // No file: the measured table is written as it is.
        var first = MatmulTuningTable(device: info)
        first.shapes["1x64x64x64.nn"] = entry(0.5, 1)
        first.entries["gemv.nt"] = entry(0.7, 1)
        #expect(try MatmulTuningCache.merge(first, into: url) == first)
        // Another run's winners: the file keeps both; for the key in both, the one merged now wins.
        var second = MatmulTuningTable(device: info)
        second.shapes["1x32x48x64.nn"] = entry(0.3, 1)
        second.entries["gemv.nt"] = entry(0.6, 2)
        let merged = try MatmulTuningCache.merge(second, into: url)
        #expect(Set(merged.shapes.keys) == ["1x64x64x64.nn", "1x32x48x64.nn"])
        #expect(merged.entries["gemv.nt"] == second.entries["gemv.nt"])
        #expect(MatmulTuningCache.load(device: info, url: url) == merged)
        // A table made for another driver is replaced, not merged.
        var foreign = merged
        foreign.driverVersion += "-other"
        try MatmulTuningCache.save(foreign, url: url)
        #expect(try MatmulTuningCache.merge(second, into: url) == second)
        // So is a corrupt file.
        try Data("not json".utf8).write(to: url)
        #expect(try MatmulTuningCache.merge(first, into: url) == first)
        #expect(MatmulTuningCache.load(device: info, url: url) == first)
    }

    @Test("a cache made for another driver, device or kernel source is ignored with a warning")
    func mismatchedKey() throws {
        let info = TestDevice.context.device.info
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = MatmulTuningCache.url(for: info, directory: directory)
        let log = WarningLog()
        let saved = MatmulTuningCache.warn
        MatmulTuningCache.warn = { log.append($0) }
        defer { MatmulTuningCache.warn = saved }
        let good = MatmulTuningTable(device: info)
        var variants = [good, good, good]
        variants[0].driverVersion += "-other"
        variants[1].deviceName = "Some Other Device"
        variants[2].sourceHash = "0000000000000000"
        for table in variants {
            try MatmulTuningCache.save(table, url: url)
            #expect(MatmulTuningCache.load(device: info, url: url) == nil)
        }
        #expect(log.all.count == 3)
        // A format-1 file (no exact-shape table) is another format, not a corrupt file.
        let old = "{\"formatVersion\": 1, \"deviceName\": \"\(info.name)\", \"driverVersion\": \"\(info.driverVersion)\", "
            + "\"sourceHash\": \"\(good.sourceHash)\", \"entries\": {}}"
        try Data(old.utf8).write(to: url)
        #expect(MatmulTuningCache.load(device: info, url: url) == nil)
        #expect(log.all.count == 4 && log.all[3].contains("(format 1)") && !log.all[3].contains("corrupt"))
        #expect(log.all.allSatisfy { $0.contains("ignoring matmul tuning cache") })
    }

    @Test("bad tuning parameters give a clear error, not a crash")
    func badParameters() throws {
        let family = MatmulFamily(environment: TestDevice.environment)
        let buffer = try CLBuffer<Float>(context: TestDevice.context, count: 64)
        var tuning = MatmulTuning.defaults(for: .gpu)
        tuning.wptm = 3
        family.tuning = tuning
        #expect(throws: CLError.self) {
            try family.encode(a: buffer, b: buffer, c: buffer, shape: MatmulShape(m: 4, n: 4, k: 4), variant: .number(3))
        }
        #expect(throws: CLError.self) { try MatmulTuning(variant: .number(2), rowsPerTile: 40).validate() }
    }

    @Test("the tuner validates candidates and returns a valid winner")
    func tuner() throws {
        var options = MatmulTuner.Options()
        options.rounds = 1
        options.launchesPerRound = 1
        options.warmup = 0
        options.localSearchSteps = 0   // each new TM / dot tile is a program build (1-2 s on pocl)
        let tuner = MatmulTuner(environment: TestDevice.environment, options: options)
        let shape = MatmulShape(m: 13, n: 40, k: 29, transposeA: true)
        let outcome = try tuner.tune(shape)
        #expect(outcome.tried >= tuner.fixedCandidates(for: shape).count)
        #expect(outcome.rejected.isEmpty, "\(outcome.rejected)")
        #expect(outcome.winnerMs > 0 && outcome.defaultMs > 0 && outcome.winnerNMSE < 1e-10)
        #expect(outcome.shapeClass.description == "tall-skinny.tn")
        let family = MatmulFamily(environment: TestDevice.environment)
        family.tuning = outcome.winner
        let (error, intact) = try run(family, shape, variant: outcome.winner.variant, seed: 8)
        #expect(error < 1e-7 && intact)
    }
}
