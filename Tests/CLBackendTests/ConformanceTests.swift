import CLBackend
import GraphConformance
import TensorGraph
import Testing

/// The library's op × shape table, on the selected device, once per kernel variant.
@Suite(.serialized) struct ConformanceTests {
    static let backend = OpenCLBackend(context: TestDevice.context)

    @Test(arguments: OpenCLBackend.variantCoverageOptions().map(\.label))
    func everyOpMatchesTheReference(pass: String) throws {
        var options = try #require(OpenCLBackend.variantCoverageOptions().first { $0.label == pass }).options
        options.guardElements = 64
        // The default pass covers the large cases too; variant passes skip them to keep CI short.
        let cases = ConformanceTable.cases(includeLarge: pass == "default")
        let results = ConformanceRunner.run(cases, on: Self.backend, options: options)
        #expect(results.count == cases.count)
        for result in results where !result.passed {
            Issue.record("[\(pass)] \(result.op) \(result.label): \(result.error ?? "nmse \(result.nmse) > bound \(result.bound)")")
        }
    }
}
