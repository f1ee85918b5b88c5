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
