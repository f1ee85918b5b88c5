import CLBackend
import Foundation
import Models
import TensorGraph

/// A GPT being looked into: plans per prompt length for the attention maps (``GPTInspector``) and
/// for traced forward passes, and a generator for streaming tokens. The ``PlaygroundState`` actor
/// owns it, so its plans run one request at a time.
final class GPTSession {
    let configuration: GPTConfiguration
    let vocabulary: CharVocabulary
    let checkpointPath: String
    private let parameters: [String: TensorData]
    private let backend: any Backend
    private let inspector: GPTInspector
    private var generator: GPTGenerator?
    private var tracedPlans: [Int: any Plan] = [:]

    init(_ configuration: GPTConfiguration, checkpoint: Checkpoint, path: String, backend: any Backend) {
        self.configuration = configuration
        vocabulary = checkpoint.vocabulary
        checkpointPath = path
        parameters = checkpoint.parameters
        self.backend = backend
        inspector = GPTInspector(configuration, parameters: checkpoint.parameters, backend: backend)
    }

    func label(_ token: Int) -> String { vocabulary.characters[token] == "\n" ? "⏎" : String(vocabulary.characters[token]) }

    /// A prompt's tokens (a names model's start with the end token, as every name does in training), checked against the vocabulary and, with `fitting`, the block size.
    func promptTokens(_ text: String, fitting: Bool = true) throws -> [Int32] {
        var tokens: [Int32]
        do {
            tokens = try vocabulary.encode(text, source: "prompt")
        } catch let error as DataError {
            throw PlaygroundError.badRequest("'prompt': \(error)")
        }
        if vocabulary == .names, let end = vocabulary.id(of: "\n"), tokens.first != end { tokens.insert(end, at: 0) }
        guard !tokens.isEmpty else { throw PlaygroundError.badRequest("'prompt' is empty (this model has no end token to start from)") }
        if fitting, tokens.count > configuration.blockSize {
            throw PlaygroundError.badRequest("'prompt' must have 1 to \(configuration.blockSize) tokens (the block size), got \(tokens.count)")
        }
        return tokens
    }

    /// A sampler of the settings, refusing values out of range with the API's parameter names.
    static func sampler(temperature: Double?, topK: Int?, topP: Double?, minP: Double?, seed: UInt64 = 42) throws -> Sampler {
        let sampler = Sampler(seed: seed, temperature: temperature ?? 1, topK: topK, topP: topP, minP: minP)
        do {
            try sampler.validate()
        } catch let error as Sampler.SettingError {
            let names = ["--temperature": "temperature", "--top-k": "topK", "--top-p": "topP", "--min-p": "minP"]
            throw PlaygroundError.badRequest("'\(names[error.setting] ?? error.setting)' must be \(error.requirement), got \(error.value)")
        }
        return sampler
    }

    func inspect(_ prompt: String) throws -> GPTInspectResponse {
        let inspection = try inspector.inspect(try promptTokens(prompt))
        return GPTInspectResponse(tokens: inspection.tokens.map { label(Int($0)) }, maps: inspection.maps,
                                  logits: inspection.nextLogits, labels: (0..<configuration.vocabulary).map(label))
    }

    func distribution(_ request: GPTDistributionRequest) throws -> GPTDistributionResponse {
        let sampler = try Self.sampler(temperature: request.temperature, topK: request.topK, topP: request.topP, minP: request.minP)
        let count = request.count ?? 10
        guard (1...configuration.vocabulary).contains(count) else {
            throw PlaygroundError.badRequest("'count' must be in 1...\(configuration.vocabulary) (the vocabulary size), got \(count)")
        }
        let logits = try inspector.inspect(try promptTokens(request.prompt)).nextLogits
        let filtered = sampler.distribution(logits), plain = Sampler(temperature: 1).distribution(logits)
        let order = plain.indices.sorted { plain[$0] > plain[$1] || (plain[$0] == plain[$1] && $0 < $1) }.prefix(count)
        return GPTDistributionResponse(top: order.map { .init(token: $0, label: label($0), probability: filtered[$0], softmax: plain[$0]) },
                                       kept: filtered.filter { $0 > 0 }.count)
    }

    /// Checks a generate request and returns what to run: the prompt's tokens, the sampler and the token count.
    func prepareGeneration(_ request: GPTGenerateRequest) throws -> (prompt: [Int32], sampler: Sampler, tokens: Int) {
        let sampler = try Self.sampler(temperature: request.temperature, topK: request.topK, topP: request.topP, minP: request.minP,
                                       seed: request.seed ?? 42)
        let tokens = request.tokens ?? 50
        guard (1...1000).contains(tokens) else { throw PlaygroundError.badRequest("'tokens' must be in 1...1000, got \(tokens)") }
        return (try promptTokens(request.prompt, fitting: false), sampler, tokens)
    }

    /// Generates, handing each token's label to `onToken` as it comes; stops after the end token of a names model.
    func generate(prompt: [Int32], sampler: Sampler, tokens: Int, onToken: (String) -> Void) throws -> String {
        if generator == nil { generator = try GPTGenerator(configuration, parameters: parameters, backend: backend) }
        var sampler = sampler
        let stop = vocabulary == .names ? vocabulary.id(of: "\n") : nil
        let generated = try generator!.generate(prompt: prompt, maxTokens: tokens, sampler: &sampler, stopToken: stop) {
            onToken(String(self.vocabulary.characters[Int($0)]))
        }
        return vocabulary.decode(generated)
    }

    /// The per-kernel timings of one forward pass over the prompt (a plan with tracing, kept per length).
    func trace(_ prompt: String) throws -> GPTTraceResponse {
        let tokens = try promptTokens(prompt)
        let t = tokens.count
        if tracedPlans[t] == nil {
            let forward = try GPTModel.forward(configuration, batch: 1, sequence: t, weightFormats: ModelQuantization.formats(of: parameters))
            let plan = try backend.compile(forward.graph, outputs: [forward.logits], options: CompileOptions(trace: true))
            guard plan is CLPlan else {
                throw PlaygroundError.badRequest("the \(type(of: backend)) launches no kernels, so there is no trace; serve on an OpenCL device")
            }
            for (name, value) in parameters { try plan.setVariable(name, value) }
            tracedPlans[t] = plan
        }
        let plan = tracedPlans[t] as! CLPlan
        _ = try plan.run(GPTModel.forwardFeeds(configuration, tokens: tokens, batch: 1, sequence: t))
        return GPTTraceResponse(positions: t, trace: plan.lastTrace!)
    }
}
