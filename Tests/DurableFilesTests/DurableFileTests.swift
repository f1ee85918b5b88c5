import DurableFiles
import Foundation
import Testing

@Suite struct DurableFileTests {
    let folder: String = {
        let path = NSTemporaryDirectory() + "durable-files-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    @Test func writeReplacesTheFileAndLeavesNoTemporary() throws {
        let path = folder + "/a.txt"
        try DurableFile.write("first", to: path)
        try DurableFile.write("second", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "second")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["a.txt"])
    }

    @Test func checkWritableNamesWhatIsWrong() throws {
        let missing = folder + "/no/such/dir/x.bin"
        #expect(throws: DurableFileError.self) { try DurableFile.checkWritable(missing) }
        do { try DurableFile.checkWritable(missing) } catch {
            #expect("\(error)".contains("\(folder)/no/such/dir does not exist"))
        }
        do { try DurableFile.checkWritable(folder) } catch {
            #expect("\(error)".contains("is a folder"))
        }
        #expect(throws: DurableFileError.self) { try DurableFile.checkWritable(folder) }
        try "x".write(toFile: folder + "/plain", atomically: false, encoding: .utf8)
        do { try DurableFile.checkWritable(folder + "/plain/x.bin") } catch {
            #expect("\(error)".contains("is not a folder"))
        }
        #expect(throws: DurableFileError.self) { try DurableFile.checkWritable(folder + "/plain/x.bin") }
        try DurableFile.checkWritable(folder + "/new.bin")
        #expect(!FileManager.default.fileExists(atPath: folder + "/new.bin"))
    }

    @Test func aKilledWritersTemporaryIsRemovedByTheNextWrite() throws {
        let path = folder + "/model.safetensors"
        // A process that has exited: its pid names no running process.
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let stale = DurableFile.temporaryPath(for: path, pid: finished.processIdentifier)
        try "half".write(toFile: stale, atomically: false, encoding: .utf8)
        // A live process's temporary (this test runner's parent) is left alone.
        let live = DurableFile.temporaryPath(for: path, pid: getppid())
        try "writing".write(toFile: live, atomically: false, encoding: .utf8)
        try DurableFile.write("whole", to: path)
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: live))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "whole")
    }

    @Test func concurrentUpdatesKeepEveryWritersEntry() throws {
        let path = folder + "/sub/table.json"
        let writers = 8, entriesEach = 5
        DispatchQueue.concurrentPerform(iterations: writers) { writer in
            for entry in 0..<entriesEach {
                try! DurableFile.update(path) { current in
                    var table = current.flatMap { try? JSONDecoder().decode([String: Int].self, from: $0) } ?? [:]
                    table["\(writer).\(entry)"] = writer * 100 + entry
                    return try JSONEncoder().encode(table)
                }
            }
        }
        let table = try JSONDecoder().decode([String: Int].self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(table.count == writers * entriesEach)
    }

    @Test func threadsWritingOneFileAtOnceEachWriteAWholeFile() throws {
        let path = folder + "/shared.bin"
        let writers = 8, writesEach = 20, size = 4096
        let failures = NSLock()
        nonisolated(unsafe) var errors: [String] = []
        DispatchQueue.concurrentPerform(iterations: writers) { writer in
            for _ in 0..<writesEach {
                do { try DurableFile.write(Data(repeating: UInt8(writer), count: size), to: path) } catch {
                    failures.lock()
                    errors.append("\(error)")
                    failures.unlock()
                }
            }
        }
        #expect(errors.isEmpty, "\(errors.count) writes failed, e.g. \(errors.first ?? "")")
        let content = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(content.count == size && Set(content).count == 1, "a torn file: \(Set(content))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["shared.bin"])
    }
}
