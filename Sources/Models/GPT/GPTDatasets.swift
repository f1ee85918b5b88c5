import Foundation

/// The two datasets the GPT trains on, read into train / validation / test sequence sources.
public struct GPTDataset: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// `names/{train,val,test}.txt`: each name its own sequence (block = longest name + 1).
        case names
        /// `tinyshakespeare/input.txt`: one stream; the first 90% trains, the last 10% is both
        /// validation and test (nanoGPT's split).
        case shakespeare
    }

    /// A split's name, as the names folder's files are called.
    public enum Split: String, Sendable, CaseIterable {
        case train, val, test
    }

    public let kind: Kind
    /// Names: `\n` and a–z; Shakespeare: the text's 65 characters, sorted.
    public let vocabulary: CharVocabulary
    /// The splits as sequence sources (Shakespeare's test is its validation split).
    public let train: any SequenceSource, validation: any SequenceSource, test: any SequenceSource

    /// Reads `path` (the names folder; for Shakespeare `input.txt` or the folder holding it).
    /// - Parameter block: the sequence length for Shakespeare (names use the longest name of all
    ///   three splits + 1).
    public init(_ kind: Kind, path: String, block: Int = 64) throws {
        self.kind = kind
        switch kind {
        case .names:
            vocabulary = .names
            let splits = try Split.allCases.map { try TokenStream(namesFolder: path, split: $0.rawValue) }
            let length = NameSequences.length(fitting: splits)
            let sources = try splits.map { try NameSequences(stream: $0, length: length) }
            (train, validation, test) = (sources[0], sources[1], sources[2])
        case .shakespeare:
            let (text, file) = try Self.readText(path)
            (vocabulary, train, validation) = try Self.textSplits(text, file: file, vocabulary: CharVocabulary(covering: text), block: block)
            test = validation
        }
    }

    /// One split of the data for a model of sequence length `block` and vocabulary `vocabulary`
    /// (evaluation): only that split is read and must fit. A names split with a name longer than
    /// `block − 1` is an error naming its line; the other splits are not read.
    /// - Throws: ``DataError`` for unreadable data, or text with a character outside `vocabulary`.
    public static func split(_ split: Split, of kind: Kind, path: String, block: Int,
                             vocabulary: CharVocabulary) throws -> any SequenceSource {
        switch kind {
        case .names:
            return try NameSequences(stream: TokenStream(contentsOf: try DataFile.namesSplit(path, split.rawValue), vocabulary: vocabulary),
                                     length: block)
        case .shakespeare:
            let (text, file) = try readText(path)
            let (_, train, validation) = try textSplits(text, file: file, vocabulary: vocabulary, block: block)
            return split == .train ? train : validation
        }
    }

    /// The text of `input.txt`: `path` itself, or `path/input.txt` when `path` is a folder.
    private static func readText(_ path: String) throws -> (text: String, file: String) {
        let file = DataFile.isFolder(path) ? (path as NSString).appendingPathComponent("input.txt") : path
        return (try DataFile.text(file), file)
    }

    /// nanoGPT's split of one text: the first 90% trains, the last 10% validates.
    private static func textSplits(_ text: String, file: String, vocabulary: CharVocabulary,
                                   block: Int) throws -> (CharVocabulary, StreamWindows, StreamWindows) {
        let tokens = try vocabulary.encode(text, source: file)
        let cut = tokens.count * 9 / 10
        return (vocabulary,
                try StreamWindows(stream: TokenStream(tokens: Array(tokens[..<cut]), source: file + " (first 90%)"), length: block),
                try StreamWindows(stream: TokenStream(tokens: Array(tokens[cut...]), source: file + " (last 10%)"), length: block))
    }

    /// The sequence length of every split.
    public var sequenceLength: Int { train.length }
}
