import Foundation
import Models
import TensorGraph
import Testing

/// The repository's copy of the data sets (`Sources/Models/Data`).
let repositoryData = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../Sources/Models/Data").standardized.path
/// The repository's names splits.
let namesDirectory = repositoryData + "/names"

@Suite struct DataTests {
    @Test func namesVocabularyAndStream() throws {
        let vocabulary = CharVocabulary.names
        #expect(vocabulary.count == 27 && vocabulary.characters[0] == "\n" && vocabulary.characters[26] == "z")
        #expect(try vocabulary.encode("emma\n") == [5, 13, 13, 1, 0])
        #expect(vocabulary.decode([5, 13, 13, 1, 0]) == "emma\n")
        let error = #expect(throws: DataError.self) { _ = try vocabulary.encode("ab\ncD", source: "x.txt") }
        #expect("\(error!)".contains("x.txt:2:2") && "\(error!)".contains("'D'"))
    }

    @Test func windowsWrapAround() throws {
        let stream = TokenStream(tokens: [0, 1, 2, 3, 4], source: "t")
        let batches = try WindowBatches(stream: stream, context: 3, batchSize: 2)
        let first = batches.batch(0)
        #expect(first.contexts == [0, 1, 2, 1, 2, 3] && first.targets == [3, 4])
        let wrapped = batches.batch(2)  // windows 4 and 0 (mod 5)
        #expect(wrapped.contexts == [4, 0, 1, 0, 1, 2] && wrapped.targets == [2, 3])
        #expect(batches.evaluationBatches == 2)
        #expect(throws: DataError.self) { _ = try WindowBatches(stream: TokenStream(tokens: [1, 2], source: "s"), context: 3, batchSize: 1) }
    }

    @Test func namesSplitsLoad() throws {
        let train = try TokenStream(contentsOf: namesDirectory + "/train.txt", vocabulary: .names)
        #expect(train.count == 213_796)
        #expect(throws: DataError.self) { _ = try TokenStream(contentsOf: namesDirectory + "/missing.txt", vocabulary: .names) }
        let lines = try ["train", "val", "test"].map { try String(contentsOfFile: namesDirectory + "/\($0).txt", encoding: .utf8).split(separator: "\n").count }
        #expect(lines == [30_032, 1_000, 1_000])
    }

    /// The data ships as a resource of the Models target: the built bundle holds the repository's files.
    @Test func bundledDataIsTheRepositorysCopy() throws {
        let bundled = try BundledData.folder()
        #expect(bundled != repositoryData, "found the source tree, not the resource bundle beside the executable")
        for file in ["names/train.txt", "names/val.txt", "names/test.txt", "tinyshakespeare/input.txt"] {
            #expect(FileManager.default.contents(atPath: bundled + "/" + file) == FileManager.default.contents(atPath: repositoryData + "/" + file),
                    "\(file) differs between \(bundled) and \(repositoryData)")
        }
        #expect(try BundledData.namesFolder() == bundled + "/names")
        #expect(try BundledData.tinyShakespeare() == bundled + "/tinyshakespeare/input.txt")
    }

    @Test func tinyShakespeareLoadsWithItsVocabularyAndSplit() throws {
        let data = try GPTDataset(.shakespeare, path: try BundledData.tinyShakespeare(), block: 64)
        #expect(data.vocabulary.count == 65)
        #expect(data.validation.evaluationCount == (111_540 - 1) / 64, "the last 10% of 1,115,394 characters in windows of 64")
    }

    /// A Windows line end (`\r\n`, one Swift Character) reads as `\n`; other characters outside the
    /// vocabulary are named with their line and column.
    @Test func windowsLineEndsEncodeAsTheEndToken() throws {
        #expect(try CharVocabulary.names.encode("ab\r\nc\r\n") == CharVocabulary.names.encode("ab\nc\n"))
        let error = #expect(throws: DataError.self) { _ = try CharVocabulary.names.encode("ab\r\ncD", source: "w.txt") }
        #expect("\(error!)".contains("w.txt:2:2") && "\(error!)".contains("'D'"), "\(error!)")
    }
}
