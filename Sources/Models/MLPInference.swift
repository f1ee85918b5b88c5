import TensorGraph

/// Next-character distributions and sampling for a trained MLP, one context at a time.
public final class MLPInference {
    public let configuration: MLPConfiguration
    public let vocabulary: CharVocabulary
    private let plan: any Plan

    public init(_ configuration: MLPConfiguration, vocabulary: CharVocabulary, backend: any Backend,
                parameters: [String: TensorData]) throws {
        self.configuration = configuration
        self.vocabulary = vocabulary
        let model = try MLPModel.build(configuration, batch: 1)
        plan = try backend.compile(model.graph, outputs: [model.logits], options: CompileOptions())
        for (name, value) in parameters { try plan.setVariable(name, value) }
    }

    public func setParameter(_ name: String, _ value: TensorData) throws { try plan.setVariable(name, value) }
    public func parameter(_ name: String) throws -> TensorData { try plan.variable(name) }

    /// Logits for the next character after `context` token ids (exactly `configuration.context` of them).
    public func logits(context: [Int32]) throws -> [Float] {
        try plan.run(["contexts": TensorData(shape: [1, configuration.context], ints: context)])[0].floats
    }

    /// The context for a text prefix: its last `context` characters, padded on the left with the
    /// end token (index 0), as at the start of a name.
    public func context(for prefix: String) throws -> [Int32] {
        let tokens = try vocabulary.encode(prefix, source: "context")
        let padded = [Int32](repeating: 0, count: max(0, configuration.context - tokens.count)) + tokens
        return Array(padded.suffix(configuration.context))
    }

    /// Samples one name (until the end token or `maxLength` characters).
    public func sampleName(_ sampler: inout Sampler, maxLength: Int = 40) throws -> String {
        var context = [Int32](repeating: 0, count: configuration.context)
        var output: [Int32] = []
        while output.count < maxLength {
            let next = Int32(sampler.sample(try logits(context: context)))
            if next == 0 { break }
            output.append(next)
            context = Array(context.dropFirst()) + [next]
        }
        return vocabulary.decode(output)
    }
}
