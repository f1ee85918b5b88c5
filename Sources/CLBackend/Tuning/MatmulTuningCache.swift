import CLRuntime
import DurableFiles
import Foundation

/// One device's tuned matmul winners, as stored in its cache file.
///
/// The file is keyed by device name, driver version and a hash of `matmul.cl` (and of the
/// device's default configuration, which winners are measured against): a file whose key
/// differs from the running device and kernel source is ignored (with a warning) and rewritten by
/// the next tune, so a driver upgrade or a kernel edit never runs stale parameters.
public struct MatmulTuningTable: Codable, Sendable, Equatable {
    /// One shape class's winner and what it was measured on.
    public struct Entry: Codable, Sendable, Equatable {
        public var tuning: MatmulTuning
        /// The shape it was measured on, "batch×m×n×k".
        public var shape: String
        /// Kernel-time medians of the winner and of the defaults on that shape.
        public var medianMs: Double
        public var defaultMedianMs: Double
        public var gflops: Double
        public var tunedAt: String

        public init(tuning: MatmulTuning, shape: String, medianMs: Double, defaultMedianMs: Double, gflops: Double,
                    tunedAt: String) {
            self.tuning = tuning
            self.shape = shape
            self.medianMs = medianMs
            self.defaultMedianMs = defaultMedianMs
            self.gflops = gflops
            self.tunedAt = tunedAt
        }
    }

    /// 2: exact-shape winners (`shapes`) beside the class winners.
    public static let formatVersion = 2
    public var formatVersion: Int
    public var deviceName: String
    public var driverVersion: String
    public var sourceHash: String
    /// Winners by `MatmulShapeClass.description` (e.g. `tall-skinny.nt`).
    public var entries: [String: Entry]
    /// Winners for exact shapes by `MatmulShape.tuningKey` (e.g. `1x128x27x512.nt`): a model's own
    /// products, tuned one by one, ahead of their class's representative.
    public var shapes: [String: Entry]

    public init(deviceName: String, driverVersion: String, sourceHash: String, entries: [String: Entry] = [:],
                shapes: [String: Entry] = [:]) {
        self.formatVersion = Self.formatVersion
        self.deviceName = deviceName
        self.driverVersion = driverVersion
        self.sourceHash = sourceHash
        self.entries = entries
        self.shapes = shapes
    }

    private enum CodingKeys: String, CodingKey { case formatVersion, deviceName, driverVersion, sourceHash, entries, shapes }

    /// Decodes any format; a file from before exact shapes (format 1) parses, and is then refused
    /// by `matches` as made for another format rather than reported as corrupt.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        formatVersion = try container.decode(Int.self, forKey: .formatVersion)
        deviceName = try container.decode(String.self, forKey: .deviceName)
        driverVersion = try container.decode(String.self, forKey: .driverVersion)
        sourceHash = try container.decode(String.self, forKey: .sourceHash)
        entries = try container.decode([String: Entry].self, forKey: .entries)
        shapes = try container.decodeIfPresent([String: Entry].self, forKey: .shapes) ?? [:]
    }

    /// An empty table keyed for `device` and the current `matmul.cl`.
    public init(device: DeviceInfo) {
        self.init(deviceName: device.name, driverVersion: device.driverVersion, sourceHash: MatmulTuningCache.sourceHash(for: device))
    }

    /// The winner for `shape`: its exact-shape entry, else its class's, if tuned.
    public func tuning(for shape: MatmulShape) -> MatmulTuning? { winner(for: shape)?.tuning }

    /// The winner for `shape` and the key it is stored under (exact shape first, then class).
    public func winner(for shape: MatmulShape) -> (tuning: MatmulTuning, key: String)? {
        if let exact = shapes[shape.tuningKey] { return (exact.tuning, shape.tuningKey) }
        let key = MatmulShapeClass(shape).description
        return entries[key].map { ($0.tuning, key) }
    }

    /// Whether this table was made for `device` and the current kernel source.
    public func matches(_ other: MatmulTuningTable) -> Bool {
        formatVersion == other.formatVersion && deviceName == other.deviceName && driverVersion == other.driverVersion
            && sourceHash == other.sourceHash
    }
}

/// The per-device tuning cache files in `CLGRAPH_CACHE_DIR` (beside the program cache):
/// `matmul-tuning-<hash of device, platform>.json`. Normal runs only read them; `clbench tune
/// matmul` merges its winners into them under a lock (`merge(_:into:)`), so tunes running at once
/// on one cache folder keep each other's winners.
public enum MatmulTuningCache {
    /// Where warnings go (stderr by default; tests capture them).
    nonisolated(unsafe) public static var warn: (String) -> Void = { message in
        FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
    }

    /// FNV-1a of the matmul kernel source and of the device's default configuration, hex: a
    /// winner is chosen against the defaults, so new defaults (or kernels) call for a new tune.
    public static func sourceHash(for device: DeviceInfo) -> String {
        let source = KernelSourceLookup.source(MatmulFamily.family) ?? ""
        return hex(fnv1a(Array((source + "\n// defaults: \(MatmulTuning.defaults(for: device))").utf8)))
    }

