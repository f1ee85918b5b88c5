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

    public let kind: Kind
    /// Names: `\n` and a–z; Shakespeare: the text's 65 characters, sorted.
    public let vocabulary: CharVocabulary
    /// The splits as sequence sources (Shakespeare's test is its validation split).
    public let train: any SequenceSource, validation: any SequenceSource, test: any SequenceSource

    /// Reads `path` (the names folder; for Shakespeare `input.txt` or the folder holding it).
    /// - Parameter block: the sequence length for Shakespeare (names use the longest name + 1).
    public init(_ kind: Kind, path: String, block: Int = 64) throws {
        self.kind = kind
        switch kind {
        case .names:
            vocabulary = .names
            let splits = try ["train", "val", "test"].map { try TokenStream(contentsOf: "\(path)/\($0).txt", vocabulary: .names) }
            let length = NameSequences.length(fitting: splits)
            let sources = try splits.map { try NameSequences(stream: $0, length: length) }
            (train, validation, test) = (sources[0], sources[1], sources[2])
        case .shakespeare:
            var isFolder: ObjCBool = false
            let file = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue ? "\(path)/input.txt" : path
            guard let data = FileManager.default.contents(atPath: file) else {
                throw DataError.unreadable(path: file, reason: FileManager.default.fileExists(atPath: file) ? "permission denied" : "no such file")
            }
            guard let text = String(data: data, encoding: .utf8) else { throw DataError.unreadable(path: file, reason: "not valid UTF-8") }
            vocabulary = CharVocabulary(covering: text)
            let tokens = try vocabulary.encode(text, source: file)
            let cut = tokens.count * 9 / 10
            train = try StreamWindows(stream: TokenStream(tokens: Array(tokens[..<cut]), source: file + " (first 90%)"), length: block)
            validation = try StreamWindows(stream: TokenStream(tokens: Array(tokens[cut...]), source: file + " (last 10%)"), length: block)
            test = validation
        }
    }

    /// The sequence length of every split.
    public var sequenceLength: Int { train.length }
}
