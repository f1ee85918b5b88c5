import Foundation
import TensorGraph

/// Generates tokens from a GPT: a prefill plan runs each prompt through the full forward pass once
/// and hands its keys and values to the decode plan, whose KV cache (one variable per layer, kept
/// on the device and written in place) grows by one row per token; no past token is recomputed.
/// The decode plan steps `batch` sequences at once, each at its own position, in one plan run.
/// Sampling (``Sampler``) is a separate stage on the host, seeded; greedy decoding of prompts of
/// one length takes each step's token from the device instead (see ``generate(prompts:maxTokens:samplers:stopToken:onToken:)``).
///
/// The cache holds `blockSize` positions. When a sequence's cache is full its context slides: the
/// last half of its tokens are prefilled again and decoding goes on (with learned positions a
/// token's keys depend on its position, so a slide must recompute them).
public final class GPTGenerator {
    public let model: GPTConfiguration
    /// Whether decoding goes through the KV cache (false: every token recomputes the context).
    public let usesCache: Bool
    /// Sequences decoded together (the decode plan's batch).
    public let batch: Int
    private let prefill: any Plan
    /// The decode plan and its cache variables' names; nil without the cache.
    private let decoder: (plan: any Plan, cacheNames: [(keys: String, values: String)])?

    /// Time spent, for tokens/s reports (decode tokens count every sequence of the batch).
    public private(set) var prefillTokens = 0, prefillSeconds = 0.0, decodeTokens = 0, decodeSeconds = 0.0
    /// Decode plan runs (one per step of the whole batch).
    public private(set) var decodeSteps = 0
    /// Device commands per decode step (nil on a backend without kernels, or without the cache).
    public var decodeCommandsPerStep: Int? { decoder?.plan.commandsPerRun }

    /// - Parameters:
    ///   - useCache: false recomputes the whole context for every token (the check that the cache
    ///     changes nothing, and the baseline it is measured against); only with `batch` 1.
    ///   - batch: how many sequences each decode step advances.
    public init(_ model: GPTConfiguration, parameters: [String: TensorData], backend: any Backend, useCache: Bool = true,
                batch: Int = 1, weightFormats: [String: QuantFormat] = [:], options: CompileOptions = CompileOptions()) throws {
        guard batch >= 1, useCache || batch == 1 else {
            throw GraphError(op: "gpt", shapes: [], expected: "a batch ≥ 1, and 1 without the KV cache",
                             message: "cannot decode a batch of \(batch)\(useCache ? "" : " without the cache")")
        }
        self.model = model
        self.usesCache = useCache
        self.batch = batch
        let forward = try GPTModel.forward(model, batch: 1, sequence: model.blockSize, weightFormats: weightFormats)
        prefill = try backend.compile(forward.graph, outputs: [forward.logits] + (useCache ? forward.keys + forward.values : []),
                                      options: options)
        for (name, value) in parameters { try prefill.setVariable(name, value) }
        if useCache {
            let step = try GPTModel.decode(model, batch: batch, weightFormats: weightFormats)
            let plan = try backend.compile(step.graph, outputs: [step.logits, step.greedyTokens], assignments: step.cacheUpdates,
                                           options: options)
            for (name, value) in parameters { try plan.setVariable(name, value) }
            decoder = (plan, step.cacheNames)
        } else {
            decoder = nil
        }
    }

    /// Extends `prompt` (at least one token; a name model's prompt starts with the end token) by up
    /// to `maxTokens` tokens, stopping after `stopToken`; `onToken` sees each new token as it comes.
    /// Needs a generator of batch 1.
    public func generate(prompt: [Int32], maxTokens: Int, sampler: inout Sampler, stopToken: Int32? = nil,
                         onToken: (Int32) -> Void = { _ in }) throws -> [Int32] {
        var samplers = [sampler]
        defer { sampler = samplers[0] }
        return try generate(prompts: [prompt], maxTokens: maxTokens, samplers: &samplers, stopToken: stopToken) { onToken($1) }[0]
    }

    /// Prompts up to this many tokens go through the decode plan a token per step; longer ones
    /// through one prefill run (a full-block forward pass costs about as much as this many steps).
    public var shortPromptLimit = 8

