import Hummingbird

/// What the MLP view draws for one context, computed after the device's forward pass.
public struct MLPView: ResponseCodable, Sendable {
    /// One hidden unit shown: among the `shownUnits` largest `max_y |activation · output.weight[y, unit]|`.
    public struct Unit: Codable, Sendable {
        public let unit: Int
        /// tanh of its pre-activation for this context.
        public let activation: Float
        /// What each context position adds to its pre-activation: `hidden.weight[unit, block p] · embedding[context[p]]`.
        public let drive: [Float]
        /// `output.weight[y, unit]` for every output character y.
        public let outgoing: [Float]
    }

    /// The context text and its padded tokens as labels (`⏎` for the end token).
    public let context: String
    public let contextLabels: [String]
    /// Every output character's label, in token order.
    public let labels: [String]
    /// The device's logits and their softmax.
    public let logits: [Float]
    public let probabilities: [Double]
    public let units: [Unit]
    /// Edits that undo can take back.
    public let edits: Int
}

/// The answer to an edit (set, connect, undo, reset): what changed, the distribution before it, and the view after.
public struct MLPEditResponse: ResponseCodable, Sendable {
    /// One changed entry of a parameter.
    public struct Change: Codable, Sendable {
        public let name: String
        public let index: [Int]
        public let old: Float
        public let new: Float
    }

    public let changes: [Change]
    public let before: [Double]
    public let view: MLPView
}

/// Names sampled with the current weights.
public struct MLPSampleResponse: ResponseCodable, Sendable {
    public let names: [String]
}

/// Where a checkpoint was saved.
public struct SaveResponse: ResponseCodable, Sendable {
    public let path: String
}
