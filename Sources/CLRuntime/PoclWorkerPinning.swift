import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Pins pocl's CPU worker threads to cores (`POCL_AFFINITY=1`) unless the user decided otherwise.
///
/// pocl's pthread driver runs kernels on one worker thread per core, and the workers sleep between
/// commands. Unpinned, both woken workers can land on one core, and a kernel on a 2-core VM then
/// runs at the speed of one worker (as with `POCL_MAX_PTHREAD_COUNT=1`). Pinned, pocl puts worker
/// *i* on CPU *i*: small products (the MLP's) run faster in median, large SGEMM is unchanged
/// (Benchmarks/results/pocl-3.1-intel-xeon-2cu/runtime/README.md).
///
/// A pin to a CPU outside the process's affinity mask fails (newer pocl releases abort on a failed
/// pin), so this only sets the variable where every pin can succeed: the process may run on
/// CPUs 0 … n−1 of the n online ones, and `POCL_MAX_PTHREAD_COUNT` (if set)
/// asks for no more workers than that. Any `POCL_AFFINITY` already in the environment, 0 included,
/// is left alone. Child processes inherit the variable. Other OpenCL drivers ignore it.
public enum PoclWorkerPinning {
    /// The pocl environment variable this sets.
    public static let variable = "POCL_AFFINITY"

    /// Whether to set `POCL_AFFINITY=1`, given the environment, the number of online CPUs and
    /// the CPUs this process may run on.
    public static func shouldPin(environment: [String: String], onlineCPUs: Int, allowedCPUs: Set<Int>) -> Bool {
        guard environment[variable] == nil, onlineCPUs > 1 else { return false }
        if let requested = environment["POCL_MAX_PTHREAD_COUNT"].flatMap({ Int($0) }), requested > onlineCPUs {
            return false
        }
        return (0..<onlineCPUs).allSatisfy(allowedCPUs.contains)
    }

    /// Sets `POCL_AFFINITY=1` when ``shouldPin(environment:onlineCPUs:allowedCPUs:)`` says so.
    /// Must run before the first OpenCL call (pocl reads it when it starts its workers).
    /// Returns whether it set the variable.
    @discardableResult
    static func applyDefault() -> Bool {
        #if os(Linux)
        guard let allowed = allowedCPUs(),
              shouldPin(environment: ProcessInfo.processInfo.environment, onlineCPUs: onlineCPUs(), allowedCPUs: allowed)
        else { return false }
        return setenv(variable, "1", 0) == 0
        #else
        return false
        #endif
    }

    /// Parses a kernel CPU list ("0-3,8,10-11", as in `Cpus_allowed_list`); nil when malformed.
    public static func parseCPUList(_ text: String) -> Set<Int>? {
        var cpus = Set<Int>()
        for part in text.split(separator: ",") {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            guard (1...2).contains(bounds.count), let low = bounds[0], let high = bounds.last!, low <= high else { return nil }
            cpus.formUnion(low...high)
        }
        return cpus.isEmpty ? nil : cpus
    }

    #if os(Linux)
    /// The number of online CPUs (0 when unknown).
    public static func onlineCPUs() -> Int { max(0, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// The CPUs this process may run on, from /proc/self/status (the affinity mask that
    /// sched_getaffinity returns; that call needs _GNU_SOURCE, which Swift's Glibc lacks).
    public static func allowedCPUs() -> Set<Int>? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") })
        else { return nil }
        return parseCPUList(String(line.dropFirst("Cpus_allowed_list:".count)))
    }
    #endif
}
