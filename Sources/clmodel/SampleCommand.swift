import ArgumentParser
import Foundation
import Models

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sample from a trained model: names (mlp, gpt), or text streamed as it comes (a Shakespeare gpt).",
        discussion: "A GPT decodes through its KV cache (--no-cache recomputes the context for every token); prefill and decode tokens/s go to stderr.")

    @Argument(help: "Model kind: mlp or gpt.")
    var model: String
    @Option(help: "Checkpoint file (safetensors).")
    var checkpoint: String
    @Option(help: "How many samples.")
    var count: Int = 10
    @Option(help: "Random seed.")
    var seed: UInt64 = 42
    @Option(help: "Softmax temperature (finite, positive).")
    var temperature: Double = 1
    @Option(help: "Keep only the k most likely tokens (k ≥ 1).")
    var topK: Int?
    @Option(help: "Keep the smallest set of tokens whose probability reaches p (0 < p ≤ 1).")
    var topP: Double?
    @Option(help: "Drop tokens less likely than min-p times the most likely (0 ≤ min-p ≤ 1).")
    var minP: Double?
    @Flag(help: "Always take the most likely token.")
    var greedy = false
    @Option(help: "gpt: text to continue (default: the end token, i.e. the start of a name or line; a names model puts the end token before the prompt).")
    var prompt: String?
    @Option(help: "gpt: the most tokens per sample (default: names 40, text 500).")
    var length: Int?
    @Flag(help: "gpt: recompute the whole context for each token instead of using the KV cache.")
    var noCache = false
    @Option(help: "gpt: beam search with this many beams (decoded together through the KV cache) instead of sampling; prints every beam with its log-probability.")
    var beam: Int?
    @Option(help: "gpt --beam: GNMT length penalty α ≥ 0 (score = log p / ((5 + length)/6)^α; 0 ranks by log p).")
    var lengthPenalty: Double = 0
    @Option(help: "gpt --beam: a beam ends at this character (default: the end token for names, none for text).")
    var endChar: String?
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        guard ["mlp", "gpt"].contains(model) else { throw ValidationError("unknown model '\(model)'; models: mlp, gpt") }
        guard count > 0 else { throw ValidationError("--count must be positive") }
        if let length, length <= 0 { throw ValidationError("--length must be positive") }
        try validateBeamOptions()
        do {
            try makeSampler().validate()
        } catch let error as Sampler.SettingError {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        try reportingErrors {
            if model == "gpt", let beam { return try searchBeams(width: beam) }
            if model == "gpt" { return try sampleGPT() }
            let (configuration, checkpoint) = try loadMLP(self.checkpoint)
            let inference = try MLPInference(configuration, vocabulary: checkpoint.vocabulary, backend: try runOptions.backend(),
                                             parameters: checkpoint.parameters)
            var sampler = makeSampler()
            for _ in 0..<count { print(try inference.sampleName(&sampler)) }
        }
    }

    private func makeSampler() -> Sampler {
        Sampler(seed: seed, temperature: temperature, topK: topK, topP: topP, minP: minP, greedy: greedy)
    }

    private func sampleGPT() throws {
        let (configuration, checkpoint) = try loadGPT(self.checkpoint)
        let vocabulary = checkpoint.vocabulary
        let generator = try GPTGenerator(configuration, parameters: checkpoint.parameters, backend: try runOptions.backend(),
                                         useCache: !noCache, weightFormats: ModelQuantization.formats(of: checkpoint.parameters))
        var sampler = makeSampler()
        let isNames = vocabulary == .names
        let endToken = vocabulary.id(of: "\n")
        let promptTokens = try gptPromptTokens(prompt ?? "\n", vocabulary: vocabulary)
        guard !promptTokens.isEmpty else { throw CommandError.badArguments("--prompt must not be empty") }
        for _ in 0..<count {
            if isNames {
                let tokens = try generator.generate(prompt: promptTokens, maxTokens: length ?? 40, sampler: &sampler, stopToken: endToken)
                let prefix = promptTokens.filter { $0 != endToken }
                print(vocabulary.decode(prefix + tokens.filter { $0 != endToken }))
            } else {
                if let prompt { print(prompt, terminator: "") }
                _ = try generator.generate(prompt: promptTokens, maxTokens: length ?? 500, sampler: &sampler) { token in
                    print(vocabulary.decode([token]), terminator: "")
                    fflush(stdout)
                }
                print()
            }
        }
        let rate = { (tokens: Int, seconds: Double) in seconds > 0 ? String(format: "%.0f tokens/s", Double(tokens) / seconds) : "n/a" }
        FileHandle.standardError.write(Data(("prefill: \(generator.prefillTokens) tokens, \(rate(generator.prefillTokens, generator.prefillSeconds)); "
            + "decode: \(generator.decodeTokens) tokens, \(rate(generator.decodeTokens, generator.decodeSeconds))"
            + (noCache ? " (no cache: every token is a prefill)" : "") + "\n").utf8))
    }
}
