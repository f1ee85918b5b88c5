import COpenCL
import Foundation

/// An OpenCL device together with its platform, discovered once per process.
public final class Device: @unchecked Sendable, CustomStringConvertible {
    let id: cl_device_id
    let platform: cl_platform_id
    public let info: DeviceInfo

    init(id: cl_device_id, platform: cl_platform_id, info: DeviceInfo) {
        self.id = id
        self.platform = platform
        self.info = info
    }

    public var description: String { "[\(info.index)] \(info.summary)" }
}

/// Entry point for device discovery and selection.
public enum OpenCL {
    /// The environment variable that selects a device by index or name substring.
    public static let deviceEnvironmentVariable = "CLGRAPH_DEVICE"

    /// Discovery runs exactly once per process, before any parallel work can race on it:
    /// pocl 3.1 fails when several threads make their first OpenCL calls at the same time.
    private static let discovery: Result<[Device], CLError> = Result { try discoverDevices() }
        .mapError { $0 as? CLError ?? CLError.noPlatform(detail: "\($0)") }

    /// Every device of every platform, in platform order.
    public static func devices() throws -> [Device] { try discovery.get() }

    /// Selects a device by `selector`: an index into `devices()`, or "gpu"/"cpu", or a
    /// case-insensitive part of the platform name, else of the device name. Platforms come first
    /// because CPU drivers name their devices after the processor: with pocl and Intel's runtime
    /// side by side, both devices are "… Intel(R) Xeon(R) …", and "intel" means the platform
    /// "Intel(R) OpenCL" ("portable" selects pocl's). With `nil`, `CLGRAPH_DEVICE` is consulted;
    /// without it, the first GPU, else the first device.
    public static func selectDevice(_ selector: String? = nil) throws -> Device {
        let all = try devices()
        let environment = ProcessInfo.processInfo.environment[deviceEnvironmentVariable]
        guard let query = (selector ?? environment)?.trimmingCharacters(in: .whitespaces), !query.isEmpty else {
            return all.first(where: { $0.info.isGPU }) ?? all[0]
        }
        if let index = Int(query) {
            guard all.indices.contains(index) else {
                throw CLError.unknownDevice(query: query, available: all.map(\.info.summary))
            }
            return all[index]
        }
        let lowered = query.lowercased()
        if let match = all.first(where: { $0.info.type.lowercased() == lowered }) { return match }
        if let match = all.first(where: { $0.info.platformName.lowercased().contains(lowered) }) { return match }
        if let match = all.first(where: { $0.info.name.lowercased().contains(lowered) }) { return match }
        throw CLError.unknownDevice(query: query, available: all.map(\.info.summary))
    }

    /// Whether CLGraph set `POCL_AFFINITY=1` before this process's first OpenCL call (see
    /// ``PoclWorkerPinning``); false where the environment already chose, or pinning could fail.
    public static var didPinPoclWorkers: Bool {
        _ = try? devices()
        return poclWorkerPinning
    }

    /// Decided once, before discovery makes the first OpenCL call.
    private static let poclWorkerPinning = PoclWorkerPinning.applyDefault()

    private static func discoverDevices() throws -> [Device] {
        _ = poclWorkerPinning
        var platformCount: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &platformCount)
        if status == CL_PLATFORM_NOT_FOUND_KHR || platformCount == 0 {
            throw CLError.noPlatform(detail: status == CL_SUCCESS
                ? "the ICD loader lists no platform"
                : "clGetPlatformIDs returned \(CLErrorCodes.name(status))")
        }
        try check(status, "clGetPlatformIDs")
        var platforms = [cl_platform_id?](repeating: nil, count: Int(platformCount))
        try check(clGetPlatformIDs(platformCount, &platforms, nil), "clGetPlatformIDs")

        var devices: [Device] = []
        for case let platform? in platforms {
            var deviceCount: cl_uint = 0
            let status = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &deviceCount)
            if status == CL_DEVICE_NOT_FOUND || deviceCount == 0 { continue }
            try check(status, "clGetDeviceIDs")
            var ids = [cl_device_id?](repeating: nil, count: Int(deviceCount))
            try check(clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), deviceCount, &ids, nil), "clGetDeviceIDs")
            for case let id? in ids {
                let info = try DeviceQuery(platform: platform, device: id).info(index: devices.count)
                devices.append(Device(id: id, platform: platform, info: info))
            }
        }
        if devices.isEmpty { throw CLError.noDevice }
        return devices
    }
}
