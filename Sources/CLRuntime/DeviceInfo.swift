/// What a device is and can do, as reported by the driver. `Codable` so `clbench devices
/// --format json` and benchmark results can carry it.
public struct DeviceInfo: Codable, Sendable, Hashable {
    /// Position in the process-wide device list (`--device N`).
    public var index: Int
    public var name: String
    public var vendor: String
    /// "GPU", "CPU", "Accelerator" or "Other".
    public var type: String
    public var driverVersion: String
    /// `CL_DEVICE_VERSION`, e.g. "OpenCL 3.0 PoCL …".
    public var deviceVersion: String
    public var openCLCVersion: String
    public var platformName: String
    public var platformVendor: String
    public var platformVersion: String
    public var computeUnits: Int
    public var maxClockMHz: Int
    public var globalMemoryBytes: Int
    public var localMemoryBytes: Int
    /// Whether local memory is dedicated on-chip memory ("local") or emulated in global memory ("global").
    public var localMemoryType: String
    public var maxAllocationBytes: Int
    public var maxWorkGroupSize: Int
    public var maxWorkItemSizes: [Int]
    /// Preferred vector widths by element type ("char", "short", "int", "long", "float", "double", "half").
    public var preferredVectorWidths: [String: Int]
    public var nativeVectorWidths: [String: Int]
    public var extensions: [String]
    public var supportsFP16: Bool
    public var supportsFP64: Bool
    public var profilingTimerResolutionNS: Int
    /// Alignment a sub-buffer's origin must have, in bytes (`CL_DEVICE_MEM_BASE_ADDR_ALIGN` / 8).
    public var baseAddressAlignmentBytes: Int
    /// The most bytes of arguments one kernel may take (`CL_DEVICE_MAX_PARAMETER_SIZE`, at least
    /// 1024 on a full-profile device); nil in reports written before it was recorded.
    public var maxParameterBytes: Int?

    public var isGPU: Bool { type == "GPU" }
    public var isCPU: Bool { type == "CPU" }
    /// The platform is pocl (Portable Computing Language).
    public var isPocl: Bool { platformName.contains("Portable Computing Language") || deviceVersion.contains("PoCL") }
    /// OpenCL version of the platform as (major, minor), parsed from "OpenCL M.m …".
    public var platformOpenCLVersion: (major: Int, minor: Int) { Self.parseVersion(platformVersion) }

    /// A one-line summary: "pthread-skylake-avx512 (CPU, Portable Computing Language, 2 CUs)".
    public var summary: String { "\(name) (\(type), \(platformName), \(computeUnits) CUs)" }

    static func parseVersion(_ text: String) -> (major: Int, minor: Int) {
        // "OpenCL 3.0 PoCL 3.1" -> (3, 0)
        let words = text.split(separator: " ")
        guard words.count >= 2 else { return (1, 2) }
        let parts = words[1].split(separator: ".")
        return (Int(parts.first ?? "1") ?? 1, Int(parts.dropFirst().first ?? "2") ?? 2)
    }
}