    /// Extends each of `prompts` (as many as the batch) by up to `maxTokens` tokens, sequence `b`
    /// sampled by `samplers[b]`; a sequence stops after `stopToken` while the others go on.
    /// `onToken(b, token)` sees each new token as it comes.
    ///
    /// When every sampler is greedy and the prompts have one length, each step's token is the
    /// previous step's arg-max, chained on the device: the host starts a step before reading the
    /// token it consumes (``Plan/start(_:chaining:)``), so the device never waits for the host. The
    /// tokens are those of the host's greedy choice (one arg-max rule, ``ReferenceOps/argmaxIndex(_:)``).
    public func generate(prompts: [[Int32]], maxTokens: Int, samplers: inout [Sampler], stopToken: Int32? = nil,
                         onToken: (Int, Int32) -> Void = { _, _ in }) throws -> [[Int32]] {
        guard prompts.count == batch, samplers.count == batch, prompts.allSatisfy({ !$0.isEmpty }) else {
            throw GraphError(op: "gpt", shapes: [], expected: "\(batch) non-empty prompts and as many samplers",
                             message: "got \(prompts.count) prompts (\(prompts.filter(\.isEmpty).count) empty) and \(samplers.count) samplers")
        }
        guard let decoder else { return [try generateByRecomputing(prompts[0], maxTokens: maxTokens, sampler: &samplers[0],
                                                                    stopToken: stopToken) { onToken(0, $0) }] }
        if chainsGreedyTokens, samplers.allSatisfy(\.greedy), Set(prompts.map { min($0.count, model.blockSize) }).count == 1 {
            return try generateGreedyChained(prompts: prompts, maxTokens: maxTokens, stopToken: stopToken, onToken: onToken)
        }
        var contexts = prompts.map { Array($0.suffix(model.blockSize)) }
        var generated = [[Int32]](repeating: [], count: batch)
        var logits = [[Float]](repeating: [], count: batch)
        // Per sequence: the tokens still to feed through the decode plan, from cache row `positions[b]`.
        var queues = contexts, positions = [Int](repeating: 0, count: batch)
        let long = (0..<batch).filter { contexts[$0].count > shortPromptLimit }
        if !long.isEmpty || decoderNeedsCache {
            try resetCache(decoder)
            for b in long {
                logits[b] = try runPrefill(contexts[b], intoRow: b)
                (queues[b], positions[b]) = ([], contexts[b].count)
            }
        }
        var active = [Bool](repeating: maxTokens > 0, count: batch)
        while active.contains(true) {
            for b in 0..<batch where active[b] && queues[b].isEmpty {
                let token = Int32(samplers[b].sample(logits[b]))
                generated[b].append(token)
                onToken(b, token)
                if token == stopToken || generated[b].count >= maxTokens { active[b] = false; continue }
                contexts[b].append(token)
                if positions[b] == model.blockSize {
                    contexts[b] = Array(contexts[b].suffix(model.blockSize / 2))
                    logits[b] = try runPrefill(contexts[b], intoRow: b)
                    positions[b] = contexts[b].count
                } else {
                    queues[b] = [token]
                }
            }
            let stepping = (0..<batch).filter { active[$0] && !queues[$0].isEmpty }
            guard !stepping.isEmpty else { continue }
            // Sequences not stepping run along at a valid row past their context; their outputs are ignored.
            var tokens = [Int32](repeating: 0, count: batch)
            for b in stepping { tokens[b] = queues[b].removeFirst() }
            let fed = positions.map { min($0, model.blockSize - 1) }
            let next = try runDecode(tokens, at: fed, counted: stepping.count)
            for b in stepping {
                positions[b] += 1
                if queues[b].isEmpty { logits[b] = next[b] }
            }
        }
        return generated
    }

    /// Whether greedy decoding chains its tokens on the device (false: the host loop picks every
    /// token, the check that chaining changes nothing).
    public var chainsGreedyTokens = true

    /// Greedy decoding with each step's token chained on the device from the previous step's
    /// arg-max; one step stays queued ahead of the host. Prompts have one length, so every
    /// sequence is at the same position and slides its context at the same step.
    private func generateGreedyChained(prompts: [[Int32]], maxTokens: Int, stopToken: Int32?,
                                       onToken: (Int, Int32) -> Void) throws -> [[Int32]] {
        let plan = decoder!.plan
        var contexts = prompts.map { Array($0.suffix(model.blockSize)) }
        var generated = [[Int32]](repeating: [], count: batch)
        var active = [Bool](repeating: maxTokens > 0, count: batch)
        let started = ContinuousClock.now, prefillBefore = prefillSeconds
        defer { decodeSeconds += Self.seconds(since: started) - (prefillSeconds - prefillBefore) }

        /// Records the tokens chosen for the active sequences; a stopped sequence's context grows
        /// along (its tokens unused) so every context keeps one length.
        func accept(_ tokens: [Int32]) {
            for b in 0..<batch {
                contexts[b].append(tokens[b])
                guard active[b] else { continue }
                generated[b].append(tokens[b])
                onToken(b, tokens[b])
                if tokens[b] == stopToken || generated[b].count >= maxTokens { active[b] = false }
            }
        }
        /// Prefills every context (into its cache row) and accepts the arg-max of its last logits;
        /// returns the position the accepted token goes to (the prefilled length).
        func prefillAll() throws -> Int {
            if decoderNeedsCache { try resetCache(decoder!) }
            let length = contexts[0].count
            accept(try (0..<batch).map { Int32(ReferenceOps.argmaxIndex(try runPrefill(contexts[$0], intoRow: $0))) })
            return length
        }

        // Tokens the host feeds before the chain takes over: the prompt's, a token per step, or
        // after a prefill the token chosen from its logits.
        var fed: [[Int32]] = []
        var position = 0
        if contexts[0].count > shortPromptLimit {
            position = try prefillAll()
            fed = [contexts.map { $0.last! }]
        } else {
            if decoderNeedsCache { try resetCache(decoder!) }
            fed = (0..<contexts[0].count).map { i in contexts.map { $0[i] } }
        }
        // Started steps not yet read, oldest first, and whether each one's arg-max is a new token.
        var inFlight: [(run: any PlanRun, choosesToken: Bool)] = []
        func collectOldest() throws {
            let (run, choosesToken) = inFlight.removeFirst()
            let tokens = try run.outputs()[1].ints
            if choosesToken { accept(tokens) }
        }
        while active.contains(true) {
            let promised = inFlight.filter(\.choosesToken).count
            let wanted = (0..<batch).contains { active[$0] && generated[$0].count + promised < maxTokens }
            if !wanted || inFlight.count == 2 {
                if inFlight.isEmpty { break }
                try collectOldest()
                continue
            }
            if position == model.blockSize {
                // The context slides: every token so far must be known first.
                while !inFlight.isEmpty { try collectOldest() }
                guard active.contains(true) else { break }
                for b in 0..<batch { contexts[b] = Array(contexts[b].suffix(model.blockSize / 2)) }
                position = try prefillAll()
                fed = [contexts.map { $0.last! }]
                continue
            }
            var feeds = GPTModel.decodeFeeds(model, tokens: fed.first ?? contexts.map { _ in 0 },
                                             positions: [Int](repeating: position, count: batch))
            let chained = fed.isEmpty
            if chained { feeds[GPTModel.DecodeInput.token] = nil } else { fed.removeFirst() }
            inFlight.append((try plan.start(feeds, chaining: chained ? [GPTModel.DecodeInput.token: 1] : [:]), fed.isEmpty))
            position += 1
            decodeSteps += 1
            decodeTokens += (0..<batch).filter { active[$0] }.count
        }
        while !inFlight.isEmpty { _ = try inFlight.removeFirst().run.outputs() }
        return generated
    }

