import ArgumentParser
import Foundation
import Models

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Sample names from a trained model.")

    @Argument(help: "Model kind: mlp.")
    var model: String
    @Option(help: "Checkpoint file (safetensors).")
    var checkpoint: String
    @Option(help: "How many samples.")
    var count: Int = 10
    @Option(help: "Random seed.")
    var seed: UInt64 = 42
    @Option(help: "Softmax temperature.")
    var temperature: Double = 1
    @Option(help: "Keep only the k most likely tokens.")
    var topK: Int?
    @Option(help: "Keep the smallest set of tokens whose probability reaches p.")
    var topP: Double?
    @Option(help: "Drop tokens less likely than min-p times the most likely.")
    var minP: Double?
    @Flag(help: "Always take the most likely token.")
    var greedy = false
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        guard model == "mlp" else { throw ValidationError("unknown model '\(model)'; models: mlp") }
        guard count > 0, temperature > 0 else { throw ValidationError("--count and --temperature must be positive") }
    }

    func run() throws {
        try reportingErrors {
            let (configuration, checkpoint) = try loadMLP(self.checkpoint)
            let inference = try MLPInference(configuration, vocabulary: checkpoint.vocabulary, backend: try runOptions.backend(),
                                             parameters: checkpoint.parameters)
            var sampler = Sampler(seed: seed, temperature: temperature, topK: topK, topP: topP, minP: minP, greedy: greedy)
            for _ in 0..<count { print(try inference.sampleName(&sampler)) }
        }
    }
}
