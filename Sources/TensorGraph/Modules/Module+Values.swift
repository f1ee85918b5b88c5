/// A module's weights as data: drawn from the initialisers, uploaded to a plan, read back.
extension Module {
    /// Starting values for every parameter, by name: each parameter's ``Initializer`` in
    /// declaration order, drawing from one ``XorShiftRandom`` seeded with `seed` (f32, whatever
    /// the declared dtype).
    public func initialValues(seed: UInt64 = 1337) -> [String: TensorData] {
        var random = XorShiftRandom(seed: seed)
        var values: [String: TensorData] = [:]
        for (name, parameter) in namedParameters() {
            let floats = parameter.initializer.values(count: parameter.shape.count, random: &random)
            values[name] = TensorData(shape: parameter.shape, floats: floats)
        }
        return values
    }

    /// Sets every parameter's variable in `plan` (compiled from the graph the module is declared
    /// in) to its value in `values`; values for other names are ignored.
    /// - Throws: ``PlanError/variableNotSet(name:)`` naming a parameter `values` lacks, and the
    ///   plan's errors for a wrong shape or dtype.
    public func load(_ values: [String: TensorData], into plan: any Plan) throws {
        for (name, _) in namedParameters() {
            guard let value = values[name] else { throw PlanError.variableNotSet(name: name) }
            try plan.setVariable(name, value)
        }
    }

    /// Every parameter's current value in `plan`, by name.
    public func values(in plan: any Plan) throws -> [String: TensorData] {
        var values: [String: TensorData] = [:]
        for (name, _) in namedParameters() { values[name] = try plan.variable(name) }
        return values
    }
}
