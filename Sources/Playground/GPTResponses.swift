import CLBackend
import Hummingbird

/// Every layer's and head's attention map for a prompt, and the next-token logits.
public struct GPTInspectResponse: ResponseCodable, Sendable {
    /// The prompt's tokens as labels (`⏎` for the end token).
    public let tokens: [String]
    /// `maps[layer][head][query][key]`.
    public let maps: [[[[Float]]]]
    public let logits: [Float]
    /// Every token's label, in token order.
    public let labels: [String]
}

/// The most likely next tokens under the sampling settings.
public struct GPTDistributionResponse: ResponseCodable, Sendable {
    public struct Entry: Codable, Sendable {
        public let token: Int
        public let label: String
        /// After temperature, top-k, top-p and min-p (0 for a filtered token).
        public let probability: Double
        /// The plain softmax (temperature 1, no filter).
        public let softmax: Double
    }

    public let top: [Entry]
    /// Tokens the filters keep.
    public let kept: Int
}

/// One line of the `/api/gpt/generate` stream (newline-delimited JSON): a token, or the end.
public struct GPTGenerateEvent: Codable, Sendable {
    public var token: String?
    public var done: Bool?
    public var text: String?
    public var error: String?
}

/// The per-kernel trace of one forward pass over the prompt.
public struct GPTTraceResponse: ResponseCodable, Sendable {
    public let positions: Int
    public let trace: PlanTrace
}
