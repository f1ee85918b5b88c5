/// `POST /api/gpt/inspect` and `/api/gpt/trace`: a prompt (a names model puts the end token in front).
struct GPTPromptRequest: PlaygroundRequest {
    static let fields: Set<String> = ["prompt"]
    var prompt: String
}

/// The sampling settings, as ``Models/Sampler`` takes them (absent: off, temperature 1).
struct SamplingSettings: Codable, Sendable {
    var temperature: Double?
    var topK: Int?
    var topP: Double?
    var minP: Double?
}

/// `POST /api/gpt/distribution`: the next-token distribution after `prompt` under the settings, its `count` most likely tokens.
struct GPTDistributionRequest: PlaygroundRequest {
    static let fields: Set<String> = ["prompt", "temperature", "topK", "topP", "minP", "count"]
    var prompt: String
    var temperature: Double?
    var topK: Int?
    var topP: Double?
    var minP: Double?
    var count: Int?
}

/// `POST /api/gpt/generate`: up to `tokens` tokens after `prompt`, streamed as they come.
struct GPTGenerateRequest: PlaygroundRequest {
    static let fields: Set<String> = ["prompt", "temperature", "topK", "topP", "minP", "tokens", "seed"]
    var prompt: String
    var temperature: Double?
    var topK: Int?
    var topP: Double?
    var minP: Double?
    var tokens: Int?
    var seed: UInt64?
}
