import ArgumentParser
import Foundation
import Models

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sample from a trained model: names (mlp, gpt, babyllm), or text streamed as it comes (a Shakespeare gpt or babyllm).",
        discussion: "A GPT decodes through its KV cache (--no-cache recomputes the context for every token); prefill and decode tokens/s go to stderr. A babyLLM runs its whole context for every token; its tokens/s go to stderr.")

    @Argument(help: "Model kind: mlp, gpt or babyllm.")
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
        guard ["mlp", "gpt", "babyllm"].contains(model) else { throw ValidationError("unknown model '\(model)'; models: mlp, gpt, babyllm") }
        if model == "babyllm", beam != nil || noCache { throw ValidationError("--beam and --no-cache are gpt options; a babyllm has no cache") }
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
            if model == "babyllm" { return try sampleBabyLLM() }
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
        let generator = try GPTGenerator(configuration, parameters: checkpoint.parameters, backend: try runOptions.backend(),
                                         useCache: !noCache, weightFormats: ModelQuantization.formats(of: checkpoint.parameters))
        try sampleSequences(checkpoint.vocabulary, generate: generator.generate(prompt:maxTokens:sampler:stopToken:onToken:))
        let rate = { (tokens: Int, seconds: Double) in seconds > 0 ? String(format: "%.0f tokens/s", Double(tokens) / seconds) : "n/a" }
        FileHandle.standardError.write(Data(("prefill: \(generator.prefillTokens) tokens, \(rate(generator.prefillTokens, generator.prefillSeconds)); "
            + "decode: \(generator.decodeTokens) tokens, \(rate(generator.decodeTokens, generator.decodeSeconds))"
            + (noCache ? " (no cache: every token is a prefill)" : "") + "\n").utf8))
    }

    private func sampleBabyLLM() throws {
        let (configuration, checkpoint) = try loadBabyLLM(self.checkpoint)
        let generator = try BabyLLMGenerator(configuration, parameters: checkpoint.parameters, backend: try runOptions.backend())
        try sampleSequences(checkpoint.vocabulary, generate: generator.generate(prompt:maxTokens:sampler:stopToken:onToken:))
        let seconds = generator.generationSeconds
        FileHandle.standardError.write(Data(("generate: \(generator.generatedTokens) tokens, "
            + (seconds > 0 ? String(format: "%.0f tokens/s", Double(generator.generatedTokens) / seconds) : "n/a")
            + " (the whole context for every token)\n").utf8))
    }

    /// Prints `count` samples of a sequence model: names one per line (the prompt's letters in
    /// front), or text streamed as it comes. `generate` is the model's generator.
    private func sampleSequences(_ vocabulary: CharVocabulary,
                                 generate: ([Int32], Int, inout Sampler, Int32?, (Int32) -> Void) throws -> [Int32]) throws {
        var sampler = makeSampler()
        let endToken = vocabulary.id(of: "\n")
        let promptTokens = try gptPromptTokens(prompt ?? "\n", vocabulary: vocabulary)
        guard !promptTokens.isEmpty else { throw CommandError.badArguments("--prompt must not be empty") }
        for _ in 0..<count {
            if vocabulary == .names {
                let tokens = try generate(promptTokens, length ?? 40, &sampler, endToken) { _ in }
                let prefix = promptTokens.filter { $0 != endToken }
                print(vocabulary.decode(prefix + tokens.filter { $0 != endToken }))
            } else {
                if let prompt { print(prompt, terminator: "") }
                _ = try generate(promptTokens, length ?? 500, &sampler, nil) { token in
                    print(vocabulary.decode([token]), terminator: "")
                    fflush(stdout)
                }
                print()
            }
        }
    }
}
