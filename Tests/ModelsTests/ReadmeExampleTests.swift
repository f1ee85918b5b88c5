import CLBackend
import Foundation
import Models
import TensorGraph
import Testing

/// The README's library example, copied verbatim between the markers below, and a check that the
/// README still shows exactly this code.
@Suite struct ReadmeExampleTests {
    @Test func theExampleTrainsSavesAndRunsOnBothBackends() throws {
        // README example begins
        /// Two layers: 3 features → 8 tanh units → 2 classes.
        struct TwoLayerNet: Module {
            var hidden = Linear(3, 8)
            var output = Linear(8, 2)

            func callAsFunction(_ x: Tensor) throws -> Tensor {
                try output(hidden(x).tanh())
            }
        }

        // Training: forward pass, loss, gradients and the AdamW update in one graph, compiled once.
        let graph = Graph()
        let model = TwoLayerNet()
        try model.declare(in: graph)   // variables hidden.weight [8, 3], hidden.bias [8], output.weight [2, 8], output.bias [2]
        let x = try graph.input("x", [4, 3]), labels = try graph.input("labels", [4], dtype: .i32)
        let loss = try crossEntropy(logits: model(x), targets: labels)
        let optimizer = try Optimizer(.adamW(AdamWConfiguration(weightDecay: 0)), learningRate: .constant(0.05),
                                      minimizing: loss, parameters: model.parameters())
        try optimizer.compile(on: ReferenceBackend(), initialValues: model.initialValues(seed: 1))
        let points = TensorData(shape: [4, 3], floats: [0, 0, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1])
        let feeds = ["x": points, "labels": TensorData(shape: [4], ints: [0, 1, 1, 0])]   // XOR of the first two
        let losses = try (0..<60).map { _ in try optimizer.step(feeds) }
        print("loss \(losses[0]) → \(losses[59])")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("two-layer.safetensors").path
        try SafeTensors.write(parameters: optimizer.parameterValues(), to: path)

        // Inference: the same module in a new graph, the saved weights, run on both backends.
        let inference = Graph()
        let trained = TwoLayerNet()
        try trained.declare(in: inference)
        let probabilities = try trained(inference.input("x", [4, 3])).softmax()
        let weights = try SafeTensors.readParameters(path, expectedShapes: trained.parameterShapes)
        var results: [[Float]] = []
        for backend in [ReferenceBackend(), try OpenCLBackend()] as [any Backend] {
            let plan = try backend.compile(inference, outputs: [probabilities], options: CompileOptions())
            try trained.load(weights, into: plan)
            results.append(try plan.run(["x": points])[0].floats)
            print(backend.name, results.last!)
        }
        // README example ends
        #expect(losses[59] < 0.1 * losses[0], "the loss falls: \(losses)")
        let (reference, device) = (results[0], results[1])
        for (r, d) in zip(reference, device) { #expect(abs(r - d) < 1e-5, "reference \(reference) vs OpenCL \(device)") }
        for (row, label) in [0, 1, 1, 0].enumerated() { #expect(reference[2 * row + label] > 0.9, "point \(row) is classified: \(reference)") }
    }

    @Test func theReadmeShowsThisExample() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "## Using the library").dropFirst().first)
        let block = try #require(section.components(separatedBy: "```swift\n").dropFirst().first?.components(separatedBy: "```").first)
        let shown = Self.normalised(block).filter { !$0.hasPrefix("import ") }
        let region = try #require(source.components(separatedBy: "// README example begins\n").dropFirst().first?
            .components(separatedBy: "// README example ends").first)
        #expect(shown == Self.normalised(region), "README.md's library example and this test's copy differ")
        #expect(Self.normalised(block).filter { $0.hasPrefix("import ") } == ["import CLBackend", "import Foundation", "import Models", "import TensorGraph"])
    }

    /// The lines without their indentation, blank lines dropped.
    static func normalised(_ text: String) -> [String] {
        text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
