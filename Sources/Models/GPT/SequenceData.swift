import TensorGraph

/// Fixed-length (input, target) token sequences for a GPT: random examples for training, a fixed
/// list for evaluation. Targets of −1 are padding, ignored by the loss.
public protocol SequenceSource: Sendable {
    /// Tokens per example (the model's sequence length).
    var length: Int { get }
    /// A training example drawn with `random`.
    func randomExample(_ random: inout XorShiftRandom) -> (inputs: [Int32], targets: [Int32])
    /// How many evaluation examples there are.
    var evaluationCount: Int { get }
    /// Evaluation example `index`.
    func evaluationExample(_ index: Int) -> (inputs: [Int32], targets: [Int32])
}

/// The padding target the loss skips.
public let ignoredTarget: Int32 = -1

/// One name per sequence, as makemore's CharDataset: inputs `[end, c₁, …, cₙ, end…]`, targets
/// `[c₁, …, cₙ, end, −1…]`, where `end` (token 0, `\n`) both starts and ends a name.
public struct NameSequences: SequenceSource {
    /// Each name's tokens, without end tokens.
    public let names: [[Int32]]
    public let length: Int
    /// The token that starts and ends a name (`\n`, id 0).
    public let endToken: Int32

    /// - Parameters:
    ///   - stream: a split read as one stream, names separated by `endToken` (one per line).
    ///   - length: the sequence length: the longest name (of every split) + 1.
    /// - Throws: ``DataError/nameTooLong(source:line:characters:length:)`` naming the first name
    ///   that does not fit, by its line.
    public init(stream: TokenStream, length: Int, endToken: Int32 = 0) throws {
        var names: [[Int32]] = [], current: [Int32] = []
        var line = 1
        func finishName() throws {
            if current.count + 1 > length {
                throw DataError.nameTooLong(source: stream.source, line: line, characters: current.count, length: length)
            }
            if !current.isEmpty { names.append(current) }
            current = []
        }
        for token in stream.tokens {
            if token == endToken {
                try finishName()
                line += 1
            } else {
                current.append(token)
            }
        }
        try finishName()
        guard !names.isEmpty else { throw DataError.tooShort(source: stream.source, tokens: stream.count, needed: 2) }
        self.names = names
        self.length = length
        self.endToken = endToken
    }

    /// The sequence length that fits every name of these streams: the longest + 1.
    public static func length(fitting streams: [TokenStream], endToken: Int32 = 0) -> Int {
        var longest = 0, run = 0
        for stream in streams {
            for token in stream.tokens {
                if token == endToken { run = 0 } else { run += 1; longest = max(longest, run) }
            }
            run = 0
        }
        return longest + 1
    }

    public func randomExample(_ random: inout XorShiftRandom) -> (inputs: [Int32], targets: [Int32]) {
        example(Int(random.next()) % names.count)
    }

    public var evaluationCount: Int { names.count }

    public func evaluationExample(_ index: Int) -> (inputs: [Int32], targets: [Int32]) { example(index) }

    func example(_ index: Int) -> (inputs: [Int32], targets: [Int32]) {
        let name = names[index]
        var inputs = [Int32](repeating: endToken, count: length), targets = [Int32](repeating: ignoredTarget, count: length)
        for (i, token) in name.enumerated() {
            inputs[i + 1] = token
            targets[i] = token
        }
        targets[name.count] = endToken
        return (inputs, targets)
    }
}

/// Windows of a continuous token stream (Tiny Shakespeare): training windows start anywhere;
/// evaluation covers the stream once with non-overlapping windows from its start.
public struct StreamWindows: SequenceSource {
    public let stream: TokenStream
    public let length: Int

    public init(stream: TokenStream, length: Int) throws {
        guard stream.count > length else { throw DataError.tooShort(source: stream.source, tokens: stream.count, needed: length + 1) }
        self.stream = stream
        self.length = length
    }

    public func randomExample(_ random: inout XorShiftRandom) -> (inputs: [Int32], targets: [Int32]) {
        window(Int(random.next()) % (stream.count - length))
    }

    public var evaluationCount: Int { (stream.count - 1) / length }

    public func evaluationExample(_ index: Int) -> (inputs: [Int32], targets: [Int32]) { window(index * length) }

    func window(_ start: Int) -> (inputs: [Int32], targets: [Int32]) {
        (Array(stream.tokens[start..<(start + length)]), Array(stream.tokens[(start + 1)...(start + length)]))
    }
}

/// Batches of a ``SequenceSource``, flattened to `[batch·length]` rows as the GPT graphs take them.
public struct SequenceBatch: Sendable {
    /// Input tokens `[batch·length]`.
    public var inputs: [Int32]
    /// Target tokens `[batch·length]` (−1: padding, ignored).
    public var targets: [Int32]

    /// A batch from flattened inputs and targets.
    public init(inputs: [Int32], targets: [Int32]) {
        self.inputs = inputs
        self.targets = targets
    }

    /// Targets that count (not −1).
    public var counted: Int { targets.reduce(0) { $0 + ($1 == ignoredTarget ? 0 : 1) } }

    /// Training batch for `step`: examples drawn from a generator seeded by `seed` and `step`, so a
    /// resumed run sees the same batches.
    public static func training(_ source: some SequenceSource, batch: Int, step: Int, seed: UInt64) -> SequenceBatch {
        var random = XorShiftRandom(seed: seed &+ UInt64(step) &* 0x9E37_79B9_7F4A_7C15)
        var result = SequenceBatch(inputs: [], targets: [])
        for _ in 0..<batch {
            let example = source.randomExample(&random)
            result.inputs += example.inputs
            result.targets += example.targets
        }
        return result
    }

    /// Evaluation batch `index` (examples `index·batch ..<`); rows past the last example are padding.
    public static func evaluation(_ source: some SequenceSource, batch: Int, index: Int) -> SequenceBatch {
        var result = SequenceBatch(inputs: [], targets: [])
        for row in 0..<batch {
            let i = index * batch + row
            if i < source.evaluationCount {
                let example = source.evaluationExample(i)
                result.inputs += example.inputs
                result.targets += example.targets
            } else {
                result.inputs += [Int32](repeating: 0, count: source.length)
                result.targets += [Int32](repeating: ignoredTarget, count: source.length)
            }
        }
        return result
    }
}

extension SequenceBatch {
    /// The token-weighted mean of `loss` over every evaluation example of `source`, in batches of
    /// `batchSize` (``evaluation(_:batch:index:)``; `loss` returns a batch's mean over its counted targets).
    public static func meanLoss(of source: some SequenceSource, batchSize: Int,
                                loss: (SequenceBatch) throws -> Float) rethrows -> Double {
        var total = 0.0, counted = 0
        let batches = (source.evaluationCount + batchSize - 1) / batchSize
        for index in 0..<batches {
            let batch = evaluation(source, batch: batchSize, index: index)
            total += Double(try loss(batch)) * Double(batch.counted)
            counted += batch.counted
        }
        return total / Double(max(counted, 1))
    }
}
