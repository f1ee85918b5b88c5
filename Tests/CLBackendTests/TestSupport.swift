import CLBackend
import CLRuntime
import Foundation

/// One context for the whole test process, so every test shares built programs
/// (pocl compiles each new program in 1–2 s cold). Device from `CLGRAPH_DEVICE`.
enum TestDevice {
    static let context: CLContext = {
        do {
            let context = try CLContext(selecting: nil)
            let info = context.device.info
            FileHandle.standardError.write(Data("CLBackendTests run on \(info.name) (\(info.platformName))\n".utf8))
            return context
        } catch { fatalError("no OpenCL device for tests: \(error)") }
    }()
    static var environment: FamilyEnvironment { FamilyEnvironment(context: context) }
    static func environment(forcing variants: any KernelVariant...) -> FamilyEnvironment {
        var options = OpenCLOptions()
        for variant in variants { options.forcedVariants.force(variant) }
        return FamilyEnvironment(context: context, options: options)
    }
}

/// Deterministic test data.
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
    /// Uniform in [lo, hi).
    mutating func float(_ lo: Float = -1, _ hi: Float = 1) -> Float {
        lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24)
    }
    mutating func floats(_ count: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] {
        (0..<count).map { _ in float(lo, hi) }
    }
}

/// Normalised mean squared error Σ(a−b)²/Σa² (Σ(a−b)² when the reference is all zero).
func nmse(_ reference: [Float], _ actual: [Float]) -> Double {
    precondition(reference.count == actual.count, "length mismatch \(reference.count) vs \(actual.count)")
    var error = 0.0, power = 0.0
    for (r, a) in zip(reference, actual) {
        let d = Double(r) - Double(a)
        error += d * d
        power += Double(r) * Double(r)
    }
    return power > 0 ? error / power : error
}

extension KernelVariant {
    /// The variant numbered `number` (tests name variants by the numbers their `.cl` headers document).
    static func number(_ number: Int) -> Self {
        guard let variant = Self(rawValue: number) else { fatalError("\(family) has no variant \(number)") }
        return variant
    }
}
