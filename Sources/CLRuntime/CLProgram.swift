import COpenCL
import Foundation

/// A built OpenCL program: one kernel family compiled with one set of options for one device.
public final class CLProgram: @unchecked Sendable {
    let program: cl_program
    public unowned let context: CLContext
    public let family: String
    public let options: String
    /// How the program was obtained, and how long that took (for build-time measurements).
    public let origin: Origin
    public let buildSeconds: Double

    public enum Origin: String, Sendable { case source, cachedBinary }

    init(context: CLContext, family: String, source: String, options: String, cache: ProgramCache?) throws {
        self.context = context
        self.family = family
        self.options = options
        let started = DispatchTime.now().uptimeNanoseconds
        let device = context.device
        let cacheKey = cache.flatMap { $0.isEnabled(for: device.info) ? ProgramCache.key(source: source, options: options, device: device.info) : nil }

        if let cache, let cacheKey, let binary = cache.load(key: cacheKey),
           let program = Self.buildFromBinary(context: context, binary: binary, options: options) {
            self.program = program
            self.origin = .cachedBinary
        } else {
            if let cache, let cacheKey, FileManager.default.fileExists(atPath: cache.url(forKey: cacheKey).path) {
                cache.reject(key: cacheKey)  // decoded, but the driver refused it
            }
            self.program = try Self.buildFromSource(context: context, family: family, source: source, options: options)
            self.origin = .source
            if let cache, let cacheKey, let binary = try? Self.binary(of: program) {
                cache.store(key: cacheKey, binary: binary)
            }
        }
        self.buildSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
    }

    deinit { clReleaseProgram(program) }

    private static func buildFromSource(context: CLContext, family: String, source: String, options: String) throws -> cl_program {
        var status: cl_int = 0
        let program: cl_program? = source.withCString { pointer in
            var strings: [UnsafePointer<CChar>?] = [pointer]
            var lengths = [strlen(pointer)]
            return clCreateProgramWithSource(context.context, 1, &strings, &lengths, &status)
        }
        guard let program, status == CL_SUCCESS else {
            throw CLError.api(call: "clCreateProgramWithSource", code: status, context: "kernel family '\(family)'")
        }
        var deviceID: cl_device_id? = context.device.id
        let buildStatus = clBuildProgram(program, 1, &deviceID, options, nil, nil)
        if buildStatus != CL_SUCCESS {
            let log = (try? buildLog(program: program, device: context.device.id)) ?? "(no build log)"
            clReleaseProgram(program)
            if buildStatus == CL_BUILD_PROGRAM_FAILURE || buildStatus == CL_INVALID_BUILD_OPTIONS {
                throw CLError.buildFailed(family: family, options: options, device: context.device.info.name, log: log)
            }
            throw CLError.api(call: "clBuildProgram", code: buildStatus, context: "kernel family '\(family)': \(log)")
        }
        // Compilers print only "N warnings generated." themselves; the warnings are in the log.
        if ProcessInfo.processInfo.environment["CLGRAPH_BUILD_LOG"] == "1",
           let log = try? buildLog(program: program, device: context.device.id),
           !log.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            FileHandle.standardError.write(Data("build log of kernel family '\(family)' (\(options)):\n\(log)\n".utf8))
        }
        return program
    }

    /// Loads a binary and builds it; nil when the driver rejects it (the caller rebuilds from source).
    private static func buildFromBinary(context: CLContext, binary: [UInt8], options: String) -> cl_program? {
        var status: cl_int = 0
        var binaryStatus: cl_int = 0
        var deviceID: cl_device_id? = context.device.id
        let program: cl_program? = binary.withUnsafeBufferPointer { buffer in
            var pointers: [UnsafePointer<UInt8>?] = [buffer.baseAddress]
            var lengths = [binary.count]
            return clCreateProgramWithBinary(context.context, 1, &deviceID, &lengths, &pointers, &binaryStatus, &status)
        }
        guard let program else { return nil }
        guard status == CL_SUCCESS, binaryStatus == CL_SUCCESS,
              clBuildProgram(program, 1, &deviceID, options, nil, nil) == CL_SUCCESS
        else {
            clReleaseProgram(program)
            return nil
        }
        return program
    }

    private static func buildLog(program: cl_program, device: cl_device_id) throws -> String {
        var size = 0
        try check(clGetProgramBuildInfo(program, device, cl_program_build_info(CL_PROGRAM_BUILD_LOG), 0, nil, &size),
                  "clGetProgramBuildInfo")
        var bytes = [CChar](repeating: 0, count: max(size, 1))
        try check(clGetProgramBuildInfo(program, device, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, &bytes, nil),
                  "clGetProgramBuildInfo")
        return String(cString: bytes).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func binary(of program: cl_program) throws -> [UInt8] {
        var size = 0
        try check(clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size, &size, nil),
                  "clGetProgramInfo(CL_PROGRAM_BINARY_SIZES)")
        guard size > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: size)
        try bytes.withUnsafeMutableBufferPointer { buffer in
            var pointers: [UnsafeMutablePointer<UInt8>?] = [buffer.baseAddress]
            try check(clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARIES),
                                       MemoryLayout<UnsafeMutablePointer<UInt8>?>.size, &pointers, nil),
                      "clGetProgramInfo(CL_PROGRAM_BINARIES)")
        }
        return bytes
    }

    /// The names of the kernels in this program.
    public func kernelNames() throws -> [String] {
        var size = 0
        try check(clGetProgramInfo(program, cl_program_info(CL_PROGRAM_KERNEL_NAMES), 0, nil, &size), "clGetProgramInfo")
        var bytes = [CChar](repeating: 0, count: max(size, 1))
        try check(clGetProgramInfo(program, cl_program_info(CL_PROGRAM_KERNEL_NAMES), size, &bytes, nil), "clGetProgramInfo")
        return String(cString: bytes).split(separator: ";").map(String.init)
    }

    /// A new kernel object for `name`. Each plan takes its own: argument setting is not thread-safe.
    public func kernel(_ name: String) throws -> CLKernel {
        var status: cl_int = 0
        guard let kernel = clCreateKernel(program, name, &status), status == CL_SUCCESS else {
            if status == CL_INVALID_KERNEL_NAME { throw CLError.unknownKernel(name: name, family: family) }
            throw CLError.api(call: "clCreateKernel", code: status, context: "\(family).\(name)")
        }
        return CLKernel(kernel: kernel, program: self, name: name)
    }
}
