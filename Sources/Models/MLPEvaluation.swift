import TensorGraph

/// Loss of a split under the reference's definition: the mean, over ⌊tokens/batch⌋ batches of
/// consecutive windows starting at the split's first character, of each batch's mean cross-entropy.
public final class MLPEvaluator {
    public let configuration: MLPConfiguration
    public let batchSize: Int
    private let plan: any Plan

    /// `weightFormats` names the weights that are quantized (``ModelQuantization/formats(of:)`` of a quantized checkpoint).
    public init(_ configuration: MLPConfiguration, batchSize: Int = 128, backend: any Backend,
                weightFormats: [String: QuantFormat] = [:]) throws {
        self.configuration = configuration
        self.batchSize = batchSize
        let model = try MLPModel.build(configuration, batch: batchSize, weightFormats: weightFormats)
        let targets = try model.graph.input("targets", [batchSize], dtype: .i32)
        let loss = try crossEntropy(logits: model.logits, targets: targets)
        plan = try backend.compile(model.graph, outputs: [loss], options: CompileOptions())
    }

    public func setParameters(_ parameters: [String: TensorData]) throws {
        for (name, value) in parameters { try plan.setVariable(name, value) }
    }

    public func loss(of stream: TokenStream) throws -> Double {
        let batches = try WindowBatches(stream: stream, context: configuration.context, batchSize: batchSize)
        guard batches.evaluationBatches > 0 else {
            throw DataError.tooShort(source: stream.source, tokens: stream.count, needed: batchSize)
        }
        var total = 0.0
        for index in 0..<batches.evaluationBatches {
            let batch = batches.batch(index)
            let result = try plan.run([
                "contexts": TensorData(shape: [batchSize, configuration.context], ints: batch.contexts),
                "targets": TensorData(shape: [batchSize], ints: batch.targets),
            ])
            total += Double(result[0].floats[0])
        }
        return total / Double(batches.evaluationBatches)
    }
}
