import Foundation
import TensorGraph

/// Generates tokens from a GPT: a prefill plan runs the prompt through the full forward pass once
/// and hands its keys and values to the decode plan, whose KV cache (one variable per layer, kept
/// on the device and updated in place) grows by one row per token; no past token is recomputed.
/// Sampling (``Sampler``) is a separate stage on the host, seeded.
///
/// The cache holds `blockSize` positions. When it is full the context slides: the last half of the
/// tokens are prefilled again and decoding goes on (with learned positions a token's keys depend on
/// its position, so a slide must recompute them).
public final class GPTGenerator {
    public let model: GPTConfiguration
    /// Whether decoding goes through the KV cache (false: every token recomputes the context).
    public let usesCache: Bool
    private let prefill: any Plan
    /// The decode plan and its cache variables' names; nil without the cache.
    private let decoder: (plan: any Plan, cacheNames: [(keys: String, values: String)])?

    /// Time spent, for tokens/s reports.
    public private(set) var prefillTokens = 0, prefillSeconds = 0.0, decodeTokens = 0, decodeSeconds = 0.0

    /// - Parameter useCache: false recomputes the whole context for every token (the check that the
    ///   cache changes nothing, and the baseline it is measured against).
    public init(_ model: GPTConfiguration, parameters: [String: TensorData], backend: any Backend, useCache: Bool = true,
                weightFormats: [String: QuantFormat] = [:], options: CompileOptions = CompileOptions()) throws {
        self.model = model
        self.usesCache = useCache
        let forward = try GPTModel.forward(model, batch: 1, sequence: model.blockSize, weightFormats: weightFormats)
        prefill = try backend.compile(forward.graph, outputs: [forward.logits] + (useCache ? forward.keys + forward.values : []),
                                      options: options)
        for (name, value) in parameters { try prefill.setVariable(name, value) }
        if useCache {
            let step = try GPTModel.decode(model, weightFormats: weightFormats)
            let plan = try backend.compile(step.graph, outputs: [step.logits], assignments: step.cacheUpdates, options: options)
            for (name, value) in parameters { try plan.setVariable(name, value) }
            decoder = (plan, step.cacheNames)
        } else {
            decoder = nil
        }
    }

    /// Extends `prompt` (at least one token; a name model's prompt starts with the end token) by up
    /// to `maxTokens` tokens, stopping after `stopToken`; `onToken` sees each new token as it comes.
    public func generate(prompt: [Int32], maxTokens: Int, sampler: inout Sampler, stopToken: Int32? = nil,
                         onToken: (Int32) -> Void = { _ in }) throws -> [Int32] {
        precondition(!prompt.isEmpty, "generation needs a prompt of at least one token")
        var context = Array(prompt.suffix(model.blockSize))
        var generated: [Int32] = []
        var logits = try runPrefill(context)
        var position = context.count        // the position of the next token (cache rows 0..<position are filled)
        while generated.count < maxTokens {
            let token = Int32(sampler.sample(logits))
            generated.append(token)
            onToken(token)
            if token == stopToken { break }
            guard generated.count < maxTokens else { break }
            context.append(token)
            if !usesCache || position == model.blockSize {
                if context.count > model.blockSize { context = Array(context.suffix(usesCache ? model.blockSize / 2 : model.blockSize)) }
                logits = try runPrefill(context)
                position = context.count
            } else {
                logits = try runDecode(token, at: position)
                position += 1
            }
        }
        return generated
    }

    /// Runs the prompt (padded to the block) and, with the cache, loads its keys and values into
    /// the decode plan. Returns the logits after the last prompt token.
    private func runPrefill(_ context: [Int32]) throws -> [Float] {
        let start = ContinuousClock.now
        var tokens = context
        tokens += [Int32](repeating: 0, count: model.blockSize - context.count)
        let outputs = try prefill.run(GPTModel.forwardFeeds(model, tokens: tokens, batch: 1, sequence: model.blockSize))
        if let decoder {
            for (layer, names) in decoder.cacheNames.enumerated() {
                try decoder.plan.setVariable(names.keys, outputs[1 + layer])
                try decoder.plan.setVariable(names.values, outputs[1 + model.layers + layer])
            }
        }
        prefillTokens += context.count
        prefillSeconds += Self.seconds(since: start)
        let v = model.vocabulary, row = context.count - 1
        return Array(outputs[0].floats[(row * v)..<((row + 1) * v)])
    }

    private func runDecode(_ token: Int32, at position: Int) throws -> [Float] {
        let start = ContinuousClock.now
        let block = model.blockSize
        var feeds: [String: TensorData] = [
            GPTModel.DecodeInput.token: TensorData(shape: [1, 1], ints: [token]),
            GPTModel.DecodeInput.write: TensorData(shape: [block, 1], floats: (0..<block).map { $0 == position ? 1 : 0 }),
            GPTModel.DecodeInput.mask: TensorData(shape: [1, block], floats: (0..<block).map { $0 <= position ? 0 : -1e30 }),
        ]
        if model.positions == .learned {
            feeds[GPTModel.DecodeInput.position] = TensorData(shape: [1], ints: [Int32(position)])
        } else {
            let (cos, sin) = GPTModel.ropeTables(model, start: position, count: 1)
            feeds[GPTModel.ropeInputs.0] = cos
            feeds[GPTModel.ropeInputs.1] = sin
        }
        let logits = try decoder!.plan.run(feeds)[0].floats
        decodeTokens += 1
        decodeSeconds += Self.seconds(since: start)
        return logits
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
