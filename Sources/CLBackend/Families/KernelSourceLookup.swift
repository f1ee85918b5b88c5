import CLKernels

/// Indirection over `KernelSources` so families can also be fed generated sources.
enum KernelSourceLookup {
    static func source(_ family: String) -> String? { KernelSources.source(for: family) }
}
