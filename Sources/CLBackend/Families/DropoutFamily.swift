import CLRuntime
import TensorGraph

/// Dropout masks from a counter-based hash (family "dropout", `CLKernels/dropout.cl`).
public final class DropoutFamily {
    public static let family = "dropout"
    /// The family's variants (the header of `CLKernels/dropout.cl` documents each).
    public enum Variant: Int, KernelVariant {
        case hashLanes = 1

        public static let family = DropoutFamily.family
        public var summary: String {
            switch self {
            case .hashLanes: return "per-item chunks of uint16/float16 hash lanes (any device)"
            }
        }
    }

    private let environment: FamilyEnvironment

    public init(environment: FamilyEnvironment) { self.environment = environment }

    /// Fills `output` (`count` floats) with ``Op/dropoutMask(shape:keep:salt:)``'s mask for the seed in `seed[0]`.
    public func encodeMask(seed: CLBuffer<Int32>, output: CLBuffer<Float>, count: Int, keep: Float, salt: UInt32) throws -> [LaunchStep] {
        try RowOps.checkSizes(Self.family, [("count", count)])
        try RowOps.checkBuffer(Self.family, "seed", seed, 1)
        try RowOps.checkBuffer(Self.family, "output", output, count)
        // CPU: ~4k elements per item, at least one item per core; GPU: one vector per item.
        let perItem = environment.deviceClass == .cpu
            ? max(16, min(4096, RowOps.ceilDiv(count, 16 * environment.context.device.info.computeUnits) * 16)) : 16
        let kernel = try environment.program(Self.family).kernel("dropout_mask")
        try kernel.setArguments(output, seed, Int32(count), salt &* 0xC2B2_AE35, DropoutMask.threshold(keep: keep),
                                1 / keep, Int32(perItem))
        return [LaunchStep(kernel: kernel, global: [RowOps.ceilDiv(count, perItem)], local: environment.cpuFriendlyLocal,
                           variant: Variant.hashLanes.name, label: "dropout mask [\(count)] keep \(keep)", flops: 0, bytes: 4 * Double(count))]
    }
}
