import CLBackend
import CLRuntime
import Testing
import TensorGraph

/// The CPU launch that writes a cross-entropy loss, its gradient and the gradient's column sums
/// at once, against the separate launches and the reference backend.
@Suite struct CrossEntropyLossAndGradTests {
    struct Result {
        var loss: Float
        var grad: [Float]
        var columnSums: [Float]
        var flag: Int32
    }

    /// The fused launch, `runs` times on the same buffers (the completion counter must re-arm).
    func fused(_ x: [Float], _ targets: [Int32], rows: Int, classes: Int, ignore: Int32?, upstream: Float,
               runs: Int = 1) throws -> Result {
        let context = TestDevice.context
        let family = CrossEntropyFamily(environment: TestDevice.environment)
        let logits = try CLBuffer<Float>(context: context, values: x)
        let targetBuffer = try CLBuffer<Int32>(context: context, values: targets)
        let up = try CLBuffer<Float>(context: context, values: [upstream])
        let loss = try CLBuffer<Float>(context: context, values: [-1])
        let grad = try CLBuffer<Float>(context: context, count: rows * classes)
        let sums = try CLBuffer<Float>(context: context, count: classes)
        let flag = try CLBuffer<Int32>(context: context, values: [0])
        let steps = try family.encodeLossAndGrad(logits: logits, targets: targetBuffer, upstream: up, loss: loss, grad: grad,
                                                 columnSums: sums, rows: rows, classes: classes, ignoreIndex: ignore,
                                                 errorFlag: flag)
        #expect(steps.count == 1)
        for _ in 0..<runs {
            try loss.upload([-1])
            try RowOpsTestRun.run(steps)
        }
        return Result(loss: try loss.download()[0], grad: try grad.download(), columnSums: try sums.download(),
                      flag: try flag.download()[0])
    }

    /// The separate CPU launches (loss, then gradient) and the column sums on the host.
    func separate(_ x: [Float], _ targets: [Int32], rows: Int, classes: Int, ignore: Int32?, upstream: Float) throws -> Result {
        let context = TestDevice.context
        let family = CrossEntropyFamily(environment: TestDevice.environment(forcing: CrossEntropyFamily.Variant.cpu))
        let logits = try CLBuffer<Float>(context: context, values: x)
        let targetBuffer = try CLBuffer<Int32>(context: context, values: targets)
        let up = try CLBuffer<Float>(context: context, values: [upstream])
        let loss = try CLBuffer<Float>(context: context, count: 1)
        let grad = try CLBuffer<Float>(context: context, count: rows * classes)
        let flag = try CLBuffer<Int32>(context: context, values: [0])
        try RowOpsTestRun.run(try family.encode(logits: logits, targets: targetBuffer, loss: loss, rows: rows, classes: classes,
                                                ignoreIndex: ignore, errorFlag: flag)
            + family.encodeGrad(logits: logits, targets: targetBuffer, upstream: up, grad: grad, rows: rows, classes: classes,
                                ignoreIndex: ignore, errorFlag: flag))
        let g = try grad.download()
        let sums = (0..<classes).map { j in (0..<rows).reduce(Float(0)) { $0 + g[$1 * classes + j] } }
        return Result(loss: try loss.download()[0], grad: g, columnSums: sums, flag: try flag.download()[0])
    }

    @Test func matchesTheSeparateLaunches() throws {
        var random = TestRandom(seed: 61)
        for (rows, classes) in CrossEntropyFamilyTests.shapes {
            for ignore: Int32? in [nil, 0] {
                let x = random.floats(rows * classes, -5, 5)
                var targets = (0..<rows).map { _ in Int32(random.next() % UInt64(classes)) }
                if let ignore, rows > 2 { targets[1] = ignore }
                let comment = "[\(rows), \(classes)] ignore \(String(describing: ignore))"
                let expected = try separate(x, targets, rows: rows, classes: classes, ignore: ignore, upstream: 1.5)
                let actual = try fused(x, targets, rows: rows, classes: classes, ignore: ignore, upstream: 1.5, runs: 2)
                #expect(abs(actual.loss - expected.loss) <= 1e-6 * max(1, abs(expected.loss)), "loss \(comment)")
                #expect(nmse(expected.grad, actual.grad) < 1e-12, "grad \(comment)")
                #expect(nmse(expected.columnSums, actual.columnSums) < 1e-10, "column sums \(comment)")
                #expect(actual.flag == 0, "\(comment)")
            }
        }
    }

