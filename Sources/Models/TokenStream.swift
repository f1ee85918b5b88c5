import Foundation

/// A split of a text dataset read as one stream of token ids.
public struct TokenStream: Sendable {
    public let tokens: [Int32]
    public let source: String

    public init(tokens: [Int32], source: String) {
        self.tokens = tokens
        self.source = source
    }

    /// Reads `path` as UTF-8 (Windows line ends read as `\n`) and encodes it with `vocabulary`.
    public init(contentsOf path: String, vocabulary: CharVocabulary) throws {
        self.init(tokens: try vocabulary.encode(try DataFile.text(path), source: path), source: path)
    }

    /// Reads split `split` (`train`, `val` or `test`) of the names folder `folder`.
    public init(namesFolder folder: String, split: String) throws {
        try self.init(contentsOf: try DataFile.namesSplit(folder, split), vocabulary: .names)
    }

    public var count: Int { tokens.count }
}

/// Batches of consecutive sliding windows over a token stream, wrapping around at the end:
/// window i has context tokens i, i+1, …, i+context−1 and target token i+context (all mod count).
public struct WindowBatches: Sendable {
    public let stream: TokenStream
    public let context: Int
    public let batchSize: Int

    public init(stream: TokenStream, context: Int, batchSize: Int) throws {
        guard stream.count > context else {
            throw DataError.tooShort(source: stream.source, tokens: stream.count, needed: context + 1)
        }
        self.stream = stream
        self.context = context
        self.batchSize = batchSize
    }

    /// Batches that cover the stream once without wrapping a batch start: ⌊tokens / batch⌋.
    public var evaluationBatches: Int { stream.count / batchSize }

    /// Batch `index`: windows index·batch ..< (index+1)·batch. Contexts [batch, context], targets [batch].
    public func batch(_ index: Int) -> (contexts: [Int32], targets: [Int32]) {
        let n = stream.count
        var contexts = [Int32](repeating: 0, count: batchSize * context)
        var targets = [Int32](repeating: 0, count: batchSize)
        let start = (index * batchSize) % n
        for row in 0..<batchSize {
            let window = (start + row) % n
            for position in 0..<context { contexts[row * context + position] = stream.tokens[(window + position) % n] }
            targets[row] = stream.tokens[(window + context) % n]
        }
        return (contexts, targets)
    }
}
