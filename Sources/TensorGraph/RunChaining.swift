/// The rules of ``Plan/start(_:chaining:)``'s `chaining` (input name → output index of the run
/// before), shared by the backends.
public enum RunChaining {
    /// Throws ``PlanError/invalidChain(input:detail:)`` unless every chained input exists, is not
    /// also fed, and matches its output's dtype and element count, and a run came before.
    public static func validate(_ chaining: [String: Int], inputs: [String: (shape: Shape, dtype: DType)],
                                outputs: [(shape: Shape, dtype: DType)], feeds: [String: TensorData], hasPreviousRun: Bool) throws {
        for (name, index) in chaining.sorted(by: { $0.key < $1.key }) {
            guard let input = inputs[name] else { throw PlanError.invalidChain(input: name, detail: "no input of the graph has this name") }
            guard feeds[name] == nil else { throw PlanError.invalidChain(input: name, detail: "it is also fed") }
            guard outputs.indices.contains(index) else {
                throw PlanError.invalidChain(input: name, detail: "output \(index) does not exist (the plan has \(outputs.count))")
            }
            let output = outputs[index]
            guard output.dtype == input.dtype, output.shape.count == input.shape.count else {
                throw PlanError.invalidChain(input: name, detail: "output \(index) is \(output.dtype.rawValue) \(output.shape), the input \(input.dtype.rawValue) \(input.shape)")
            }
            guard hasPreviousRun else { throw PlanError.invalidChain(input: name, detail: "no run came before this one") }
        }
    }
}