    /// Whether the decode plan's cache variables still need their first value.
    private var decoderNeedsCache = true

    private func resetCache(_ decoder: (plan: any Plan, cacheNames: [(keys: String, values: String)])) throws {
        let shape: Shape = [batch, model.heads, model.blockSize, model.headSize]
        let zeros = TensorData(shape: shape, floats: [Float](repeating: 0, count: shape.count))
        for names in decoder.cacheNames {
            try decoder.plan.setVariable(names.keys, zeros)
            try decoder.plan.setVariable(names.values, zeros)
        }
        decoderNeedsCache = false
    }

    /// Without the cache: every token reruns the whole context (the baseline the cache is checked against).
    private func generateByRecomputing(_ prompt: [Int32], maxTokens: Int, sampler: inout Sampler, stopToken: Int32?,
                                       onToken: (Int32) -> Void) throws -> [Int32] {
        try generateByRecomputingContext(prompt, blockSize: model.blockSize, maxTokens: maxTokens, sampler: &sampler,
                                         stopToken: stopToken, onToken: onToken) { try runPrefill($0, intoRow: nil) }
    }

    /// Runs one context (padded to the block); with the cache and a row, replaces that sequence's
    /// rows of the cache. Returns the logits after the context's last token.
    private func runPrefill(_ context: [Int32], intoRow row: Int?) throws -> [Float] {
        let (logits, outputs) = try prefillOutputs(context)
        if let decoder, let row {
            let rowCount = model.heads * model.blockSize * model.headSize
            for (layer, names) in decoder.cacheNames.enumerated() {
                for (name, output) in [(names.keys, outputs[1 + layer]), (names.values, outputs[1 + model.layers + layer])] {
                    var cache = try decoder.plan.variable(name).floats
                    cache.replaceSubrange((row * rowCount)..<((row + 1) * rowCount), with: output.floats)
                    try decoder.plan.setVariable(name, TensorData(shape: [batch, model.heads, model.blockSize, model.headSize],
                                                                  floats: cache))
                }
            }
        }
        return logits
    }

    private func prefillOutputs(_ context: [Int32]) throws -> (logits: [Float], outputs: [TensorData]) {
        let start = ContinuousClock.now
        var tokens = context
        tokens += [Int32](repeating: 0, count: model.blockSize - context.count)
        let outputs = try prefill.run(GPTModel.forwardFeeds(model, tokens: tokens, batch: 1, sequence: model.blockSize))
        prefillTokens += context.count
        prefillSeconds += Self.seconds(since: start)
        let v = model.vocabulary, row = context.count - 1
        return (Array(outputs[0].floats[(row * v)..<((row + 1) * v)]), outputs)
    }

    /// One decode step of the whole batch; returns each sequence's logits.
    private func runDecode(_ tokens: [Int32], at positions: [Int], counted: Int) throws -> [[Float]] {
        let start = ContinuousClock.now
        let logits = try decoder!.plan.run(GPTModel.decodeFeeds(model, tokens: tokens, positions: positions))[0].floats
        decodeTokens += counted
        decodeSteps += 1
        decodeSeconds += Self.seconds(since: start)
        let v = model.vocabulary
        return (0..<batch).map { Array(logits[($0 * v)..<(($0 + 1) * v)]) }
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
