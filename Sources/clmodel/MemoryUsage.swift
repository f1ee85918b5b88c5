import Foundation
import TensorGraph

/// The process's resident memory and the backend's device buffer bytes, for `--log-memory`.
struct MemoryUsage {
    /// Resident set size from /proc/self/statm (nil where that file does not exist).
    let residentBytes: Int?
    /// What the backend holds in device buffers (nil for the reference backend).
    let deviceBytes: Int?

    init(backend: any Backend) {
        residentBytes = Self.residentSetSize()
        deviceBytes = backend.allocatedDeviceBytes
    }

    /// `rss_mib 123.4 | device_mib 5.678`, each part only when known.
    var formatted: String {
        let mebibyte = 1024.0 * 1024.0
        var parts: [String] = []
        if let residentBytes { parts.append(String(format: "rss_mib %.1f", Double(residentBytes) / mebibyte)) }
        if let deviceBytes { parts.append(String(format: "device_mib %.3f", Double(deviceBytes) / mebibyte)) }
        return parts.joined(separator: " | ")
    }

    private static func residentSetSize() -> Int? {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
