import CLRuntime
import Foundation
import Testing

@Suite struct ProgramCacheTests {
    /// A source no earlier run has seen, so the cache starts empty for it.
    private func uniqueSource() -> String {
        "__kernel void tagged(__global ulong *out) { out[0] = \(UInt64.random(in: 0..<UInt64.max / 2))UL; }\n"
            + runtimeTestSource
    }

    private func freshCache() -> (ProgramCache, URL) {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("clgraph-cache-test-\(UUID().uuidString)")
        return (ProgramCache(directory: directory, policy: .always), directory)
    }

    private func checkProgramRuns(_ program: CLProgram, _ context: CLContext) throws {
        let kernel = try program.kernel("fill_index")
        let out = try CLBuffer<Int32>(context: context, count: 5)
        try kernel.setArguments(out, Int32(5))
        try context.enqueue(kernel, global: [5], local: [1])
        #expect(try out.download() == [-7, -4, -1, 2, 5])
    }

    @Test func secondBuildHitsTheCache() throws {
        let (cache, directory) = freshCache()
        defer { try? FileManager.default.removeItem(at: directory) }
        let context = try CLContext(device: RuntimeTestDevice.context.device, programCache: cache)
        let source = uniqueSource()
        let first = try context.program(family: "cache-test", source: source)
        #expect(first.origin == .source)
        #expect(cache.stats.misses == 1 && cache.stats.stores == 1)
        context.dropBuiltPrograms()
        let second = try context.program(family: "cache-test", source: source)
        #expect(second.origin == .cachedBinary)
        #expect(cache.stats.hits == 1)
        try checkProgramRuns(second, context)
        // Other options are another key.
        let third = try context.program(family: "cache-test", source: source, options: "-DOTHER=1")
        #expect(third.origin == .source)
    }

    @Test(arguments: ["truncate", "flip", "empty", "garbage"])
    func corruptEntryIsDetectedRebuiltAndReplaced(damage: String) throws {
        let (cache, directory) = freshCache()
        defer { try? FileManager.default.removeItem(at: directory) }
        let context = try CLContext(device: RuntimeTestDevice.context.device, programCache: cache)
        let source = uniqueSource()
        _ = try context.program(family: "cache-test", source: source)
        let entry = try #require(try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .first { $0.pathExtension == "clbin" })
        var bytes = [UInt8](try Data(contentsOf: entry))
        switch damage {
        case "truncate": bytes = Array(bytes.prefix(bytes.count / 2))
        case "flip": bytes[bytes.count - 10] ^= 0xFF
        case "empty": bytes = []
        default: bytes = Array("not a cache entry".utf8)
        }
        try Data(bytes).write(to: entry)

        context.dropBuiltPrograms()
        let rebuilt = try context.program(family: "cache-test", source: source)
        #expect(rebuilt.origin == .source)
        #expect(cache.stats.corruptEntriesReplaced == 1)
        try checkProgramRuns(rebuilt, context)
        // The entry was rewritten and is good again.
        context.dropBuiltPrograms()
        #expect(try context.program(family: "cache-test", source: source).origin == .cachedBinary)
    }

    @Test func defaultCacheDirectoryFollowsTheEnvironment() {
        #expect(ProgramCache.cacheDirectory(["CLGRAPH_CACHE_DIR": "/tmp/x"]).path == "/tmp/x")
        #expect(ProgramCache.cacheDirectory(["XDG_CACHE_HOME": "/tmp/xdg"]).path == "/tmp/xdg/clgraph")
    }
}
