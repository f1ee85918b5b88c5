import ArgumentParser
import Foundation
import Models
import TensorGraph

/// `clmodel bench <model>`: time training steps only (no evaluation, no checkpoints), for
/// comparison with the PyTorch scripts in Benchmarks/peers.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time training steps (median ms/step after a warm-up), for comparison with PyTorch.",
        subcommands: [BenchMLP.self])
}

struct BenchMLP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mlp", abstract: "Median ms per names-MLP training step (reference configuration).")

    @Option(help: "Folder with train.txt (the names splits).")
    var data: String
    @Option(help: "Timed steps (in blocks of 50 enqueued steps; ms/step per block).")
    var steps: Int = 500
    @Option(help: "Untimed steps first (pocl compiles kernels on first use).")
    var warmup: Int = 100
    @Option(help: "Windows per batch.")
    var batch: Int = 128
    @Option(help: "Output format: text or json (clbench-shaped, benchmark \"train_mlp\").")
    var format: String = "text"
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        guard steps > 0, warmup >= 0, batch > 0 else { throw ValidationError("--steps and --batch must be positive, --warmup not negative") }
        guard ["text", "json"].contains(format) else { throw ValidationError("--format must be text or json") }
    }

    func run() throws {
        try reportingErrors {
            let model = MLPConfiguration()
            var training = MLPTrainingConfiguration()
            training.batchSize = batch
            training.steps = warmup + steps
            let backend = try runOptions.backend()
            let trainer = try MLPTrainer(model: model, training: training,
                                         data: try TokenStream(contentsOf: "\(data)/train.txt", vocabulary: .names),
                                         backend: backend, parameters: MLPModel.initialParameters(model))
            for _ in 0..<warmup { try trainer.trainStep() }
            // Timed in blocks of enqueued steps, as `clmodel train` runs them (one wait per block).
            let block = 50
            let clock = ContinuousClock()
            var times: [Double] = []
            var done = 0
            while done < steps {
                let count = min(block, steps - done)
                let started = clock.now
                for _ in 0..<count { try trainer.enqueueStep() }
                _ = try trainer.takeLossSum()
                let elapsed = clock.now - started
                times.append((Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) * 1e-15) / Double(count))
                done += count
            }
            times.sort()
            let median = times[times.count / 2]
            if format == "json" {
                let report: [String: Any] = [
                    "benchmark": "train_mlp",
                    "device": ["name": backend.name],
                    "params": ["batch": batch, "steps": steps, "warmup": warmup],
                    "results": [["variant": "clgraph", "description": "forward + backward + AdamW, one plan run per step",
                                 "median_ms": median, "min_ms": times[0], "max_ms": times[times.count - 1], "valid": true]],
                ]
                let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(String(format: "%@: median %.3f ms/step (min %.3f) over %d steps, batch %d",
                             backend.name, median, times[0], steps, batch))
            }
        }
    }
}
