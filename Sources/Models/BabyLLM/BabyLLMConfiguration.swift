import TensorGraph

/// The sizes of a babyLLM (``BabyLLM``): a token embedding, a layer of neurons that each give one
/// number per token, causal means of those numbers over windows of several lengths mixed by a
/// learned softmax (in place of attention heads), two memory MLPs and a logit layer.
///
/// The original has a vocabulary of 4200 tokens, embedding 1024 and 10,000 neurons; here every
/// size is a setting and the vocabulary is character-level.
public struct BabyLLMConfiguration: Codable, Equatable, Sendable {
    /// Tokens the model reads and predicts.
    public var vocabulary: Int
    /// The longest sequence the model sees (training windows and the generation context).
    public var blockSize: Int
    /// Channels of the token embedding.
    public var embedding: Int
    /// Neurons of the neuron layer: each is a vector of `embedding` weights and gives one number per token.
    public var neurons: Int
    /// Hidden width of each memory MLP (neurons → memory → neurons).
    public var memory: Int
    /// The window lengths, in tokens, whose causal means the learned weighting mixes (a window
    /// longer than the context averages all the positions there are).
    public var windows: [Int]

    /// The window lengths of the original design.
    public static let defaultWindows = [1, 2, 4, 8, 16, 32, 64]

    /// Memberwise; by default embedding 64, 128 neurons, memory 256, windows 1 … 64.
    public init(vocabulary: Int, blockSize: Int, embedding: Int = 64, neurons: Int = 128, memory: Int = 256,
                windows: [Int] = BabyLLMConfiguration.defaultWindows) {
        self.vocabulary = vocabulary
        self.blockSize = blockSize
        self.embedding = embedding
        self.neurons = neurons
        self.memory = memory
        self.windows = windows
    }

    /// Checks the numbers fit together; the message names the offending ones.
    public func validate() throws {
        guard vocabulary > 0, blockSize > 0, embedding > 0, neurons > 0, memory > 0 else {
            throw GraphError(op: "babyllm", shapes: [], expected: "positive sizes",
                             message: "vocabulary \(vocabulary), block \(blockSize), embedding \(embedding), neurons \(neurons), memory \(memory)")
        }
        guard !windows.isEmpty, windows.allSatisfy({ $0 > 0 }) else {
            throw GraphError(op: "babyllm", shapes: [], expected: "at least one window, every length positive",
                             message: "windows \(windows)")
        }
    }

    /// Parameter names and shapes (PyTorch's convention, `weight` is [out, in]): those of ``BabyLLM``.
    public var parameterShapes: [(name: String, shape: Shape)] { BabyLLM(self).parameterShapes }

    /// How many numbers the model learns.
    public var parameterCount: Int { parameterShapes.reduce(0) { $0 + $1.shape.count } }
}

extension BabyLLMModel {
    /// The initial weights of ``BabyLLM/init(_:)``'s initialisers, drawn in parameter order from `seed`.
    public static func initialParameters(_ configuration: BabyLLMConfiguration, seed: UInt64 = 1337) -> [String: TensorData] {
        BabyLLM(configuration).initialValues(seed: seed)
    }
}
