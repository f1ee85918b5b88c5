import TensorGraph

/// The OpenCL backend's own compile options; set them as `CompileOptions.openCL`.
public struct OpenCLOptions: BackendOptions, Hashable {
    /// Kernel variants used instead of the automatic per-device choice.
    public var forcedVariants = ForcedVariants()
    /// Runs independent elementwise groups as one launch (on by default).
    public var horizontalFusion = true
    /// The argument bytes one horizontally fused launch may take; nil means the device's
    /// `CL_DEVICE_MAX_PARAMETER_SIZE` (tests lower it to force splits).
    public var launchParameterBytes: Int? = nil
    /// Where matrix products take their tiling from.
    public var matmulTuning = MatmulTuningSource.automatic

    /// Defaults, with `forcedVariants` forced.
    public init(forcing forcedVariants: any KernelVariant...) {
        for variant in forcedVariants { self.forcedVariants.force(variant) }
    }
}

/// Where ``MatmulFamily`` takes a product's tiling from.
public enum MatmulTuningSource: Sendable, Hashable {
    /// The device's tuning cache winner for the shape class, else the device class's defaults.
    case automatic
    /// One of ``MatmulTuning/conformanceConfigurations`` for every shape (conformance runs).
    case conformanceConfiguration(Int)
}

extension CompileOptions {
    /// The OpenCL backend's options (its defaults when none are set).
    public var openCL: OpenCLOptions {
        get { backendOptions as? OpenCLOptions ?? OpenCLOptions() }
        set { backendOptions = newValue }
    }

    /// Options with the OpenCL backend's `openCL` set.
    public init(attention: AttentionLowering = .automatic, openCL: OpenCLOptions, trace: Bool = false, guardElements: Int = 0) {
        self.init(attention: attention, backendOptions: openCL, trace: trace, guardElements: guardElements)
    }
}

extension OpenCLOptions {
    /// The settings ``set(_:to:)`` accepts besides kernel families (`FAMILY=NUMBER`).
    public static let settingNames = ["elementwise.horizontal", "elementwise.parameter-bytes", "matmul.tuning"]

    /// Applies one `NAME=NUMBER` setting of a command line: a kernel family and its variant number
    /// ("matmul=1"), `elementwise.horizontal` (0 or 1), `elementwise.parameter-bytes` (bytes) or
    /// `matmul.tuning` (a ``MatmulTuning/conformanceConfigurations`` key).
    public mutating func set(_ name: String, to number: Int) throws {
        switch name {
        case "elementwise.horizontal":
            guard number == 0 || number == 1 else { throw OpenCLOptionsError.invalidValue(name, number, expected: "0 or 1") }
            horizontalFusion = number == 1
        case "elementwise.parameter-bytes":
            guard number > 0 else { throw OpenCLOptionsError.invalidValue(name, number, expected: "a positive byte count") }
            launchParameterBytes = number
        case "matmul.tuning":
            guard MatmulTuning.conformanceConfigurations[number] != nil else {
                let keys = MatmulTuning.conformanceConfigurations.keys.sorted().map(String.init).joined(separator: ", ")
                throw OpenCLOptionsError.invalidValue(name, number, expected: "one of \(keys)")
            }
            matmulTuning = .conformanceConfiguration(number)
        default:
            guard OpenCLBackend.kernelVariantTypes.contains(where: { $0.family == name }) else {
                let known = OpenCLBackend.kernelVariantTypes.map { $0.family } + Self.settingNames
                throw KernelVariantError.unknownFamily(name, available: known)
            }
            forcedVariants.force(try OpenCLBackend.kernelVariant(family: name, number: number))
        }
    }
}

/// A command-line setting of ``OpenCLOptions`` with a value it cannot take.
public enum OpenCLOptionsError: Error, CustomStringConvertible, Sendable {
    case invalidValue(String, Int, expected: String)

    public var description: String {
        switch self {
        case let .invalidValue(name, value, expected): return "\(name)=\(value): expected \(expected)"
        }
    }
}
