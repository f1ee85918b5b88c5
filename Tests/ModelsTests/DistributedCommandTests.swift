import Foundation
import Models
import TensorGraph
import Testing

/// `clmodel train gpt --distributed` under `mpirun` on this machine: two ranks against one process
/// with the doubled batch, and ranks that die or stop. These need a clmodel built with the MPI
/// trait, named by `CLGRAPH_MPI_CLMODEL`, and Open MPI's `mpirun`; without them they are skipped.
@Suite(.enabled(if: MPIJob.clmodel != nil, "set CLGRAPH_MPI_CLMODEL to a clmodel built with --traits MPI"))
struct DistributedCommandTests {
    /// A tiny GPT on the test names, logging every step.
    static func trainArguments(data: URL, steps: Int, batch: Int, checkpoint: URL) -> [String] {
        ["train", "gpt", "--data", data.path, "--layers", "1", "--heads", "2", "--embedding", "16", "--steps", "\(steps)",
         "--batch", "\(batch)", "--lr", "1e-2", "--gradient-clip", "0.5", "--dropout", "0", "--log-every", "1",
         "--eval-every", "\(steps)", "--checkpoint", checkpoint.path, "--quiet"]
    }

    /// `step N | train_loss X` of a log, by step.
    static func trainLosses(_ output: String) -> [Int: Double] {
        var losses: [Int: Double] = [:]
        for line in output.split(separator: "\n") where line.hasPrefix("step ") && line.contains("train_loss") {
            let fields = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let step = Int(fields[0].dropFirst(5)), let loss = Double(fields[1].dropFirst("train_loss ".count)) else { continue }
            losses[step] = loss
        }
        return losses
    }

