import BuiltProducts
@testable import CLRuntime
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

    /// The cache entries in `directory`, each checked to decode (length and checksum intact).
    private func entries(in directory: URL) throws -> [(name: String, valid: Bool)] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".clbin") }.map { name in
            let bytes = [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
            return (name, ProgramCache.decode(bytes) != nil)
        }
    }

    @Test func aKilledWritersTemporaryIsRemovedByTheNextStore() throws {
        let (cache, directory) = freshCache()
        defer { try? FileManager.default.removeItem(at: directory) }
        let context = try CLContext(device: RuntimeTestDevice.context.device, programCache: cache)
        let source = uniqueSource()
        _ = try context.program(family: "cache-test", source: source)
        let entry = try #require(try entries(in: directory).first?.name)
        // A writer killed between creating its temporary and renaming it (its pid no longer runs).
        let stale = directory.appendingPathComponent(".\(entry).2000000000.tmp")
        try Data("partial".utf8).write(to: stale)
        try FileManager.default.removeItem(at: directory.appendingPathComponent(entry))
        context.dropBuiltPrograms()
        #expect(try context.program(family: "cache-test", source: source).origin == .source)
        #expect(!FileManager.default.fileExists(atPath: stale.path))
        #expect(try entries(in: directory).map(\.valid) == [true])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test func threadsStoringOneEntryAtOnceAllSucceed() throws {
        let (cache, directory) = freshCache()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Threads of one process share a process id, so a temporary name: every store must still
        // land whole. Two caches on one folder, as two contexts of one process would have.
        let twin = ProgramCache(directory: directory, policy: .always)
        let key = ProgramCache.key(source: uniqueSource(), options: "", device: RuntimeTestDevice.context.device.info)
        let binaries = (0..<4).map { seed in (0..<(256 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) } }
        let storesPerThread = 10
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for _ in 0..<storesPerThread { (thread % 2 == 0 ? cache : twin).store(key: key, binary: binaries[thread]) }
        }
        #expect(cache.stats.stores + twin.stats.stores == 4 * storesPerThread)
        let loaded = try #require(cache.load(key: key))
        #expect(binaries.contains(loaded))
        #expect(try entries(in: directory).map(\.valid) == [true])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test func twoProcessesBuildingTheSameProgramsIntoOneCacheBothSucceed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clgraph-cache-race-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        // Both processes build the same generated elementwise program (one small program, so a
        // cold driver cache costs about a second), and store the same entry at about the same time.
        let arguments = ["conformance", "--op", "neg", "--quick", "--defaults-only"]
        let environment = ["CLGRAPH_CACHE_DIR": directory.path, "CLGRAPH_PROGRAM_CACHE": "on"]
        let runs = RunLog()
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            do {
                let run = try BuiltProduct.run("clbench", arguments, environment: environment)
                runs.append(run.status == 0 ? nil : "exit \(run.status): \(run.errors)")
            } catch {
                runs.append("\(error)")
            }
        }
        #expect(runs.all.count == 2 && runs.all.allSatisfy { $0 == nil }, "\(runs.all)")
        let programs = directory.appendingPathComponent("programs")
        let stored = try entries(in: programs)
        #expect(!stored.isEmpty)
        let invalid = stored.filter { !$0.valid }.map(\.name)
        #expect(invalid.isEmpty, "\(invalid)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: programs.path).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test func defaultCacheDirectoryFollowsTheEnvironment() {
        #expect(ProgramCache.cacheDirectory(["CLGRAPH_CACHE_DIR": "/tmp/x"]).path == "/tmp/x")
        #expect(ProgramCache.cacheDirectory(["XDG_CACHE_HOME": "/tmp/xdg"]).path == "/tmp/xdg/clgraph")
    }
}

/// The outcomes of processes run from concurrent threads (nil: success).
private final class RunLog: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [String?] = []
    func append(_ result: String?) { lock.lock(); results.append(result); lock.unlock() }
    var all: [String?] { lock.lock(); defer { lock.unlock() }; return results }
}
