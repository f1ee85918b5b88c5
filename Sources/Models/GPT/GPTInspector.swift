import TensorGraph

/// Inspects one GPT on many prompts: keeps a compiled plan per prompt length, so looking at a
/// prompt again, or at another of the same length, costs one forward pass and no compile.
public final class GPTInspector {
    public let model: GPTConfiguration
    private let parameters: [String: TensorData]
    private let backend: any Backend
    private var plans: [Int: any Plan] = [:]

    public init(_ model: GPTConfiguration, parameters: [String: TensorData], backend: any Backend) {
        self.model = model
        self.parameters = parameters
        self.backend = backend
    }

    /// The attention maps and next-token logits of `tokens` (1 to block size of them).
    /// - Throws: `GraphError` naming the length when it is outside 1…block size.
    public func inspect(_ tokens: [Int32]) throws -> GPTInspection {
        guard (1...model.blockSize).contains(tokens.count) else {
            throw GraphError(op: "gpt inspect", shapes: [], expected: "1 to \(model.blockSize) tokens", message: "got \(tokens.count) tokens")
        }
        let plan = try self.plan(length: tokens.count)
        let outputs = try plan.run(GPTModel.forwardFeeds(model, tokens: tokens, batch: 1, sequence: tokens.count))
        return GPTInspection(model, tokens: tokens, outputs: outputs)
    }

    private func plan(length t: Int) throws -> any Plan {
        if let plan = plans[t] { return plan }
        let forward = try GPTModel.forward(model, batch: 1, sequence: t, attentionMaps: true,
                                           weightFormats: ModelQuantization.formats(of: parameters))
        let plan = try backend.compile(forward.graph, outputs: [forward.logits] + forward.attentionMaps, options: CompileOptions())
        for (name, value) in parameters { try plan.setVariable(name, value) }
        plans[t] = plan
        return plan
    }
}
