import DurableFiles
import Foundation

/// An on-disk cache of built program binaries, keyed by everything that changes the binary:
/// source, build options, device name, driver version and platform version.
///
/// Entries are written with `DurableFile.write` (a `.KEY.clbin.<pid>-<n>.tmp` temporary, fsync,
/// rename, folder fsync; a temporary left by a killed writer is removed by the next store of that
/// entry) and carry a length and a checksum; an entry that is truncated or corrupt is detected,
/// deleted and rebuilt, never trusted. Processes and threads may build the same program into one
/// cache folder at once: readers see the old entry or a whole new one, and every write has a
/// temporary of its own (the last rename wins; all wrote the same program).
///
/// Whether reading binaries pays depends on the platform: see `Policy.automatic`.
public final class ProgramCache: @unchecked Sendable {
    public enum Policy: String, Sendable, CaseIterable {
        /// Use binaries on platforms where it was measured to pay: not on pocl, which keeps its
        /// own kernel cache (a rebuild from source is ~0.1 s warm) and whose binaries still need
        /// a build step when loaded.
        case automatic
        case always
        case never
    }

    /// Counters, for tests and `clbench` reports.
    public struct Statistics: Sendable, Equatable {
        public var hits = 0
        public var misses = 0
        public var stores = 0
        public var corruptEntriesReplaced = 0
    }

    public let directory: URL
    public let policy: Policy
    private let lock = NSLock()
    private var statistics = Statistics()

    public init(directory: URL, policy: Policy = .automatic) {
        self.directory = directory
        self.policy = policy
    }

    /// The cache configured by the environment: `CLGRAPH_PROGRAM_CACHE` = auto | on | off
    /// (default auto), in `CLGRAPH_CACHE_DIR` (default `$XDG_CACHE_HOME/clgraph` or `~/.cache/clgraph`).
    public static let `default`: ProgramCache? = {
        let environment = ProcessInfo.processInfo.environment
        let policy: Policy
        switch environment["CLGRAPH_PROGRAM_CACHE"]?.lowercased() {
        case "off", "never", "0", "false": return nil
        case "on", "always", "1", "true": policy = .always
        default: policy = .automatic
        }
        return ProgramCache(directory: cacheDirectory(environment).appendingPathComponent("programs"), policy: policy)
    }()

    /// The folder CLGraph keeps its caches in (programs, tuning, measured peaks).
    public static func cacheDirectory(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let explicit = environment["CLGRAPH_CACHE_DIR"], !explicit.isEmpty { return URL(fileURLWithPath: explicit) }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("clgraph")
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/clgraph")
    }

    public var stats: Statistics {
        lock.lock()
        defer { lock.unlock() }
        return statistics
    }

    func isEnabled(for device: DeviceInfo) -> Bool {
        switch policy {
        case .always: return true
        case .never: return false
        case .automatic: return !device.isPocl
        }
    }

    /// The cache key: two independent 64-bit FNV-1a hashes of every input, as 32 hex digits.
    static func key(source: String, options: String, device: DeviceInfo) -> String {
        let material = [source, options, device.name, device.driverVersion, device.platformVersion, device.deviceVersion]
            .joined(separator: "\u{0}")
        let bytes = Array(material.utf8)
        return hex(fnv1a(bytes, basis: 0xcbf2_9ce4_8422_2325)) + hex(fnv1a(bytes, basis: 0x84222325_cbf29ce4))
    }

    func url(forKey key: String) -> URL { directory.appendingPathComponent(key + ".clbin") }

    private static let magic = Array("CLGPCv1\n".utf8)

    /// The stored binary for `key`, or nil when absent. A corrupt or truncated entry is deleted.
    func load(key: String) -> [UInt8]? {
        let file = url(forKey: key)
        guard let data = try? Data(contentsOf: file) else {
            record { $0.misses += 1 }
            return nil
        }
        if let payload = Self.decode(Array(data)) {
            record { $0.hits += 1 }
            return payload
        }
        try? FileManager.default.removeItem(at: file)
        record { $0.misses += 1; $0.corruptEntriesReplaced += 1 }
        return nil
    }

    /// Stores `binary` under `key` atomically and durably. Failures to write are ignored: the cache
    /// is an optimisation.
    func store(key: String, binary: [UInt8]) {
        var bytes = Self.magic
        bytes += Self.littleEndianBytes(UInt64(binary.count))
        bytes += Self.littleEndianBytes(Self.fnv1a(binary, basis: 0xcbf2_9ce4_8422_2325))
        bytes += binary
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try DurableFile.write(Data(bytes), to: url(forKey: key).path)
        } catch {
            return
        }
        record { $0.stores += 1 }
    }

    /// Reports that an entry decoded but the driver rejected it (stale or foreign binary): delete it.
    func reject(key: String) {
        try? FileManager.default.removeItem(at: url(forKey: key))
        record { $0.hits -= 1; $0.misses += 1; $0.corruptEntriesReplaced += 1 }
    }

    private func record(_ update: (inout Statistics) -> Void) {
        lock.lock()
        update(&statistics)
        lock.unlock()
    }

    static func decode(_ bytes: [UInt8]) -> [UInt8]? {
        let header = magic.count + 16
        guard bytes.count >= header, Array(bytes[0..<magic.count]) == magic else { return nil }
        let length = readUInt64(bytes, at: magic.count)
        let checksum = readUInt64(bytes, at: magic.count + 8)
        guard length == UInt64(bytes.count - header) else { return nil }
        let payload = Array(bytes[header...])
        guard !payload.isEmpty, fnv1a(payload, basis: 0xcbf2_9ce4_8422_2325) == checksum else { return nil }
        return payload
    }

    static func fnv1a(_ bytes: [UInt8], basis: UInt64) -> UInt64 {
        var hash = basis
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    private static func littleEndianBytes(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }

    private static func readUInt64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
    }
}
