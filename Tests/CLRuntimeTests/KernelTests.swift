import CLRuntime
import Testing

@Suite struct KernelTests {
    let context = RuntimeTestDevice.context

    @Test(arguments: [1, 7, 257, 4099])
    func kernelResultsMatchElementByElement(n: Int) throws {
        let program = try context.program(family: "runtime-test", source: runtimeTestSource)
        let kernel = try program.kernel("scale_add")
        let x = (0..<n).map { Float($0 % 17) - 8 }
        let xBuffer = try CLBuffer<Float>(context: context, values: x)
        // One guard element past n must stay untouched: the kernel bounds-checks.
        let yBuffer = try CLBuffer<Float>(context: context, values: [Float](repeating: 42, count: n + 1))
        try kernel.setArguments(xBuffer, yBuffer, Float(2.5), Int32(n))
        try context.enqueue(kernel, global: [(n + 63) / 64 * 64])
        let y = try yBuffer.download()
        for i in 0..<n { #expect(y[i] == 2.5 * x[i] + Float(i), "element \(i)") }
        #expect(y[n] == 42)
    }

    @Test func integerKernel() throws {
        let kernel = try context.program(family: "runtime-test", source: runtimeTestSource).kernel("fill_index")
        let out = try CLBuffer<Int32>(context: context, count: 13)
        try kernel.setArguments(out, Int32(13))
        try context.enqueue(kernel, global: [13], local: [1])
        #expect(try out.download() == (0..<13).map { Int32($0 * 3 - 7) })
    }

    @Test func syntaxErrorCarriesTheCompilerLog() throws {
        let broken = "__kernel void broken(__global float *x) { x[0] = undefined_name + ; }"
        let error = #expect(throws: CLError.self) {
            _ = try context.program(family: "broken-family", source: broken, options: "-DPROBE=1")
        }
        guard case let .buildFailed(family, options, _, log)? = error else {
            Issue.record("expected buildFailed, got \(String(describing: error))")
            return
        }
        #expect(family == "broken-family")
        #expect(options == "-DPROBE=1")
        #expect(log.contains("undefined_name") || log.contains("undeclared"))
        #expect(error!.description.contains("Build log"))
        #expect(error!.description.contains("broken-family"))
    }

    @Test func unknownKernelNameIsAnError() throws {
        let program = try context.program(family: "runtime-test", source: runtimeTestSource)
        #expect(try program.kernelNames().sorted() == ["fill_index", "scale_add"])
        #expect(throws: CLError.self) { _ = try program.kernel("nope") }
    }

    @Test func profilingTimesAreOrderedAndPositive() throws {
        let kernel = try context.program(family: "runtime-test", source: runtimeTestSource).kernel("scale_add")
        let n = 1 << 16
        let x = try CLBuffer<Float>(context: context, count: n)
        let y = try CLBuffer<Float>(context: context, count: n)
        try kernel.setArguments(x, y, Float(1), Int32(n))
        let event = try #require(try context.enqueue(kernel, global: [n], event: true))
        let times = try event.profilingTimes()
        #expect(times.queued > 0)
        #expect(times.queued <= times.submitted)
        #expect(times.submitted <= times.started)
        #expect(times.started < times.ended)
        #expect(times.durationMilliseconds > 0)
    }
}
