import CLRuntime
import DurableFiles
import Foundation

/// Caches measured peaks per device in `<cache dir>/peaks/`, and decides when a measurement is
/// trustworthy enough to cache.
///
/// A peak is the denominator of every later "% of peak", so a figure measured while other work
/// shared the device must not stick. Three rules keep it out:
/// - A peak is cached only when two measurements agree: each figure of `DevicePeak.denominators`
///   within `agreement` (15%) of the other's. Measurements continue until one agrees with an earlier
///   one, at most `maxMeasurements`; the agreeing pair's better figures are the result. When none
///   agree, the run uses the best figure measured, for this run only, says so on stderr and caches
///   nothing, so the next run measures again.
/// - Measuring happens under the cache file's lock: processes that start at once on one cache
///   folder measure one at a time, and those that waited use the peak the first one cached instead
///   of measuring under its load.
/// - Once cached, a peak changes only through `clbench peak`: a plain run raises each cached figure
///   to its own agreed measurement when that is higher (`DevicePeak.bestOf`: a busy machine only
///   ever lowers figures, and an agreed higher figure is one the device really reached); `--remeasure`
///   replaces the cached peak with its agreed measurement, higher or lower. Benchmarks never change it.
public enum DevicePeakCache {
    /// Two measurements agree when each figure is within this fraction of the larger of the two.
    public static let agreement = 0.15
    /// Measurements tried for a pair that agrees before giving up.
    public static let maxMeasurements = 4

    /// What to do with the cache.
    public enum Mode: Sendable {
        /// Use the cached peak; measure (and cache an agreed result) only when there is none.
        case cachedOrMeasure
        /// Measure; cache each figure as the better of the cached one and the agreed measurement.
        case measureKeepingBest
        /// Measure; replace the cached peak with the agreed measurement.
        case remeasure
    }

    /// The peak to use and how it was found.
    public struct Resolution: Sendable {
        /// The figures for this run: the cached peak, the agreed measurement, or the best measured.
        public var peak: DevicePeak
        /// This call's measurements, in order (empty when the cache answered).
        public var measurements: [DevicePeak]
        /// Two measurements agreed (or the cache answered without measuring).
        public var settled: Bool
        /// What the cache holds after the call (nil when it holds nothing).
        public var cached: DevicePeak?
    }

    /// The cache file of `device` in `directory`.
    public static func url(for device: DeviceInfo, directory: URL = ProgramCache.cacheDirectory()) -> URL {
        let safe = (device.name + "-" + device.driverVersion).map { $0.isLetter || $0.isNumber ? $0 : "_" }
        return directory.appendingPathComponent("peaks/\(String(safe)).json")
    }

    /// The cached peak of `device`, or nil when there is none or the file does not parse.
    public static func load(for device: DeviceInfo, directory: URL = ProgramCache.cacheDirectory()) -> DevicePeak? {
        decode(FileManager.default.contents(atPath: url(for: device, directory: directory).path))
    }

    /// The peak for a benchmark on `context`'s device: the cached one, else measured until two
    /// measurements agree (cached) or `maxMeasurements` disagree (used for this run only, with a
    /// warning on stderr).
    public static func peak(for context: CLContext) throws -> DevicePeak {
        try resolve(device: context.device.info, mode: .cachedOrMeasure, measure: { try PeakProbe(context: context).measure() }).peak
    }

