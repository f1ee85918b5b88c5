import ArgumentParser
import CLBackend
import DistributedTraining
import Foundation
import TensorGraph

/// The flags of data-parallel training (`clmodel train gpt --distributed` under `mpirun`).
struct DistributedOptions: ParsableArguments {
    @Flag(help: """
        Train data-parallel over the ranks mpirun starts (a build with the MPI trait): every rank trains on --batch \
        sequences of each step's global batch of ranks × --batch on its own device (--device a,b,… or $CLGRAPH_DEVICE \
        a,b,… picks by local rank), the ranks sum the gradients, and rank 0 logs and writes the checkpoint.
        """)
    var distributed = false
    @Option(help: "With --distributed: seconds a gradient all-reduce waits for the other ranks before this rank reports them dead and exits with status 70.")
    var collectiveTimeout: Double = 300

    func validate() throws {
        guard collectiveTimeout > 0, collectiveTimeout.isFinite else {
            throw ValidationError("--collective-timeout must be positive, got \(collectiveTimeout)")
        }
    }

    /// Joins the ranks; without MPI in this build, prints what to install and exits with status 69.
    func start() throws -> any ProcessGroup {
        do {
            return try Distributed.start(collectiveTimeout: collectiveTimeout)
        } catch DistributedError.notBuilt {
            FileHandle.standardError.write(Data("error: \(DistributedError.notBuilt)\n".utf8))
            throw ExitCode(69)
        }
    }

    /// The backend of the rank with `localRank`: the `localRank`-th entry (cycling) of a
    /// comma-separated `--device` or `$CLGRAPH_DEVICE` list; a single device serves every rank.
    static func backend(_ run: RunOptions, localRank: Int) throws -> (backend: any Backend, selector: String?) {
        let list = run.device ?? ProcessInfo.processInfo.environment["CLGRAPH_DEVICE"]
        let choices = list.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } } ?? []
        let selector = choices.isEmpty ? nil : choices[localRank % choices.count]
        if selector?.lowercased() == "reference" { return (ReferenceBackend(), selector) }
        return (try OpenCLBackend(device: selector), selector)
    }
}
