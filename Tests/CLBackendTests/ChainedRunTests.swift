import CLBackend
import Foundation
import Testing
import TensorGraph

/// Runs begun with `Plan.start(_:chaining:)`: outputs collected later, inputs taken on the device
/// from the run before, and the chains a plan refuses.
@Suite struct ChainedRunTests {
    static func backend(_ name: String) -> any Backend {
        name == "opencl" ? OpenCLBackend(context: TestDevice.context) : ReferenceBackend()
    }

    /// y = 2x + 1 and argmax(y) over rows of 3; x ← y chained three times gives 8x + 7 after the
    /// fourth run, and the i32 arg-max chains into an i32 input of the same element count.
    @Test(arguments: ["reference", "opencl"])
    func chainedInputsTakeTheLastRunsOutputs(backendName: String) throws {
        let graph = Graph()
        let x = try graph.input("x", [2, 3])
        let index = try graph.input("index", [2, 1], dtype: .i32)
        let y = try x * graph.constant(2) + graph.constant(1)
        let table = try graph.constant((0..<6).map(Float.init), shape: [3, 2])
        let looked = try embedding(table, index)
        let plan = try Self.backend(backendName).compile(graph, outputs: [y, try y.argmax(), looked], options: CompileOptions())
        let x0: [Float] = [0.5, -1, 0.25, 3, 2, -4]
        let first = try plan.start(["x": TensorData(shape: [2, 3], floats: x0), "index": TensorData(shape: [2, 1], ints: [0, 0])],
                                   chaining: [:])
        var runs = [first]
        for _ in 0..<3 { runs.append(try plan.start([:], chaining: ["x": 0, "index": 1])) }
        // Collected newest first: every run keeps its own outputs.
        let last = try runs[3].outputs()
        let expected = x0.map { 8 * (2 * $0 + 1) + 7 }
        #expect(last[0].floats == expected)
        #expect(last[1].ints == [0, 0])
        let firstOutputs = try runs[0].outputs()
        #expect(firstOutputs[0].floats == x0.map { 2 * $0 + 1 })
        #expect(firstOutputs[1].ints == [0, 0])
        #expect(try runs[1].outputs()[2].floats == [0, 1, 0, 1])  // index chained from run 0's arg-max [0, 0]
        #expect(try runs[0].outputs() == firstOutputs)
        // A plain run afterwards sees the chained state untouched.
        #expect(try plan.run(["x": TensorData(shape: [2, 3], floats: x0), "index": TensorData(shape: [2, 1], ints: [2, 1])])[2].floats
                == [4, 5, 2, 3])
    }

    @Test(arguments: ["reference", "opencl"])
    func chainsThatDoNotFitAreRefused(backendName: String) throws {
        let graph = Graph()
        let x = try graph.input("x", [4])
        let z = try graph.input("z", [4], dtype: .i32)
        let y = try x.tanh()
        let looked = try embedding(try graph.constant([1, 2, 3, 4, 5], shape: [5, 1]), z)
        let plan = try Self.backend(backendName).compile(graph, outputs: [y, try y.sum(axis: 0), try x.reshape([2, 2]).argmax(), looked],
                                                          options: CompileOptions())
        let feeds = ["x": TensorData(shape: [4], floats: [1, 2, 3, 4]), "z": TensorData(shape: [4], ints: [0, 1, 2, 3])]
        func refused(_ chaining: [String: Int], _ feeds: [String: TensorData], _ phrase: String) {
            do {
                _ = try plan.start(feeds, chaining: chaining)
                Issue.record("chain \(chaining) was accepted")
            } catch let error as PlanError {
                guard case .invalidChain = error else { Issue.record("\(error)"); return }
                #expect(error.description.contains(phrase), "\(error)")
            } catch { Issue.record("\(error)") }
        }
        refused(["x": 0], ["z": feeds["z"]!], "no run came before")
        _ = try plan.start(feeds, chaining: [:]).outputs()
        refused(["w": 0], feeds, "no input")
        refused(["x": 0], feeds, "also fed")
        refused(["x": 4], ["z": feeds["z"]!], "output 4 does not exist")
        refused(["x": 1], ["z": feeds["z"]!], "output 1 is f32 []")
        refused(["z": 0], ["x": feeds["x"]!], "output 0 is f32")
        refused(["z": 2], ["x": feeds["x"]!], "output 2 is i32 [2]")
        // Missing feeds are still reported as such.
        #expect(throws: PlanError.missingInput(name: "x")) { _ = try plan.start(["z": feeds["z"]!], chaining: [:]) }
    }
}
