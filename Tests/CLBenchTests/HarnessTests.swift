import CLBenchKit
import CLRuntime
import Foundation
import Testing

enum BenchTestDevice {
    static let context: CLContext = {
        do { return try CLContext(selecting: nil) } catch { fatalError("no OpenCL device for tests: \(error)") }
    }()
    /// A made-up peak so tests do not spend time probing.
    static let peak = DevicePeak(device: "test", driver: "test", fp32GFLOPS: 100, fp32MedianGFLOPS: 100, copyGBps: 10,
                                 readGBps: 10, writeGBps: 10, bandwidthBufferBytes: 1, bestLayout: "chunked",
                                 measuredAt: Date(timeIntervalSince1970: 0))
}

@Suite struct HarnessTests {
    let context = BenchTestDevice.context

    private func harness() -> BenchmarkHarness {
        var timing = TimingOptions()
        timing.warmup = 1
        timing.iterations = 3
        timing.iterationsPerRound = 1
        return BenchmarkHarness(context: context, peak: BenchTestDevice.peak, timing: timing)
    }

    /// A case that runs nothing on the device and reports a fixed validation outcome.
    private func fakeCase(_ name: String, nmse: Double, validations: UnsafeMutablePointer<Int>? = nil) -> BenchmarkCase {
        BenchmarkCase(variant: name, description: "fake", flops: 1e6, bytes: 1e6, roofline: .compute,
                      enqueue: { [] },
                      validate: {
                          validations?.pointee += 1
                          return ValidationOutcome(nmse: nmse, maxAbsError: nmse, bound: 1e-7)
                      })
    }

    @Test func validationRunsBeforeAndAfterTimingAndFailuresAreMarked() throws {
        let counter = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        defer { counter.deallocate() }
        counter.pointee = 0
        let results = try harness().measure([fakeCase("good", nmse: 1e-12, validations: counter), fakeCase("bad", nmse: 0.5)])
        #expect(counter.pointee == 2)  // before and after timing
        #expect(results[0].valid && results[0].failure == nil)
        #expect(!results[1].valid)
        #expect(results[1].failure?.contains("nmse") == true)
        let report = BenchmarkReport(benchmark: "fake", device: DeviceSummary(info: context.device.info, peak: BenchTestDevice.peak),
                                     params: [:], results: results)
        #expect(BenchmarkReport.exitStatus([report]) == 1)
        var fixed = report
        fixed.results.removeLast()
        #expect(BenchmarkReport.exitStatus([fixed]) == 0)
    }

    @Test func aCaseThatThrowsIsReportedNotCrashed() throws {
        let throwing = BenchmarkCase(variant: "throws", description: "", flops: 1, bytes: 1, roofline: .memory,
                                     enqueue: { throw CLError.noDevice }, validate: { ValidationOutcome(nmse: 0, maxAbsError: 0, bound: 1) })
        let results = try harness().measure([fakeCase("ok", nmse: 0), throwing])
        #expect(results.count == 2)
        #expect(results[0].valid)
        #expect(!results[1].valid && results[1].failure != nil)
    }

    @Test func validationOutcomeComparesWithFloat64() {
        let exact = ValidationOutcome(reference: [1, 2, 3], actual: [1, 2, 3], bound: 1e-9)
        #expect(exact.passed && exact.nmse == 0)
        let off = ValidationOutcome(reference: [1, 2, 3], actual: [1, 2, 4], bound: 1e-9)
        #expect(!off.passed && off.maxAbsError == 1)
        let nan = ValidationOutcome(reference: [1, 2], actual: [1, .nan], bound: 1)
        #expect(!nan.passed)
        let short = ValidationOutcome(reference: [1, 2], actual: [1], bound: 1)
        #expect(!short.passed)
    }
}
