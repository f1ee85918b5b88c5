import CLBackend
import CLRuntime
import Foundation
import Testing

@Suite struct EmbeddingFamilyTests {
    /// (count, vocab, dim): dims below/at/above 16 and the 256-float CPU chunk, primes, one larger.
    static let shapes: [(Int, Int, Int)] = [(1, 1, 1), (7, 3, 7), (13, 10, 16), (5, 29, 257), (33, 65, 13),
                                            (3, 7, 600), (300, 50, 64), (2, 5, 1000)]

    @Test(arguments: [1, 2])
    func gatherMatchesReference(variant: Int) throws {
        let family = EmbeddingFamily(environment: TestDevice.environment(forcing: EmbeddingFamily.Variant.number(variant)))
        var random = TestRandom(seed: 41)
        let context = TestDevice.context
        for (count, vocab, dim) in Self.shapes {
            let tableValues = random.floats(vocab * dim)
            let indexValues = (0..<count).map { _ in Int32(random.next() % UInt64(vocab)) }
            let table = try CLBuffer<Float>(context: context, values: tableValues)
            let indices = try CLBuffer<Int32>(context: context, values: indexValues)
            let flag = try CLBuffer<Int32>(context: context, values: [0])
            let output = try RowOpsGuarded<Float>(count: count * dim, sentinel: 31337)
            let steps = try family.encode(table: table, indices: indices, output: output.view, count: count,
                                          vocab: vocab, dim: dim, errorFlag: flag)
            #expect(steps.allSatisfy { $0.variant.hasPrefix("embedding.\(variant)") })
            try RowOpsTestRun.run(steps)
            let comment = "variant \(variant) count \(count) vocab \(vocab) dim \(dim)"
            var expected = [Float]()
            for index in indexValues { expected += tableValues[(Int(index) * dim)..<(Int(index) * dim + dim)] }
            // A copy: exact equality, not an NMSE bound.
            #expect(try output.read(comment) == expected, "\(comment)")
            #expect(try flag.download() == [0], "\(comment)")
            withExtendedLifetime((table, indices)) {}
        }
    }

    @Test(arguments: [1, 2])
    func badIndicesWriteZeroRowsAndFlag(variant: Int) throws {
        let family = EmbeddingFamily(environment: TestDevice.environment(forcing: EmbeddingFamily.Variant.number(variant)))
        let context = TestDevice.context
        let vocab = 4, dim = 300, count = 6
        var random = TestRandom(seed: 42)
        let tableValues = random.floats(vocab * dim)
        let indexValues: [Int32] = [0, -1, 3, 4, 2, Int32.max]
        let table = try CLBuffer<Float>(context: context, values: tableValues)
        let indices = try CLBuffer<Int32>(context: context, values: indexValues)
        let flag = try CLBuffer<Int32>(context: context, values: [0])
        let output = try RowOpsGuarded<Float>(count: count * dim, sentinel: 31337)
        try RowOpsTestRun.run(try family.encode(table: table, indices: indices, output: output.view, count: count,
                                                vocab: vocab, dim: dim, errorFlag: flag))
        var expected = [Float]()
        for index in indexValues {
            expected += (0..<vocab).contains(Int(index))
                ? Array(tableValues[(Int(index) * dim)..<(Int(index) * dim + dim)]) : [Float](repeating: 0, count: dim)
        }
        #expect(try output.read("bad indices variant \(variant)") == expected)
        #expect(try flag.download() == [6], "largest bad position + 1")
        withExtendedLifetime((table, indices)) {}
    }
}
