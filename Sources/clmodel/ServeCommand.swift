import ArgumentParser
import Foundation
import Models
import Playground

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the browser playground: draw connections into an MLP, look inside a GPT (attention, sampling, trace).",
        discussion: """
            Give an MLP checkpoint, a GPT checkpoint or one of each. The page, its script and styles are in the \
            binary; the JSON API behind them is in the README ("clmodel serve"). Every forward pass runs on \
            the device. Binds to loopback unless --host says otherwise; --port 0 picks a free port (printed).
            """)

    @Option(help: "Checkpoint file (safetensors) of an MLP or a GPT; at most one of each (repeatable).")
    var checkpoint: [String] = []
    @Option(help: "TCP port (0: any free port).")
    var port: Int = 8080
    @Option(help: "Address to bind (127.0.0.1: this machine only; 0.0.0.0: every interface).")
    var host: String = "127.0.0.1"
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        guard !checkpoint.isEmpty, checkpoint.count <= 2 else {
            throw ValidationError("--checkpoint: give an MLP checkpoint, a GPT checkpoint or one of each, got \(checkpoint.count)")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535, got \(port)") }
    }

    func run() throws {
        try reportingErrors {
            var models: [PlaygroundState.Model] = []
            for path in checkpoint {
                let kind = try Models.Checkpoint.read(path).kind
                if kind == "gpt" {
                    let (configuration, loaded) = try loadGPT(path)
                    models.append(.gpt(configuration, loaded, path: path))
                } else {
                    let (configuration, loaded) = try loadMLP(path)
                    models.append(.mlp(configuration, loaded, path: path))
                }
            }
            let kinds = models.map { if case .gpt = $0 { "gpt" } else { "mlp" } }
            guard Set(kinds).count == kinds.count else {
                throw CommandError.badArguments("--checkpoint: two \(kinds[0].uppercased()) checkpoints; give at most one of each kind")
            }
            let state = try PlaygroundState(models: models, makeBackend: runOptions.backend)
            let host = self.host
            let application = PlaygroundRouter.application(state: state, host: host, port: port) { port in
                print("serving the playground at http://\(host):\(port)/ (\(kinds.joined(separator: " and "))); Ctrl+C stops")
                fflush(stdout)
            }
            let finished = DispatchSemaphore(value: 0)
            let outcome = ServeOutcome()
            Task {
                do { try await application.runService() } catch { outcome.error = error }
                finished.signal()
            }
            finished.wait()
            if let error = outcome.error { throw error }
        }
    }
}

/// How the server stopped, handed from its task to the command.
private final class ServeOutcome: @unchecked Sendable {
    var error: Error?
}
