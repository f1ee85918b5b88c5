import CLBenchKit
import CLRuntime
import Foundation
import Testing

/// The peak cache's rules with injected measurements: cache only agreed peaks, re-measure when they
/// disagree, and `--remeasure` replaces rather than keeps the best.
@Suite struct PeakCacheTests {
    struct OutOfMeasurements: Error {}

    let info = BenchTestDevice.context.device.info

    /// A measurement dated to the whole second, as the cache file's ISO 8601 dates keep it.
    private func peak(_ flops: Double, _ copy: Double) -> DevicePeak {
        var peak = DevicePeakTests.peak(flops, copy)
        peak.measuredAt = Date(timeIntervalSince1970: 1_800_000_000)
        return peak
    }

    private func folder() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("clgraph-peak-\(UUID().uuidString)")
    }

    /// Runs `resolve` with `figures` as the successive measurements; returns the resolution, how many
    /// measurements were taken and the warnings.
    private func resolve(_ mode: DevicePeakCache.Mode, _ figures: [DevicePeak], in directory: URL)
        throws -> (DevicePeakCache.Resolution, taken: Int, warnings: [String])
    {
        var remaining = figures[...]
        var warnings: [String] = []
        let resolution = try DevicePeakCache.resolve(
            device: info, directory: directory, mode: mode,
            measure: {
                guard let next = remaining.popFirst() else { throw OutOfMeasurements() }
                return next
            },
            warn: { warnings.append($0) })
        return (resolution, figures.count - remaining.count, warnings)
    }

    @Test func twoAgreeingMeasurementsAreCached() throws {
        let directory = folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (resolution, taken, warnings) = try resolve(.cachedOrMeasure, [peak(100, 40), peak(110, 42), peak(1, 1)], in: directory)
        #expect(taken == 2 && warnings.isEmpty && resolution.settled)
        #expect(resolution.peak.fp32GFLOPS == 110 && resolution.peak.copyGBps == 42)
        #expect(DevicePeakCache.load(for: info, directory: directory) == resolution.peak)
        // Cached: the next benchmark measures nothing.
        let (again, takenAgain, _) = try resolve(.cachedOrMeasure, [peak(1, 1)], in: directory)
        #expect(takenAgain == 0 && again.peak == resolution.peak)
    }

    @Test func aMeasurementUnderLoadIsMeasuredAgainAndNotCached() throws {
        let directory = folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        // The first measurement shared the device: half the rate, a third of the bandwidth.
        let (resolution, taken, warnings) = try resolve(.cachedOrMeasure, [peak(140, 9), peak(277, 30), peak(270, 29)], in: directory)
        #expect(taken == 3 && warnings.isEmpty && resolution.settled)
        #expect(resolution.peak.fp32GFLOPS == 277 && resolution.peak.copyGBps == 30)
        #expect(DevicePeakCache.load(for: info, directory: directory)?.fp32GFLOPS == 277)
    }

    @Test func figuresThatNeverAgreeAreUsedOnceWithAWarningAndNotCached() throws {
        let directory = folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Each pair differs by more than 15% in at least one figure (the rates agree, the bandwidths do not).
        let figures = [peak(100, 10), peak(101, 20), peak(102, 40), peak(103, 80), peak(104, 81)]
        let (resolution, taken, warnings) = try resolve(.cachedOrMeasure, figures, in: directory)
        #expect(taken == DevicePeakCache.maxMeasurements && !resolution.settled)
        #expect(resolution.peak.fp32GFLOPS == 103 && resolution.peak.copyGBps == 80)
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("did not settle") == true && warnings.first?.contains("nothing is cached") == true)
        #expect(DevicePeakCache.load(for: info, directory: directory) == nil)
        #expect(resolution.cached == nil)
    }

    @Test func aPlainMeasurementRaisesCachedFiguresAndRemeasureReplacesThem() throws {
        let directory = folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try resolve(.cachedOrMeasure, [peak(200, 80), peak(200, 80)], in: directory)
        // A lower agreed measurement leaves the cached figures; a higher rate raises that figure only.
        let (lower, _, _) = try resolve(.measureKeepingBest, [peak(100, 40), peak(100, 40)], in: directory)
        #expect(lower.peak.fp32GFLOPS == 100 && lower.cached?.fp32GFLOPS == 200)
        let (higher, _, _) = try resolve(.measureKeepingBest, [peak(250, 60), peak(250, 60)], in: directory)
        #expect(higher.cached?.fp32GFLOPS == 250 && higher.cached?.copyGBps == 80)
        #expect(DevicePeakCache.load(for: info, directory: directory) == higher.cached)
        // --remeasure: the agreed measurement replaces the cache, although it is lower.
        let (replaced, _, _) = try resolve(.remeasure, [peak(120, 30), peak(121, 31)], in: directory)
        #expect(replaced.cached?.fp32GFLOPS == 121 && replaced.cached?.copyGBps == 31)
        #expect(DevicePeakCache.load(for: info, directory: directory) == replaced.cached)
        // A --remeasure that never settles keeps the cached peak and says so.
        let (unsettled, _, warnings) = try resolve(.remeasure, [peak(10, 1), peak(20, 2), peak(40, 4), peak(80, 8)], in: directory)
        #expect(!unsettled.settled && warnings.first?.contains("the cached peak is unchanged") == true)
        #expect(DevicePeakCache.load(for: info, directory: directory) == replaced.cached)
    }

    @Test func agreementIsPerFigure() {
        #expect(peak(100, 40).agrees(with: peak(114, 34.5), tolerance: 0.15))
        #expect(!peak(100, 40).agrees(with: peak(120, 40), tolerance: 0.15))
        #expect(!peak(100, 40).agrees(with: peak(100, 33), tolerance: 0.15))
    }
}

extension PeakCacheTests {
    @Test func aCacheFolderThatCannotBeCreatedCostsTheCacheNotTheRun() throws {
        // The cache folder's parent is a plain file, so neither the folder nor its lock can be made.
        let blocker = folder()
        try Data("a file".utf8).write(to: blocker)
        defer { try? FileManager.default.removeItem(at: blocker) }
        let (resolution, taken, warnings) = try resolve(.cachedOrMeasure, [peak(100, 40), peak(101, 40)],
                                                        in: blocker.appendingPathComponent("cache"))
        #expect(taken == 2 && resolution.settled && resolution.peak.fp32GFLOPS == 101)
        #expect(resolution.cached == nil)
        #expect(warnings.count == 1 && warnings.first?.contains("cannot use the peak cache") == true, "\(warnings)")
    }
}
