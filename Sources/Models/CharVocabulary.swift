import Foundation

/// A character-level vocabulary: token ids are positions in a sorted list of characters.
public struct CharVocabulary: Equatable, Sendable, Codable {
    /// The characters, sorted; a character's id is its index.
    public let characters: [Character]
    private let ids: [Character: Int32]

    public init(characters: [Character]) {
        self.characters = characters
        self.ids = Dictionary(uniqueKeysWithValues: characters.enumerated().map { ($0.element, Int32($0.offset)) })
    }

    /// The vocabulary of every distinct character in `text`, sorted (so `\n` comes first).
    public init(covering text: String) {
        self.init(characters: Array(Set(text)).sorted())
    }

    /// The names vocabulary of the reference: `\n` (the end token) and a–z.
    public static let names = CharVocabulary(characters: ["\n"] + (UnicodeScalar("a").value...UnicodeScalar("z").value)
        .map { Character(UnicodeScalar($0)!) })

    public var count: Int { characters.count }

    public func id(of character: Character) -> Int32? { ids[character] }

    /// Token ids of `text`; a character outside the vocabulary is an error naming it and where it is.
    public func encode(_ text: String, source: String = "text") throws -> [Int32] {
        var tokens: [Int32] = []
        tokens.reserveCapacity(text.count)
        var line = 1, column = 1
        let lineEnd = ids["\n"]
        for character in text {
            // "\r\n" is one Character in Swift: a Windows line end, read as "\n".
            guard let id = ids[character] ?? (character == "\r\n" ? lineEnd : nil) else {
                throw DataError.characterOutsideVocabulary(character: character, source: source, line: line, column: column,
                                                           vocabulary: String(characters))
            }
            tokens.append(id)
            if character == "\n" || character == "\r\n" { line += 1; column = 1 } else { column += 1 }
        }
        return tokens
    }

    public func decode(_ tokens: [Int32]) -> String {
        String(tokens.map { characters[Int($0)] })
    }

    enum CodingKeys: String, CodingKey { case characters }

    public init(from decoder: Decoder) throws {
        let text = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .characters)
        self.init(characters: Array(text))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(String(characters), forKey: .characters)
    }
}

/// Problems with data files, each naming the file and what is wrong.
public enum DataError: Error, CustomStringConvertible, Equatable, Sendable {
    case characterOutsideVocabulary(character: Character, source: String, line: Int, column: Int, vocabulary: String)
    case unreadable(path: String, reason: String)
    case tooShort(source: String, tokens: Int, needed: Int)
    /// The names data is a folder of splits; `path` is a file.
    case namesFolderExpected(path: String)
    /// A name longer than the sequences hold: `source:line`, its length and the sequence length.
    case nameTooLong(source: String, line: Int, characters: Int, length: Int)

    public var description: String {
        switch self {
        case let .characterOutsideVocabulary(character, source, line, column, vocabulary):
            let shown = character.unicodeScalars.map { $0.properties.isWhitespace || $0.value < 32 ? "U+\(String($0.value, radix: 16, uppercase: true))" : String($0) }.joined()
            return "\(source):\(line):\(column): character '\(shown)' is not in the vocabulary (\(vocabulary.debugDescription))"
        case let .unreadable(path, reason):
            return "cannot read data file \(path): \(reason)"
        case let .tooShort(source, tokens, needed):
            return "\(source) has \(tokens) tokens; at least \(needed) are needed"
        case let .namesFolderExpected(path):
            return "\(path) is a file; the names data is a folder holding train.txt, val.txt and test.txt (one name per line)"
        case let .nameTooLong(source, line, characters, length):
            return "\(source):\(line): a name of \(characters) characters does not fit sequences of \(length) positions "
                + "(they hold names of up to \(length - 1))"
        }
    }
}
