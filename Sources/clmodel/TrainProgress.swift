import Foundation

/// A live progress line on stderr (`\r`-rewritten, only when stderr is a terminal): step, loss,
/// learning rate, ms/step and the estimated time left.
struct TrainProgress {
    let totalSteps: Int
    let enabled: Bool

    init(totalSteps: Int, quiet: Bool) {
        self.totalSteps = totalSteps
        self.enabled = !quiet && isatty(STDERR_FILENO) != 0
    }

    func show(step: Int, loss: Float, learningRate: Float, millisecondsPerStep: Double) {
        guard enabled else { return }
        let left = Double(totalSteps - step) * millisecondsPerStep / 1e3
        let eta = left >= 60 ? String(format: "%dm%02ds", Int(left) / 60, Int(left) % 60) : String(format: "%.0fs", left)
        let text = String(format: "\r[%d/%d] loss %.4f | lr %.2e | %.3f ms/step | ETA %@   ",
                          step, totalSteps, loss, learningRate, millisecondsPerStep, eta)
        FileHandle.standardError.write(Data(text.utf8))
    }

    func clear() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