    @Test func twoRanksTrainLikeOneProcessWithTheDoubledBatch() throws {
        let folder = try Clmodel.namesFolder("mpi-equivalence")
        defer { try? FileManager.default.removeItem(at: folder) }
        let steps = 8
        let single = try MPIJob.run(nil, Self.trainArguments(data: folder, steps: steps, batch: 6,
                                                             checkpoint: folder.appendingPathComponent("single.safetensors")))
        #expect(single.status == 0, "\(single.errors)")
        let ranks = try MPIJob.run(2, Self.trainArguments(data: folder, steps: steps, batch: 3,
                                                          checkpoint: folder.appendingPathComponent("ranks.safetensors")) + ["--distributed"])
        #expect(ranks.status == 0, "\(ranks.output)\n\(ranks.errors)")
        #expect(ranks.output.contains("distributed: 2 ranks × batch 3 = global batch 6"), "\(ranks.output)")
        #expect(ranks.output.contains("rank 1 of 2"), "\(ranks.output)")

        // The log prints losses to 4 decimals: equal up to one unit of the last digit.
        let expected = Self.trainLosses(single.output), got = Self.trainLosses(ranks.output)
        #expect(expected.count == steps && got.count == steps, "\(single.output)\n\(ranks.output)")
        for (step, loss) in expected { #expect(abs(loss - (got[step] ?? .nan)) <= 1.01e-4, "step \(step): single \(loss), ranks \(got[step] ?? .nan)") }
        #expect(expected[steps]! < expected[1]!, "the loss falls: \(expected)")

        // The final weights: float rounding of the split gradient sums only (see DataParallelTrainingTests).
        // AdamW scales each element's step by its own gradient history, so an element whose summed
        // gradient nearly cancels takes a direction set by rounding and can move by up to lr a
        // step: the bound is 1e-3 of lr per step (8e-5 here; a wrong weighting of the ranks shows
        // at 1e-2).
        let a = try Checkpoint.read(folder.appendingPathComponent("single.safetensors").path)
        let b = try Checkpoint.read(folder.appendingPathComponent("ranks.safetensors").path)
        #expect(b.step == steps)
        var largest: Float = 0
        for (name, value) in a.parameters {
            for (x, y) in zip(value.floats, b.parameters[name]!.floats) { largest = max(largest, abs(x - y)) }
        }
        #expect(largest <= 1e-3 * 1e-2 * Float(steps), "largest weight difference \(largest)")

        // Resuming the two ranks' checkpoint in one process continues from their step.
        let resumed = try MPIJob.run(nil, Self.trainArguments(data: folder, steps: steps + 2, batch: 6,
                                                              checkpoint: folder.appendingPathComponent("resumed.safetensors"))
                                        + ["--resume", folder.appendingPathComponent("ranks.safetensors").path])
        #expect(resumed.status == 0, "\(resumed.errors)")
        #expect(resumed.output.contains("resumed from") && resumed.output.contains("step \(steps + 2) |"), "\(resumed.output)")
    }

    /// Starts a long two-rank run and, once both ranks are training, does `act` to rank 1's pid.
    static func interruptRank(_ label: String, extra: [String], act: (Int32) -> Void) throws -> (status: Int32, output: String, seconds: Double) {
        let folder = try Clmodel.namesFolder(label)
        defer { try? FileManager.default.removeItem(at: folder) }
        let job = try MPIJob(ranks: 2, Self.trainArguments(data: folder, steps: 1_000_000, batch: 3,
                                                           checkpoint: folder.appendingPathComponent("gpt.safetensors"))
                                    + ["--distributed", "--log-every", "20", "--eval-every", "1000000"] + extra)
        defer { job.stop() }
        guard let pid = job.waitFor(#"rank 1 of 2: pid (\d+)"#, seconds: 120).flatMap(Int32.init),
              job.waitFor(#"step (20) \|"#, seconds: 120) != nil else {
            Issue.record("the ranks did not start training: \(job.output)")
            return (-1, job.output, 0)
        }
        let start = Date()
        act(pid)
        let status = job.wait(seconds: 120)
        kill(pid, SIGKILL)
        return (status ?? -1, job.output, Date().timeIntervalSince(start))
    }

    @Test func aKilledRankEndsTheJob() throws {
        let (status, output, seconds) = try Self.interruptRank("mpi-killed", extra: []) { kill($0, SIGKILL) }
        #expect(status != 0, "\(output)")
        #expect(seconds < 60, "the job ended \(seconds) s after the kill")
        #expect(output.contains("exited on signal 9"), "mpirun names the killed rank: \(output)")
    }

    @Test func aStoppedRankTimesOutTheCollective() throws {
        let (status, output, seconds) = try Self.interruptRank("mpi-stopped", extra: ["--collective-timeout", "3"]) { kill($0, SIGSTOP) }
        #expect(status != 0, "\(output)")
        #expect(seconds < 60, "the job ended \(seconds) s after the stop")
        #expect(output.contains("error: rank 0: the gradient all-reduce of step"), "\(output)")
        #expect(output.contains("did not complete within 3 s (--collective-timeout): another rank has died or stopped responding"), "\(output)")
    }
}

/// A `clmodel` run, alone or under `mpirun -np N --oversubscribe` with TCP on loopback; output
/// goes to a file the test reads while the job runs.
final class MPIJob {
    /// The MPI build of clmodel (`CLGRAPH_MPI_CLMODEL`), when set and executable.
    static let clmodel: String? = ProcessInfo.processInfo.environment["CLGRAPH_MPI_CLMODEL"]
        .flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil }

    private let process = Process()
    private let folder: URL
    private let outputFile: URL

    init(ranks: Int?, _ arguments: [String]) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("mpi-job-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        outputFile = folder.appendingPathComponent("output")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        let clmodel = try #require(Self.clmodel)
        if let ranks {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["mpirun", "-np", "\(ranks)", "--oversubscribe", "--mca", "btl", "tcp,self",
                                 "--mca", "btl_tcp_if_include", "lo", clmodel] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: clmodel)
            process.arguments = arguments
        }
        // Root may run mpirun in CI containers only when told.
        process.environment = ProcessInfo.processInfo.environment.merging(
            ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"]) { _, new in new }
        let handle = try FileHandle(forWritingTo: outputFile)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        try handle.close()
    }

    /// Runs to the end; output and errors come back together in `output`.
    static func run(_ ranks: Int?, _ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        let job = try MPIJob(ranks: ranks, arguments)
        let status = job.wait(seconds: 600) ?? -1
        return (status, job.output, job.output)
    }

    /// Everything printed so far.
    var output: String { String(decoding: (try? Data(contentsOf: outputFile)) ?? Data(), as: UTF8.self) }

    /// Polls the output for `pattern`; returns its first capture group, nil after `seconds`.
    func waitFor(_ pattern: String, seconds: Double) -> String? {
        let regex = try! NSRegularExpression(pattern: pattern)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let text = output
            if let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
               let range = Range(match.range(at: 1), in: text) {
                return String(text[range])
            }
            if !process.isRunning { return nil }
            usleep(100_000)
        }
        return nil
    }

    /// The exit status, or nil when the job still runs after `seconds` (it is then killed).
    func wait(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(100_000) }
        guard !process.isRunning else {
            stop()
            return nil
        }
        return process.terminationStatus
    }

    /// Ends the job if it still runs and removes its files.
    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: folder)
    }
}
