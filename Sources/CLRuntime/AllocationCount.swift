import Foundation

/// A thread-safe running total of the bytes a context's buffers hold on the device.
final class AllocationCount: @unchecked Sendable {
    private let lock = NSLock()
    private var total = 0

    var bytes: Int {
        lock.lock()
        defer { lock.unlock() }
        return total
    }

    func add(_ bytes: Int) {
        lock.lock()
        total += bytes
        lock.unlock()
    }
}
