import CLKernels

/// Indirection over `KernelSources` so families can also be fed generated sources.
enum KernelSourceLookup {
    /// Helper files prepended to a family's source (the family's kernels call them).
    static let prerequisites: [String: [String]] = [
        "matmul": ["fastmath"], "layernorm": ["fastmath"], "quant": ["fastmath"], "f16": ["fastmath"],
        "loss": ["fastmath"], "softmax": ["fastmath"], "attention": ["fastmath"], "rowproduct": ["fastmath"],
        "attention_backward": ["fastmath"], "layernorm_backward": ["fastmath"],
    ]

    static func source(_ family: String) -> String? {
        guard let own = KernelSources.source(for: family) else { return nil }
        let helpers = (prerequisites[family] ?? []).compactMap { KernelSources.source(for: $0) }
        return (helpers + [own]).joined(separator: "\n")
    }
}
