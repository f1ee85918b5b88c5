import Foundation
import COpenCL

/// Reads `clGetPlatformInfo` / `clGetDeviceInfo` values into a `DeviceInfo`.
struct DeviceQuery {
    let platform: cl_platform_id
    let device: cl_device_id

    func info(index: Int) throws -> DeviceInfo {
        let extensions = try string(CL_DEVICE_EXTENSIONS).split(separator: " ").map(String.init)
        let typeBits = try scalar(CL_DEVICE_TYPE, as: cl_device_type.self)
        let type: String
        if typeBits & cl_device_type(CL_DEVICE_TYPE_GPU) != 0 { type = "GPU" }
        else if typeBits & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 { type = "CPU" }
        else if typeBits & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0 { type = "Accelerator" }
        else { type = "Other" }
        let dimensions = Int(try scalar(CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS, as: cl_uint.self))
        let localType = try scalar(CL_DEVICE_LOCAL_MEM_TYPE, as: cl_device_local_mem_type.self)

        func widths(_ queries: [(String, Int32)]) -> [String: Int] {
            var result: [String: Int] = [:]
            for (name, query) in queries { result[name] = Int((try? scalar(query, as: cl_uint.self)) ?? 0) }
            return result
        }
        return DeviceInfo(
            index: index,
            name: try string(CL_DEVICE_NAME).trimmingCharacters(in: .whitespaces),
            vendor: try string(CL_DEVICE_VENDOR),
            type: type,
            driverVersion: try string(CL_DRIVER_VERSION),
            deviceVersion: try string(CL_DEVICE_VERSION),
            openCLCVersion: (try? string(CL_DEVICE_OPENCL_C_VERSION)) ?? "",
            platformName: try platformString(CL_PLATFORM_NAME),
            platformVendor: try platformString(CL_PLATFORM_VENDOR),
            platformVersion: try platformString(CL_PLATFORM_VERSION),
            computeUnits: Int(try scalar(CL_DEVICE_MAX_COMPUTE_UNITS, as: cl_uint.self)),
            maxClockMHz: Int(try scalar(CL_DEVICE_MAX_CLOCK_FREQUENCY, as: cl_uint.self)),
            globalMemoryBytes: Int(try scalar(CL_DEVICE_GLOBAL_MEM_SIZE, as: cl_ulong.self)),
            localMemoryBytes: Int(try scalar(CL_DEVICE_LOCAL_MEM_SIZE, as: cl_ulong.self)),
            localMemoryType: localType == cl_device_local_mem_type(CL_LOCAL) ? "local" : "global",
            maxAllocationBytes: Int(try scalar(CL_DEVICE_MAX_MEM_ALLOC_SIZE, as: cl_ulong.self)),
            maxWorkGroupSize: Int(try scalar(CL_DEVICE_MAX_WORK_GROUP_SIZE, as: Int.self)),
            maxWorkItemSizes: try array(CL_DEVICE_MAX_WORK_ITEM_SIZES, count: dimensions, as: Int.self),
            preferredVectorWidths: widths([
                ("char", CL_DEVICE_PREFERRED_VECTOR_WIDTH_CHAR), ("short", CL_DEVICE_PREFERRED_VECTOR_WIDTH_SHORT),
                ("int", CL_DEVICE_PREFERRED_VECTOR_WIDTH_INT), ("long", CL_DEVICE_PREFERRED_VECTOR_WIDTH_LONG),
                ("float", CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT), ("double", CL_DEVICE_PREFERRED_VECTOR_WIDTH_DOUBLE),
                ("half", CL_DEVICE_PREFERRED_VECTOR_WIDTH_HALF),
            ]),
            nativeVectorWidths: widths([
                ("char", CL_DEVICE_NATIVE_VECTOR_WIDTH_CHAR), ("short", CL_DEVICE_NATIVE_VECTOR_WIDTH_SHORT),
                ("int", CL_DEVICE_NATIVE_VECTOR_WIDTH_INT), ("long", CL_DEVICE_NATIVE_VECTOR_WIDTH_LONG),
                ("float", CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT), ("double", CL_DEVICE_NATIVE_VECTOR_WIDTH_DOUBLE),
                ("half", CL_DEVICE_NATIVE_VECTOR_WIDTH_HALF),
            ]),
            extensions: extensions,
            supportsFP16: extensions.contains("cl_khr_fp16"),
            supportsFP64: extensions.contains("cl_khr_fp64"),
            profilingTimerResolutionNS: Int(try scalar(CL_DEVICE_PROFILING_TIMER_RESOLUTION, as: Int.self)),
            baseAddressAlignmentBytes: Int(try scalar(CL_DEVICE_MEM_BASE_ADDR_ALIGN, as: cl_uint.self)) / 8,
            maxParameterBytes: try? scalar(CL_DEVICE_MAX_PARAMETER_SIZE, as: Int.self)
        )
    }

    func string(_ query: Int32) throws -> String {
        var size = 0
        try check(clGetDeviceInfo(device, cl_device_info(query), 0, nil, &size), "clGetDeviceInfo")
        var bytes = [CChar](repeating: 0, count: max(size, 1))
        try check(clGetDeviceInfo(device, cl_device_info(query), size, &bytes, nil), "clGetDeviceInfo")
        return String(cString: bytes)
    }

    func platformString(_ query: Int32) throws -> String {
        var size = 0
        try check(clGetPlatformInfo(platform, cl_platform_info(query), 0, nil, &size), "clGetPlatformInfo")
        var bytes = [CChar](repeating: 0, count: max(size, 1))
        try check(clGetPlatformInfo(platform, cl_platform_info(query), size, &bytes, nil), "clGetPlatformInfo")
        return String(cString: bytes)
    }

    func scalar<T: FixedWidthInteger>(_ query: Int32, as: T.Type) throws -> T {
        var value: T = 0
        try check(clGetDeviceInfo(device, cl_device_info(query), MemoryLayout<T>.size, &value, nil), "clGetDeviceInfo")
        return value
    }

    func array<T: FixedWidthInteger>(_ query: Int32, count: Int, as: T.Type) throws -> [T] {
        var values = [T](repeating: 0, count: count)
        try check(clGetDeviceInfo(device, cl_device_info(query), MemoryLayout<T>.stride * count, &values, nil), "clGetDeviceInfo")
        return values.map { $0 }
    }
}