    /// Finds or measures `device`'s peak under the cache file's lock, following `mode`. A cache
    /// folder that cannot be created, locked or written costs the cache, not the run: the peak is
    /// measured (and used) all the same, with a warning.
    /// - Parameters:
    ///   - measure: one measurement (`PeakProbe.measure` on the device; tests inject figures).
    ///   - warn: receives the message when no two measurements agree or the cache cannot be used (default: stderr).
    public static func resolve(device: DeviceInfo, directory: URL = ProgramCache.cacheDirectory(), mode: Mode,
                               maxMeasurements: Int = maxMeasurements, measure: () throws -> DevicePeak,
                               warn: (String) -> Void = warnOnStandardError) throws -> Resolution {
        let file = url(for: device, directory: directory)
        func settle(_ cached: DevicePeak?, storingIn path: String?) throws -> Resolution {
            try settleMeasurements(cached: cached, mode: mode, maxMeasurements: maxMeasurements, measure: measure,
                                   storingIn: path, warn: warn)
        }
        do {
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            return try FileLock.withExclusiveLock(for: file.path) {
                let cached = decode(FileManager.default.contents(atPath: file.path))
                if mode == .cachedOrMeasure, let cached {
                    return Resolution(peak: cached, measurements: [], settled: true, cached: cached)
                }
                return try settle(cached, storingIn: file.path)
            }
        } catch let error as DurableFileError {
            // Only the lock throws these here: a failed write is reported and absorbed inside.
            warn("cannot use the peak cache in \(file.deletingLastPathComponent().path) (\(error)); measuring without it")
            return try settle(nil, storingIn: nil)
        } catch let error as CocoaError {
            warn("cannot use the peak cache in \(file.deletingLastPathComponent().path) (\(error.localizedDescription)); measuring without it")
            return try settle(nil, storingIn: nil)
        }
    }

    /// Measures until one measurement agrees with an earlier one, then writes what `mode` asks for
    /// to `path` (when given; a failed write warns and leaves the cache as it was); or gives the
    /// best figures, uncached, after `maxMeasurements`.
    private static func settleMeasurements(cached: DevicePeak?, mode: Mode, maxMeasurements: Int,
                                           measure: () throws -> DevicePeak, storingIn path: String?,
                                           warn: (String) -> Void) throws -> Resolution {
        var measurements: [DevicePeak] = []
        while measurements.count < max(2, maxMeasurements) {
            let next = try measure()
            if let earlier = measurements.first(where: { $0.agrees(with: next, tolerance: agreement) }) {
                measurements.append(next)
                let agreed = earlier.bestOf(next)
                let stored = mode == .measureKeepingBest ? cached.map { $0.bestOf(agreed) } ?? agreed : agreed
                guard let path else { return Resolution(peak: agreed, measurements: measurements, settled: true, cached: nil) }
                do {
                    try DurableFile.write(try encode(stored), to: path)
                } catch {
                    warn("cannot write the peak cache (\(error)); the measured peak is used for this run only")
                    return Resolution(peak: agreed, measurements: measurements, settled: true, cached: cached)
                }
                return Resolution(peak: agreed, measurements: measurements, settled: true, cached: stored)
            }
            measurements.append(next)
        }
        let best = measurements.dropFirst().reduce(measurements[0]) { $0.bestOf($1) }
        warn(unsettledMessage(measurements, best: best, cachedKept: cached != nil && mode != .cachedOrMeasure))
        return Resolution(peak: best, measurements: measurements, settled: false, cached: cached)
    }

    /// Writes a warning line to stderr.
    public static func warnOnStandardError(_ message: String) {
        FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
    }

    static func unsettledMessage(_ measurements: [DevicePeak], best: DevicePeak, cachedKept: Bool) -> String {
        let ranges = best.denominators.indices.map { index -> String in
            let values = measurements.map { $0.denominators[index].value }
            let figure = best.denominators[index]
            return String(format: "%@ %.1f–%.1f %@", figure.name, values.min()!, values.max()!, figure.unit)
        }
        let used = best.denominators.map { String(format: "%.1f %@", $0.value, $0.unit) }
        return "the device peak did not settle: no two of \(measurements.count) measurements agreed within "
            + "\(Int(agreement * 100))% (\(ranges.joined(separator: ", "))); other work is probably sharing the device. "
            + "Using the best measured (\(used.joined(separator: ", "))) for this run only; "
            + (cachedKept ? "the cached peak is unchanged. " : "nothing is cached. ")
            + "Run `clbench peak` on a quiet machine to cache it."
    }

    static func decode(_ data: Data?) -> DevicePeak? {
        guard let data else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(DevicePeak.self, from: data)
    }

    static func encode(_ peak: DevicePeak) throws -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(peak)
    }
}