    /// The cache file for `device` in `directory` (default: the program cache's folder).
    public static func url(for device: DeviceInfo, directory: URL = ProgramCache.cacheDirectory()) -> URL {
        let identity = "\(device.name)|\(device.platformName)|\(device.vendor)"
        return directory.appendingPathComponent("matmul-tuning-\(hex(fnv1a(Array(identity.utf8)))).json")
    }

    /// The table in `url` if it exists, parses and matches `device` and the current source; else nil,
    /// with a warning for a corrupt or mismatched file (a missing file is silent).
    public static func load(device: DeviceInfo, url: URL) -> MatmulTuningTable? {
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        switch usable(data, expected: MatmulTuningTable(device: device)) {
        case .success(let table): return table
        case .failure(let problem):
            warn("ignoring \(problem.reason(url)); using defaults until `clbench tune matmul` rewrites it")
            return nil
        }
    }

    /// Why a file's table cannot be used for the running device and kernel source.
    enum Problem: Error {
        case corrupt(Error)
        case mismatched(found: MatmulTuningTable, expected: MatmulTuningTable)
        case badEntry(key: String, tuning: MatmulTuning)

        func reason(_ url: URL) -> String {
            switch self {
            case .corrupt(let error): return "corrupt matmul tuning cache \(url.path) (\(error))"
            case .mismatched(let table, let expected):
                return "matmul tuning cache \(url.path): made for device '\(table.deviceName)', driver '\(table.driverVersion)', "
                    + "matmul.cl \(table.sourceHash) (format \(table.formatVersion)); this is '\(expected.deviceName)', driver "
                    + "'\(expected.driverVersion)', matmul.cl \(expected.sourceHash)"
            case .badEntry(let key, let tuning): return "matmul tuning cache \(url.path): bad entry '\(key)' (\(tuning))"
            }
        }
    }

    /// The table `data` holds, if it parses, is keyed like `expected` (device, driver, source,
    /// format) and every entry is a valid configuration.
    static func usable(_ data: Data, expected: MatmulTuningTable) -> Result<MatmulTuningTable, Problem> {
        let table: MatmulTuningTable
        do {
            table = try JSONDecoder().decode(MatmulTuningTable.self, from: data)
        } catch {
            return .failure(.corrupt(error))
        }
        guard table.matches(expected) else { return .failure(.mismatched(found: table, expected: expected)) }
        for (key, entry) in table.entries.map({ ($0, $1) }) + table.shapes.map({ ($0, $1) }) {
            guard MatmulShapeClass(key: key) != nil || table.shapes[key] != nil, (try? entry.tuning.validate()) != nil else {
                return .failure(.badEntry(key: key, tuning: entry.tuning))
            }
        }
        return .success(table)
    }

    /// Writes `table` to `url` as it is (replacing the file), atomically and durably, creating the folder.
    public static func save(_ table: MatmulTuningTable, url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try DurableFile.write(encode(table), to: url.path)
    }

    /// Merges the winners in `measured` into the file at `url` and returns the table written.
    ///
    /// Under the file's lock (other processes tuning into the same folder wait), the file is read
    /// again and the result holds the entries of both. For a key in both, the entry in `measured`
    /// wins: it was measured by this run, just now, while the file's is older or from a tune
    /// running beside this one (whichever of two such tunes merges last keeps its winner, each a
    /// valid, measured configuration). A file that is missing, corrupt, or made for another device,
    /// driver, kernel source or format is replaced by `measured` rather than merged.
    @discardableResult
    public static func merge(_ measured: MatmulTuningTable, into url: URL) throws -> MatmulTuningTable {
        var merged = measured
        try DurableFile.update(url.path) { existing in
            merged = measured
            if let existing, case .success(let current) = usable(existing, expected: measured) {
                merged.entries = current.entries.merging(measured.entries) { _, new in new }
                merged.shapes = current.shapes.merging(measured.shapes) { _, new in new }
            }
            return try encode(merged)
        }
        return merged
    }

    private static func encode(_ table: MatmulTuningTable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(table)
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var loaded: [String: MatmulTuningTable?] = [:]

    /// The table for `device` from the default cache folder, read once per process (a missing,
    /// corrupt or mismatched file gives nil: defaults).
    public static func shared(for device: DeviceInfo) -> MatmulTuningTable? {
        let url = url(for: device)
        lock.lock()
        defer { lock.unlock() }
        if let table = loaded[url.path] { return table }
        let table = load(device: device, url: url)
        loaded[url.path] = table
        return table
    }

    /// Replaces the in-process copy (after a tune wrote the file).
    public static func setShared(_ table: MatmulTuningTable?, for device: DeviceInfo) {
        lock.lock()
        loaded[url(for: device).path] = table
        lock.unlock()
    }

    static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
