import Foundation
import Models
import TensorGraph
import Testing

let namesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../../shared/data/names").standardized.path

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
    }
}
