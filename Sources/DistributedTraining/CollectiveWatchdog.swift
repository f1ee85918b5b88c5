import Dispatch
import Foundation

/// Ends the process when a collective does not complete in time: a rank that died or stopped
/// leaves the others waiting in the all-reduce forever, and MPI itself has no timeout on it.
/// The message names the rank, the step and the limit; the exit status is 70.
final class CollectiveWatchdog: @unchecked Sendable {
    /// Seconds a collective may take.
    let timeout: Double
    let rank: Int
    private let lock = NSLock()
    private var generation = 0
    private var armed = false

    init(timeout: Double, rank: Int) {
        self.timeout = timeout
        self.rank = rank
    }

    /// Starts timing the collective of `step`.
    func arm(step: Int) {
        lock.lock()
        generation += 1
        armed = true
        let current = generation
        lock.unlock()
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [self] in
            lock.lock()
            let expired = armed && generation == current
            lock.unlock()
            guard expired else { return }
            let message = "error: rank \(rank): the gradient all-reduce of step \(step) did not complete within "
                + "\(Self.format(timeout)) s (--collective-timeout): another rank has died or stopped responding\n"
            FileHandle.standardError.write(Data(message.utf8))
            _exit(70)
        }
    }

    /// The collective completed.
    func disarm() {
        lock.lock()
        armed = false
        lock.unlock()
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}
