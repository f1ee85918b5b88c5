import TensorGraph

/// A "drawn" connection in a names MLP: make context character X push the output towards Y
/// without training, by raising `output.weight[Y, h]` for the hidden units `h` that X drives most.
public struct MLPConnection: Sendable, Equatable {
    /// One changed entry of `output.weight`.
    public struct Change: Sendable, Equatable {
        /// The hidden unit (column of `output.weight`).
        public let unit: Int
        /// The value before and after.
        public let old: Float, new: Float
    }

    /// The context character's token.
    public let from: Int32
    /// The output character's token.
    public let to: Int32
    /// The context position whose embedding block of `hidden.weight` the drive is measured through.
    public let position: Int
    /// What was added to each chosen unit's weight (with the sign of the unit's drive).
    public let strength: Float
    /// The changed weights, strongest drive first.
    public let changes: [Change]
}

extension MLPInference {
    /// How strongly token `from` in context `position` drives each hidden unit before the tanh:
    /// `hidden.weight[:, position block] · embedding[from]`.
    public func hiddenDrive(from token: Int32, position: Int) throws -> [Float] {
        let c = configuration
        let embedding = try parameter("embedding.weight").floats
        let hiddenWeight = try parameter("hidden.weight").floats
        let e = c.embedding, fanIn = c.context * e, offset = position * e
        var drive = [Float](repeating: 0, count: c.hidden)
        for h in 0..<c.hidden {
            for k in 0..<e { drive[h] += hiddenWeight[h * fanIn + offset + k] * embedding[Int(token) * e + k] }
        }
        return drive
    }

    /// Draws a connection from `from` to `to`: for the `units` hidden units that `from` (in context
    /// `position`, the last one by default) drives most, adds `strength` with the sign of that drive
    /// to `output.weight[to, h]` (tanh keeps the drive's sign, so the push goes towards `to`).
    /// - Throws: `GraphError` when a token or the position is outside the model.
    @discardableResult
    public func connect(from: Int32, to: Int32, strength: Float, position: Int? = nil, units: Int = 16) throws -> MLPConnection {
        let c = configuration
        let position = position ?? c.context - 1
        guard (0..<Int32(c.vocabulary)).contains(from), (0..<Int32(c.vocabulary)).contains(to), (0..<c.context).contains(position),
              units >= 1, strength.isFinite else {
            throw GraphError(op: "connect", shapes: [], expected: "tokens in 0..<\(c.vocabulary), a position in 0..<\(c.context), units ≥ 1, a finite strength",
                             message: "got from \(from), to \(to), position \(position), units \(units), strength \(strength)")
        }
        let drive = try hiddenDrive(from: from, position: position)
        let strongest = drive.indices.sorted { abs(drive[$0]) > abs(drive[$1]) }.prefix(units)
        let output = try parameter("output.weight")
        var values = output.floats
        var changes: [MLPConnection.Change] = []
        for h in strongest {
            let index = Int(to) * c.hidden + h
            let old = values[index]
            values[index] += strength * (drive[h] >= 0 ? 1 : -1)
            changes.append(.init(unit: h, old: old, new: values[index]))
        }
        try setParameter("output.weight", TensorData(shape: output.shape, floats: values))
        return MLPConnection(from: from, to: to, position: position, strength: strength, changes: changes)
    }
}
