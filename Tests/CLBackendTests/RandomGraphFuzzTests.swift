import CLBackend
import GraphConformance
import TensorGraph
import Testing

/// Random graphs (forward and backward) on the device against the reference.
///
/// 64 seeds × 5 dimension variants = 320 graphs, 8 to a plan. pocl builds each new program for
/// about a second and CI starts with empty caches, so the variants carry the coverage cheaply:
/// a seed's variants have the same ops with other sizes of the same kind, and the generated
/// elementwise kernels take sizes as arguments, so the 5 variants of a batch mostly reuse the
/// programs its first variant built.
@Suite struct RandomGraphFuzzTests {
    @Test func randomGraphsMatchTheReference() {
        // Guard regions around every output catch out-of-bounds writes of fused kernels and views.
        let runner = FuzzRunner(backend: OpenCLBackend(context: TestDevice.context), options: CompileOptions(guardElements: 16),
                                graphsPerPlan: 8, shrinkChecks: 40)
        let seeds = (0..<64).map { 20_000 + UInt64($0) }
        let summary = runner.run(seeds: seeds, dimensionVariants: 5)
        #expect(summary.graphs == 320)
        #expect(summary.outputsChecked >= summary.graphs)
        for failure in summary.failures { Issue.record(Comment(rawValue: failure.description)) }
    }
}
