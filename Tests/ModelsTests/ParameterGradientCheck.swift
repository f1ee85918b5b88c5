import Models
import TensorGraph

/// Checks a model's analytic parameter gradients against central differences of its loss, one
/// element at a time: `(L(w + h) − L(w − h)) / 2h` with `h` 1e-2, each ratio
/// `|analytic − fd| / (2e-4 + 2e-2·|fd|)`. Returns the worst ratio and a line naming its element
/// (≤ 1 passes); `lossPlan`'s variables are left as `parameters`.
/// - Parameters:
///   - analytic: the gradients of `names`, in order, at `parameters`.
///   - elements: the flat indices to check of a parameter with that many elements.
func worstParameterGradientMismatch(names: [String], analytic: [TensorData], parameters: [String: TensorData],
                                    lossPlan: any Plan, feeds: [String: TensorData],
                                    elements: (_ name: String, _ count: Int) -> [Int]) throws -> (worst: Double, detail: String) {
    var worst = 0.0, detail = ""
    let h: Float = 1e-2
    for (k, name) in names.enumerated() {
        let base = parameters[name]!.floats
        for i in elements(name, base.count) {
            func loss(_ delta: Float) throws -> Double {
                var moved = base
                moved[i] += delta
                try lossPlan.setVariable(name, TensorData(shape: parameters[name]!.shape, floats: moved))
                return Double(try lossPlan.run(feeds)[0].floats[0])
            }
            let fd = (try loss(h) - loss(-h)) / Double(2 * h)
            try lossPlan.setVariable(name, parameters[name]!)
            let a = Double(analytic[k].floats[i])
            let ratio = abs(a - fd) / (2e-4 + 2e-2 * abs(fd))
            if ratio > worst { (worst, detail) = (ratio, "d/d\(name)[\(i)] analytic \(a) vs finite difference \(fd)") }
        }
    }
    return (worst, detail)
}
