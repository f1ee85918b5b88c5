import Foundation
import Testing
import TensorGraph

/// One input of a finite-difference check.
enum FDInput {
    /// f32, uniform in `lo..<hi`, differentiated.
    case f32(String, Shape, Double, Double)
    /// Fixed data (i32 indices/targets, or f32 held constant), not differentiated.
    case fixed(String, TensorData)

    var name: String {
        switch self {
        case .f32(let n, _, _, _), .fixed(let n, _): return n
        }
    }
}

/// The worst mismatch between an analytic gradient and central differences.
struct FDReport: CustomStringConvertible {
    var worst: Double = 0          // max over elements of |a − fd| / (atol + rtol·|fd|)
    var detail = ""
    var passed: Bool { worst <= 1 }
    var description: String { detail }
}

/// Builds `output = build(inputs)`, the loss `Σ output ⊙ R` with a fixed random R, and checks
/// `gradients(of: loss, wrt: every f32 input)` on the reference backend against central differences
/// `(L(x + h) − L(x − h)) / 2h` for every element (the reference accumulates in double, storage is f32).
@discardableResult
func checkGradients(_ label: String, _ inputs: [FDInput], h: Float = 1e-2, atol: Double = 2e-4, rtol: Double = 2e-3,
                    seed: UInt64 = 7, sourceLocation: SourceLocation = #_sourceLocation,
                    build: ([Tensor]) throws -> Tensor) throws -> FDReport {
    var rng = XorShiftRandom(seed: seed)
    let graph = Graph()
    var tensors: [Tensor] = [], feeds: [String: TensorData] = [:], wrt: [Tensor] = [], wrtNames: [String] = []
    for input in inputs {
        switch input {
        case .f32(let name, let shape, let lo, let hi):
            let t = try graph.input(name, shape)
            tensors.append(t); wrt.append(t); wrtNames.append(name)
            feeds[name] = TensorData(shape: shape, floats: rng.uniformArray(count: shape.count, lo: lo, hi: hi))
        case .fixed(let name, let data):
            tensors.append(try graph.input(name, data.shape, dtype: data.dtype))
            feeds[name] = data
        }
    }
    let output = try build(tensors)
    let r = try graph.constant(rng.uniformArray(count: output.shape.count, lo: -1, hi: 1), shape: [output.shape.count])
    let loss = try (output.reshape([output.shape.count]) * r).sum(axis: 0)
    let grads = try gradients(of: loss, wrt: wrt)
    let backend = ReferenceBackend()
    let analytic = try backend.compile(graph, outputs: grads, options: CompileOptions()).run(feeds)
    let lossPlan = try backend.compile(graph, outputs: [loss], options: CompileOptions())

    var report = FDReport()
    for (k, name) in wrtNames.enumerated() {
        let base = feeds[name]!.floats
        let a = analytic[k].floats
        #expect(analytic[k].shape == feeds[name]!.shape, "\(label): gradient of \(name) has shape \(analytic[k].shape)",
                sourceLocation: sourceLocation)
        for i in 0..<base.count {
            var f = feeds
            var plus = base; plus[i] += h
            var minus = base; minus[i] -= h
            f[name] = TensorData(shape: feeds[name]!.shape, floats: plus)
            let lp = Double(try lossPlan.run(f)[0].floats[0])
            f[name] = TensorData(shape: feeds[name]!.shape, floats: minus)
            let lm = Double(try lossPlan.run(f)[0].floats[0])
            let fd = (lp - lm) / (Double(plus[i]) - Double(minus[i]))
            let ratio = abs(Double(a[i]) - fd) / (atol + rtol * abs(fd))
            if ratio > report.worst {
                report.worst = ratio
                report.detail = "\(label): d/d\(name)[\(i)] analytic \(a[i]) vs finite difference \(fd)"
            }
        }
    }
    if ProcessInfo.processInfo.environment["FD_VERBOSE"] != nil { print(String(format: "FD %.3f  %@", report.worst, report.detail)) }
    #expect(report.passed, "\(report)", sourceLocation: sourceLocation)
    return report
}

/// i32 data.
func ints(_ shape: Shape, _ values: [Int32]) -> TensorData { TensorData(shape: shape, ints: values) }
