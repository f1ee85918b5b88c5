import Foundation
import TensorGraph

/// Generates tokens from a babyLLM. It has no cache: every new token runs the whole context (its
/// last block-size tokens, padded to the block; the windows are causal, so padding after the
/// context changes nothing) through one compiled forward pass. Sampling (``Sampler``) is on the host.
public final class BabyLLMGenerator {
    public let model: BabyLLMConfiguration
    private let plan: any Plan

    /// Tokens generated and the seconds their forward passes and sampling took (for tokens/s).
    public private(set) var generatedTokens = 0, generationSeconds = 0.0

    /// Compiles the forward pass of one block on `backend` and uploads `parameters`.
    public init(_ model: BabyLLMConfiguration, parameters: [String: TensorData], backend: any Backend,
                method: WindowMeanMethod = .default, options: CompileOptions = CompileOptions()) throws {
        self.model = model
        let forward = try BabyLLMModel.forward(model, batch: 1, sequence: model.blockSize, method: method)
        plan = try backend.compile(forward.graph, outputs: [forward.logits], options: options)
        try forward.model.load(parameters, into: plan)
    }

    /// Extends `prompt` (at least one token) by up to `maxTokens` tokens, stopping after
    /// `stopToken`; `onToken` sees each new token as it comes.
    /// - Throws: ``GraphError`` for an empty prompt.
    public func generate(prompt: [Int32], maxTokens: Int, sampler: inout Sampler, stopToken: Int32? = nil,
                         onToken: (Int32) -> Void = { _ in }) throws -> [Int32] {
        guard !prompt.isEmpty else {
            throw GraphError(op: "babyllm", shapes: [], expected: "a prompt of at least one token", message: "the prompt is empty")
        }
        let start = ContinuousClock.now
        let tokens = try generateByRecomputingContext(prompt, blockSize: model.blockSize, maxTokens: maxTokens, sampler: &sampler,
                                                      stopToken: stopToken, onToken: onToken, nextLogits: nextLogits)
        generatedTokens += tokens.count
        generationSeconds += GPTGenerator.seconds(since: start)
        return tokens
    }

    /// The logits after the last token of `context` (1 … block size tokens).
    public func nextLogits(_ context: [Int32]) throws -> [Float] {
        let padded = context + [Int32](repeating: 0, count: model.blockSize - context.count)
        let logits = try plan.run(BabyLLMModel.forwardFeeds(tokens: padded, batch: 1, sequence: model.blockSize))[0].floats
        let v = model.vocabulary, row = context.count - 1
        return Array(logits[(row * v)..<((row + 1) * v)])
    }
}
