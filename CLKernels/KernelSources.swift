import Foundation

/// The OpenCL C sources of every kernel family (one `.cl` file per family in `CLKernels/`),
/// embedded into the binary at build time.
///
/// Set `CLGRAPH_KERNEL_DIR` to a folder of `.cl` files to load them from disk instead:
/// kernel edits then take effect without rebuilding Swift.
public enum KernelSources {
    /// The names of the embedded families, sorted (`"matmul"`, `"softmax"`, …).
    public static var families: [String] { embedded.keys.sorted() }

    /// The source of a kernel family, or `nil` if there is no such family.
    public static func source(for family: String) -> String? {
        if let directory = ProcessInfo.processInfo.environment["CLGRAPH_KERNEL_DIR"], !directory.isEmpty {
            let url = URL(fileURLWithPath: directory).appendingPathComponent(family + ".cl")
            if let text = try? String(contentsOf: url, encoding: .utf8) { return text }
        }
        return embedded[family]
    }

    /// The documentation header of a family: the leading comment block of its `.cl` file,
    /// which lists its numbered variants.
    public static func header(for family: String) -> String? {
        guard let text = source(for: family), let start = text.range(of: "/*"),
              let end = text.range(of: "*/", range: start.upperBound..<text.endIndex) else { return nil }
        return String(text[start.lowerBound..<end.upperBound])
    }
}
