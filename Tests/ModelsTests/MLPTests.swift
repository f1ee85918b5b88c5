import CLBackend
import Models
import TensorGraph
import Testing

@Suite struct MLPTests {
    /// The reference initialisation gives validation loss 3.2873 (issue 7), on both backends.
    @Test func initialValidationLossMatchesTheReference() throws {
        let configuration = MLPConfiguration()
        let parameters = MLPModel.initialParameters(configuration)
        let val = try TokenStream(contentsOf: namesDirectory + "/val.txt", vocabulary: .names)
        let evaluator = try MLPEvaluator(configuration, backend: try OpenCLBackend())
        try evaluator.setParameters(parameters)
        let loss = try evaluator.loss(of: val)
        print("initial validation loss \(loss)")
        #expect(abs(loss - 3.2873) < 0.00005, "initial validation loss \(loss)")
    }
}
