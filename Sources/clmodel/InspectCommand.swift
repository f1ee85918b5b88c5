import ArgumentParser
import CLBackend
import DurableFiles
import Foundation
import Models
import TensorGraph

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Open up a GPT on a prompt: attention maps per layer and head, the next-token distribution, per-op timings.",
        discussion: "Attention maps print as text heat maps (rows: queries, columns: keys; ' ░▒▓█' for 0 … 1) and, with --svg, as one SVG grid. --trace times each kernel of one forward pass.")

    @Argument(help: "Model kind: gpt.")
    var model: String
    @Option(help: "Checkpoint file (safetensors).")
    var checkpoint: String
    @Option(help: "Prompt text (a names model: the start of a name; the end token is put in front).")
    var prompt: String
    @Option(help: "How many of the most likely next tokens to show.")
    var topK: Int = 10
    @Option(help: "Write every attention map to this SVG file.")
    var svg: String?
    @Flag(help: "Skip the text heat maps.")
    var noMaps = false
    @Flag(help: "Print the per-kernel trace (variant, sizes, time, GFLOP/s, GB/s) of one forward pass.")
    var trace = false
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        guard model == "gpt" else { throw ValidationError("unknown model '\(model)'; inspect supports: gpt") }
        guard topK > 0 else { throw ValidationError("--top-k must be positive") }
    }

    func run() throws {
        try reportingErrors {
            if let svg { try DurableFile.checkWritable(svg) }
            let (configuration, checkpoint) = try loadGPT(self.checkpoint)
            let vocabulary = checkpoint.vocabulary
            let tokens = try gptPromptTokens(prompt, vocabulary: vocabulary)
            guard !tokens.isEmpty, tokens.count <= configuration.blockSize else {
                throw CommandError.badArguments("--prompt must have 1 to \(configuration.blockSize) tokens (the block size of \(self.checkpoint)), got \(tokens.count)")
            }
            let backend = try runOptions.backend()
            let inspection = try GPTInspection(configuration, parameters: checkpoint.parameters, tokens: tokens, backend: backend)
            let labels = tokens.map { tokenLabel(Int($0), vocabulary) }
            if !noMaps {
                for layer in 0..<configuration.layers {
                    for head in 0..<configuration.heads {
                        print(inspection.textHeatMap(layer: layer, head: head, labels: labels))
                        print()
                    }
                }
            }
            if let svg {
                try DurableFile.write(inspection.svg(labels: labels, title: "attention of \(prompt.debugDescription)"), to: svg)
                print("attention maps: \(svg)")
            }
            print("next token after \(prompt.debugDescription):")
            printDistribution(inspection.nextLogits, vocabulary: vocabulary, topK: topK)
            if trace {
                print("trace of one forward pass (fused attention, \(tokens.count) positions):")
                let forward = try GPTModel.forward(configuration, batch: 1, sequence: tokens.count,
                                                   weightFormats: ModelQuantization.formats(of: checkpoint.parameters))
                let plan = try backend.compile(forward.graph, outputs: [forward.logits], options: CompileOptions(trace: true))
                for (name, value) in checkpoint.parameters { try plan.setVariable(name, value) }
                _ = try plan.run(GPTModel.forwardFeeds(configuration, tokens: tokens, batch: 1, sequence: tokens.count))
            }
        }
    }
}