    @Test func badTargetsAreFlaggedAndLeftOut() throws {
        var random = TestRandom(seed: 62)
        let rows = 9, classes = 11
        let x = random.floats(rows * classes, -3, 3)
        let targets: [Int32] = [0, 1, 11, 3, 4, 5, -100, 10, 2]   // rows 2 and 6 are bad
        let expected = try separate(x, targets, rows: rows, classes: classes, ignore: nil, upstream: 1)
        let actual = try fused(x, targets, rows: rows, classes: classes, ignore: nil, upstream: 1)
        #expect(actual.flag == 7)
        #expect(abs(actual.loss - expected.loss) <= 1e-6)
        #expect(nmse(expected.grad, actual.grad) < 1e-12)
        #expect(actual.grad[2 * classes..<3 * classes].allSatisfy { $0 == 0 })
        // every row ignored: loss 0, gradient 0, no flag
        let ignored = try fused(x, [Int32](repeating: 4, count: rows), rows: rows, classes: classes, ignore: 4, upstream: 1)
        #expect(ignored.loss == 0 && ignored.flag == 0 && ignored.grad.allSatisfy { $0 == 0 })
    }

    /// Loss, gradient and bias gradient of a plan: one launch on the CPU variant, same numbers as the reference.
    @Test func aPlanWithLossAndGradientRunsThemAsOneLaunch() throws {
        let graph = Graph()
        let rows = 13, classes = 27
        let logits = try graph.input("logits", [rows, classes])
        let targets = try graph.input("targets", [rows], dtype: .i32)
        let loss = try crossEntropy(logits: logits, targets: targets)
        let grad = try crossEntropyGrad(logits: logits, targets: targets, upstream: graph.constant(1))
        let biasGrad = try grad.sum(axis: 0)
        // An upstream computed from the loss comes after it: that gradient keeps its own launch.
        let scaledGrad = try crossEntropyGrad(logits: logits, targets: targets, upstream: loss * 2)
        var random = TestRandom(seed: 63)
        let feeds = ["logits": TensorData(shape: [rows, classes], floats: random.floats(rows * classes, -4, 4)),
                     "targets": TensorData(shape: [rows], ints: (0..<rows).map { _ in Int32(random.next() % UInt64(classes)) })]
        let outputs = [loss, grad, biasGrad, scaledGrad]
        let reference = try ReferenceBackend().compile(graph, outputs: outputs, options: CompileOptions()).run(feeds)
        let plan = try OpenCLBackend(context: TestDevice.context).compilePlan(
            graph, outputs: outputs, options: CompileOptions(openCL: OpenCLOptions(forcing: CrossEntropyFamily.Variant.cpu)))
        // loss + grad + sums; then loss · 2 and the scaled grad
        #expect(plan.steps.count == 3, "\(plan.steps.map(\.label))")
        #expect(plan.steps[0].label.contains("column sums"), "\(plan.steps[0].label)")
        for _ in 0..<2 {
            for (index, (r, d)) in zip(reference, try plan.run(feeds)).enumerated() {
                #expect(nmse(r.floats, d.floats) < 1e-10, "output \(index)")
            }
        }
        // The GPU variant keeps separate launches (no cross-work-group completion counter there).
        let gpu = try OpenCLBackend(context: TestDevice.context).compilePlan(
            graph, outputs: outputs, options: CompileOptions(openCL: OpenCLOptions(forcing: CrossEntropyFamily.Variant.gpu)))
        #expect(gpu.steps.count > 2)
        for (r, d) in zip(reference, try gpu.run(feeds)) { #expect(nmse(r.floats, d.floats) < 1e-10) }
    }
}
