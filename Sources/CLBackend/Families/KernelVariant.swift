import CLRuntime

/// One numbered variant of a kernel family: the number is the one the family's `.cl` header
/// documents and `clbench` prints ("softmax.2"); ``summary`` is its one-line description.
public protocol KernelVariant: RawRepresentable<Int>, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// The family's name, as in `CLKernels/<family>.cl` and in reports: "softmax", "matmul", …
    static var family: String { get }
    /// What the variant does and for which devices, on one line.
    var summary: String { get }
    /// A few words for traces (default: the summary up to its first colon).
    var shortName: String { get }
    /// The variants a plan can run, which the conformance suite forces one at a time
    /// (default: every case).
    static var planVariants: [Self] { get }
}

extension KernelVariant {
    public static var planVariants: [Self] { Array(allCases) }

    /// "softmax.2"
    public var name: String { "\(Self.family).\(rawValue)" }

    public var description: String { name }

    public var shortName: String { String(summary.prefix(while: { $0 != ":" })) }

    /// The name with the short name, e.g. "softmax.1 (cpu)", as launch steps and traces show it.
    public var label: String { "\(name) (\(shortName))" }

    /// The variant numbered `number`, or an error listing the family's numbers.
    public static func numbered(_ number: Int) throws -> Self {
        guard let variant = Self(rawValue: number) else {
            throw KernelVariantError.unknown(family: family, number: number, available: allCases.map(\.rawValue).sorted())
        }
        return variant
    }
}

/// A variant number that names no variant of its family.
public enum KernelVariantError: Error, CustomStringConvertible, Sendable, Equatable {
    case unknown(family: String, number: Int, available: [Int])
    /// A family name that names no kernel family.
    case unknownFamily(String, available: [String])
    /// A variant of the family that the entry point asked for does not run.
    case notApplicable(family: String, variant: Int, entryPoint: String, available: [Int])

    public var description: String {
        switch self {
        case let .unknown(family, number, available):
            return "kernel family '\(family)' has no variant \(number); available: \(available.map(String.init).joined(separator: ", "))"
        case let .unknownFamily(family, available):
            return "no kernel family '\(family)'; families: \(available.sorted().joined(separator: ", "))"
        case let .notApplicable(family, variant, entryPoint, available):
            return "kernel family '\(family)': \(entryPoint) runs variants \(available.map(String.init).joined(separator: ", ")), not \(variant)"
        }
    }
}

/// Variants forced for a compile, at most one per family, read and written through each family's variant type.
public struct ForcedVariants: Sendable, Hashable {
    private var numbers: [String: Int] = [:]

    public init() {}

    /// Forces `variants` (later ones win within a family).
    public init(_ variants: any KernelVariant...) { for variant in variants { force(variant) } }

    /// The forced variant of `V`'s family, if one is forced.
    public subscript<V: KernelVariant>(_ type: V.Type) -> V? {
        get { numbers[V.family].flatMap(V.init(rawValue:)) }
        set { numbers[V.family] = newValue?.rawValue }
    }

    /// Forces `variant` for its family.
    public mutating func force(_ variant: any KernelVariant) {
        func record<V: KernelVariant>(_ v: V) { self[V.self] = v }
        record(variant)
    }

    /// Whether nothing is forced.
    public var isEmpty: Bool { numbers.isEmpty }

    /// "matmul.2, softmax.1"
    public var summary: String { numbers.sorted { $0.key < $1.key }.map { "\($0.key).\($0.value)" }.joined(separator: ", ") }
}

extension FamilyEnvironment {
    /// The variant an entry point runs: `explicit`, else the forced variant of the family when the
    /// entry point runs it, else `cpu` or `gpu` by device class. An explicit variant outside
    /// `runs` is an error naming the entry point.
    public func variant<V: KernelVariant>(_ explicit: V?, cpu: V, gpu: V, runs: [V] = Array(V.allCases),
                                          entryPoint: String) throws -> V {
        if let explicit {
            guard runs.contains(explicit) else {
                throw KernelVariantError.notApplicable(family: V.family, variant: explicit.rawValue, entryPoint: entryPoint,
                                                       available: runs.map(\.rawValue))
            }
            return explicit
        }
        if let forced = options.forcedVariants[V.self], runs.contains(forced) { return forced }
        return deviceClass == .cpu ? cpu : gpu
    }
}
