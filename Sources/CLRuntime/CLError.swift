import COpenCL

/// An error from the OpenCL runtime layer. Its description names the failing call, the
/// symbolic OpenCL status and what the user can do about it.
public enum CLError: Error, CustomStringConvertible, Sendable {
    /// An OpenCL API call returned a non-success status.
    case api(call: String, code: Int32, context: String?)
    /// No OpenCL platform is installed (no ICD, or the ICD loader finds none).
    case noPlatform(detail: String)
    /// Platforms exist but expose no device.
    case noDevice
    /// A `--device` / `CLGRAPH_DEVICE` selection matched nothing.
    case unknownDevice(query: String, available: [String])
    /// A program failed to build; carries the compiler's log.
    case buildFailed(family: String, options: String, device: String, log: String)
    /// No kernel family of that name is embedded (or in `CLGRAPH_KERNEL_DIR`).
    case unknownKernelFamily(String)
    /// A kernel was not found in its program.
    case unknownKernel(name: String, family: String)
    /// Host and device sizes disagree (upload/download/copy range out of bounds).
    case sizeMismatch(operation: String, detail: String)
    /// An allocation larger than the device allows.
    case allocationTooLarge(bytes: Int, maxAllocation: Int, device: String)
    /// Something asked for needs a capability (an extension such as `cl_khr_fp16`) the device
    /// does not report; `alternative` says what runs instead.
    case notOffered(what: String, requires: String, device: String, alternative: String)

    public var code: Int32? {
        if case .api(_, let code, _) = self { return code }
        return nil
    }

    public var description: String {
        switch self {
        case let .api(call, code, context):
            var text = "\(call) failed with \(CLErrorCodes.name(code))"
            if let context { text += " (\(context))" }
            if let hint = CLErrorCodes.hint(code) { text += ": \(hint)" }
            return text
        case let .noPlatform(detail):
            return "No OpenCL platform found (\(detail)). To fix: \(CLErrorCodes.installHint)."
        case .noDevice:
            return "OpenCL platforms were found but none has a device. To fix: \(CLErrorCodes.installHint)."
        case let .unknownDevice(query, available):
            let list = available.enumerated().map { "  [\($0.offset)] \($0.element)" }.joined(separator: "\n")
            return "No OpenCL device matches '\(query)'. Select one by index or by a part of its name:\n\(list)"
        case let .buildFailed(family, options, device, log):
            return """
                Building kernel family '\(family)' failed on \(device).
                Options: \(options.isEmpty ? "(none)" : options)
                Build log:
                \(log)
                """
        case let .unknownKernelFamily(family):
            return "No kernel family '\(family)' is embedded in this build (see CLKernels/)"
        case let .unknownKernel(name, family):
            return "Kernel '\(name)' is not in kernel family '\(family)'"
        case let .sizeMismatch(operation, detail):
            return "\(operation): \(detail)"
        case let .allocationTooLarge(bytes, maxAllocation, device):
            return "Cannot allocate \(bytes) bytes on \(device): its largest allocation is \(maxAllocation) bytes; use smaller sizes"
        case let .notOffered(what, requires, device, alternative):
            return "\(what) is not offered by this device (\(device)): it needs \(requires), which the device does not report; \(alternative)"
        }
    }
}

/// Throws `CLError.api` unless `status` is `CL_SUCCESS`.
@inline(__always)
func check(_ status: cl_int, _ call: @autoclosure () -> String, _ context: @autoclosure () -> String? = nil) throws {
    if status != CL_SUCCESS { throw CLError.api(call: call(), code: status, context: context()) }
}
