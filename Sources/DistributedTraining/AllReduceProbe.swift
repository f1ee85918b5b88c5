import Foundation

/// Times the gradient all-reduce on its own: `rounds` sums of a buffer of `count` floats, each
/// started right after a barrier so that no rank's compute is counted as communication.
/// Every rank of `group` calls it; returns the seconds of each round on this rank (a timeout
/// names the rounds step 0).
public func measureAllReduce(_ group: any ProcessGroup, count: Int, rounds: Int) throws -> [Double] {
    var buffer = [Float](repeating: 1, count: count)
    var seconds: [Double] = []
    let clock = ContinuousClock()
    for _ in 0..<rounds {
        try group.barrier()
        let start = clock.now
        try group.allReduceSum(&buffer, step: 0)
        let elapsed = clock.now - start
        seconds.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
    }
    return seconds
}
