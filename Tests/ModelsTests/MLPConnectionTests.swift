import Models
import TensorGraph
import Testing

/// The drawn-connection rule (`clmodel next --connect`, the playground's Ctrl+click) on the reference backend.
@Suite struct MLPConnectionTests {
    @Test func aConnectionAddsTheStrengthAlongTheStrongestDrives() throws {
        let configuration = MLPConfiguration(vocabulary: 27, context: 3, embedding: 5, hidden: 23)
        let parameters = MLPModel.initialParameters(configuration, seed: 3)
        let inference = try MLPInference(configuration, vocabulary: .names, backend: ReferenceBackend(), parameters: parameters)
        let context = try inference.context(for: "ob")
        let before = Sampler(temperature: 1).distribution(try inference.logits(context: context))
        let drive = try inference.hiddenDrive(from: 15, position: 1)
        let connection = try inference.connect(from: 15, to: 4, strength: 2.5, position: 1, units: 7)
        // The 7 units of largest |drive|, by brute force over every unit.
        let expectedUnits = Set((0..<23).filter { h in (0..<23).filter { abs(drive[$0]) > abs(drive[h]) }.count < 7 })
        #expect(Set(connection.changes.map(\.unit)) == expectedUnits)
        let old = parameters["output.weight"]!.floats, new = try inference.parameter("output.weight").floats
        for index in old.indices {
            let (row, unit) = (index / 23, index % 23)
            let expected = row == 4 && expectedUnits.contains(unit) ? old[index] + (drive[unit] >= 0 ? 2.5 : -2.5) : old[index]
            #expect(new[index] == expected, "output.weight[\(row), \(unit)]")
        }
        let after = Sampler(temperature: 1).distribution(try inference.logits(context: context))
        #expect(after[4] > before[4], "the connection raises 'd' after \"ob\": \(before[4]) → \(after[4])")
        #expect(throws: GraphError.self) { try inference.connect(from: 27, to: 4, strength: 1) }
        #expect(throws: GraphError.self) { try inference.connect(from: 1, to: 4, strength: .nan) }
        #expect(try inference.parameter("output.weight").floats == new, "a refused connection changes nothing")
    }
}
