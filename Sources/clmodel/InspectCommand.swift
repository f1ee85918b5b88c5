import ArgumentParser
import CLBackend
import DurableFiles
import Foundation
import Models
import TensorGraph

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Open up a model on a prompt: a GPT's attention maps per layer and head, a babyLLM's window weights and most active neurons; the next-token distribution; per-op timings.",
        discussion: "Attention maps print as text heat maps (rows: queries, columns: keys; ' ░▒▓█' for 0 … 1) and, with --svg, as one SVG grid. --trace times each kernel of one forward pass. A babyLLM prints the weight of each window length (the softmax of its window logits) and the neurons that fire most at each position and over the whole prompt.")

    @Argument(help: "Model kind: gpt or babyllm.")
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
    @Option(help: "babyllm: how many of the most active neurons to show per position and overall.")
    var neurons: Int = 5
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        guard ["gpt", "babyllm"].contains(model) else { throw ValidationError("unknown model '\(model)'; inspect supports: gpt, babyllm") }
        guard topK > 0, neurons > 0 else { throw ValidationError("--top-k and --neurons must be positive") }
        if model == "babyllm", svg != nil || trace || noMaps {
            throw ValidationError("--svg, --trace and --no-maps are gpt options (attention maps); a babyllm has none")
        }
    }

    func run() throws {
        try reportingErrors {
            if model == "babyllm" { return try inspectBabyLLM() }
            if let svg { try DurableFile.checkWritable(svg) }
            let (configuration, checkpoint) = try loadGPT(self.checkpoint)
            let vocabulary = checkpoint.vocabulary
            let tokens = try promptTokens(vocabulary, block: configuration.blockSize)
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

extension Inspect {
    /// The prompt's tokens, 1 to `block` of them.
    func promptTokens(_ vocabulary: CharVocabulary, block: Int) throws -> [Int32] {
        let tokens = try gptPromptTokens(prompt, vocabulary: vocabulary)
        guard !tokens.isEmpty, tokens.count <= block else {
            throw CommandError.badArguments("--prompt must have 1 to \(block) tokens (the block size of \(checkpoint)), got \(tokens.count)")
        }
        return tokens
    }

    /// A babyLLM's window weights, its most active neurons per position and overall, and the next token.
    func inspectBabyLLM() throws {
        let (configuration, checkpoint) = try loadBabyLLM(self.checkpoint)
        let vocabulary = checkpoint.vocabulary
        let tokens = try promptTokens(vocabulary, block: configuration.blockSize)
        let inspection = try BabyLLMInspection(configuration, parameters: checkpoint.parameters, tokens: tokens,
                                               backend: try runOptions.backend())
        print("window weights (softmax of the window logits):")
        for (window, weight) in inspection.windowWeights {
            print(String(format: "  window %4d  %6.2f%%  %@", window, 100 * weight, String(repeating: "█", count: Int((weight * 40).rounded()))))
        }
        func list(_ top: [(neuron: Int, activation: Float)]) -> String {
            top.map { String(format: "#%d %.3f", $0.neuron, $0.activation) }.joined(separator: "  ")
        }
        print("neurons that fire most at each position (neuron activation):")
        for (position, token) in tokens.enumerated() {
            print(String(format: "  %3d %@  ", position, tokenLabel(Int(token), vocabulary)) + list(inspection.topNeurons(at: position, count: neurons)))
        }
        print("neurons that fire most over the prompt (mean activation):")
        print("  " + list(inspection.topNeuronsOverall(count: neurons)))
        print("next token after \(prompt.debugDescription):")
        printDistribution(inspection.nextLogits, vocabulary: vocabulary, topK: topK)
    }
}
