import BuiltProducts
import CLRuntime
import Testing

@Suite struct PoclWorkerPinningTests {
    @Test("CPU lists as the kernel writes them")
    func parsesCPULists() {
        #expect(PoclWorkerPinning.parseCPUList("0-1") == [0, 1])
        #expect(PoclWorkerPinning.parseCPUList("\t0-3,8,10-11") == [0, 1, 2, 3, 8, 10, 11])
        #expect(PoclWorkerPinning.parseCPUList("5") == [5])
        #expect(PoclWorkerPinning.parseCPUList("") == nil)
        #expect(PoclWorkerPinning.parseCPUList("3-1") == nil)
        #expect(PoclWorkerPinning.parseCPUList("a-b") == nil)
        #expect(PoclWorkerPinning.parseCPUList("1-2-3") == nil)
    }

    @Test("pins only where every worker's pin can succeed and the user has not chosen")
    func pinsOnlyWhereSafe() {
        let all: Set = [0, 1, 2, 3]
        #expect(PoclWorkerPinning.shouldPin(environment: [:], onlineCPUs: 4, allowedCPUs: all))
        #expect(!PoclWorkerPinning.shouldPin(environment: ["POCL_AFFINITY": "0"], onlineCPUs: 4, allowedCPUs: all))
        #expect(!PoclWorkerPinning.shouldPin(environment: ["POCL_AFFINITY": "1"], onlineCPUs: 4, allowedCPUs: all))
        // A cpuset or taskset without CPU 0: pocl would pin worker 0 to CPU 0.
        #expect(!PoclWorkerPinning.shouldPin(environment: [:], onlineCPUs: 4, allowedCPUs: [1, 2, 3]))
        #expect(!PoclWorkerPinning.shouldPin(environment: [:], onlineCPUs: 4, allowedCPUs: [2, 3, 4, 5]))
        // More workers than CPUs would pin one to a CPU that does not exist.
        #expect(!PoclWorkerPinning.shouldPin(environment: ["POCL_MAX_PTHREAD_COUNT": "8"], onlineCPUs: 4, allowedCPUs: all))
        #expect(PoclWorkerPinning.shouldPin(environment: ["POCL_MAX_PTHREAD_COUNT": "2"], onlineCPUs: 4, allowedCPUs: all))
        #expect(!PoclWorkerPinning.shouldPin(environment: [:], onlineCPUs: 1, allowedCPUs: [0]))
    }
}

#if os(Linux)
@Suite struct PoclWorkerPinningCommandTests {
    /// `clbench devices` on pocl: CLGraph pins where the whole machine is allowed, and a user's
    /// POCL_AFFINITY (here the opt-out, 0) is kept and reported.
    @Test func devicesReportsThePinningDecision() throws {
        let chosen = try BuiltProduct.run("clbench", ["devices"], environment: ["POCL_AFFINITY": "0"])
        try #require(chosen.status == 0, "\(chosen.errors)")
        guard chosen.output.contains("pocl workers") else { return }  // no pocl platform on this machine
        #expect(chosen.output.contains("POCL_AFFINITY=0 from the environment"))

        let decided = try BuiltProduct.run("clbench", ["devices"], removing: ["POCL_AFFINITY", "POCL_MAX_PTHREAD_COUNT"])
        try #require(decided.status == 0, "\(decided.errors)")
        // The child's affinity mask and CPUs are this process's.
        let expectPinned = PoclWorkerPinning.shouldPin(environment: [:], onlineCPUs: PoclWorkerPinning.onlineCPUs(),
                                                       allowedCPUs: PoclWorkerPinning.allowedCPUs() ?? [])
        #expect(decided.output.contains("CLGraph set POCL_AFFINITY=1") == expectPinned, "\(decided.output.suffix(200))")
        #expect(decided.output.contains("not pinned") == !expectPinned)
    }
}
#endif
