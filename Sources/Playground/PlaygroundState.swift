import Foundation
import Hummingbird
import Models
import TensorGraph

/// The loaded models and their device plans. An actor: requests take turns, so the device sees
/// one queue of work and no request ever sees half of another's edit.
public actor PlaygroundState {
    private let mlp: MLPSession?
    private let gpt: GPTSession?
    private let deviceName: String

    /// A model to serve: its configuration, checkpoint and the path it was read from.
    public enum Model {
        case mlp(MLPConfiguration, Checkpoint, path: String)
        case gpt(GPTConfiguration, Checkpoint, path: String)
    }

    /// Compiles the plans of `models` (at most one of each kind) on the backend `makeBackend` returns.
    public init(models: [Model], makeBackend: () throws -> any Backend) throws {
        let backend = try makeBackend()
        var mlp: MLPSession?, gpt: GPTSession?
        for model in models {
            switch model {
            case let .mlp(configuration, checkpoint, path):
                mlp = try MLPSession(configuration, checkpoint: checkpoint, path: path, backend: backend)
            case let .gpt(configuration, checkpoint, path):
                gpt = GPTSession(configuration, checkpoint: checkpoint, path: path, backend: backend)
            }
        }
        self.mlp = mlp
        self.gpt = gpt
        deviceName = backend.name
    }

    public func info() -> PlaygroundInfo {
        PlaygroundInfo(device: deviceName,
                       mlp: mlp.map { .init(checkpoint: $0.checkpointPath, vocabulary: (0..<$0.configuration.vocabulary).map($0.label),
                                            context: $0.configuration.context, layers: nil, heads: nil, blockSize: nil) },
                       gpt: gpt.map { .init(checkpoint: $0.checkpointPath, vocabulary: (0..<$0.configuration.vocabulary).map($0.label),
                                            context: nil, layers: $0.configuration.layers, heads: $0.configuration.heads,
                                            blockSize: $0.configuration.blockSize) })
    }

    private func mlpSession() throws -> MLPSession {
        guard let mlp else { throw PlaygroundError.noModel("no MLP is loaded; start clmodel serve with an MLP --checkpoint") }
        return mlp
    }

    private func gptSession() throws -> GPTSession {
        guard let gpt else { throw PlaygroundError.noModel("no GPT is loaded; start clmodel serve with a GPT --checkpoint") }
        return gpt
    }

    func mlpView(_ request: MLPViewRequest) throws -> MLPView { try mlpSession().view(request.context) }

    /// Runs an edit after checking the context, so a refused context changes nothing.
    private func edit(context: String?, _ body: (MLPSession) throws -> [MLPEditResponse.Change]) throws -> MLPEditResponse {
        let session = try mlpSession()
        let before = try session.view(context).probabilities
        let changes = try body(session)
        return MLPEditResponse(changes: changes, before: before, view: try session.view(context))
    }

    func mlpSet(_ r: MLPSetRequest) throws -> MLPEditResponse {
        try edit(context: r.context) { try $0.set(name: r.name, index: r.index, value: r.value) }
    }

    func mlpConnect(_ r: MLPConnectRequest) throws -> MLPEditResponse {
        try edit(context: r.context) { try $0.connect(context: r.context, position: r.position, to: r.to, strength: r.strength) }
    }

    func mlpUndo(_ r: MLPViewRequest) throws -> MLPEditResponse { try edit(context: r.context) { try $0.undo() } }
    func mlpReset(_ r: MLPViewRequest) throws -> MLPEditResponse { try edit(context: r.context) { try $0.reset() } }

    func mlpSample(_ r: MLPSampleRequest) throws -> MLPSampleResponse {
        MLPSampleResponse(names: try mlpSession().sample(count: r.count, seed: r.seed, temperature: r.temperature))
    }

    func mlpSave(_ r: MLPSaveRequest) throws -> SaveResponse { SaveResponse(path: try mlpSession().save(file: r.file)) }

    func gptInspect(_ r: GPTPromptRequest) throws -> GPTInspectResponse { try gptSession().inspect(r.prompt) }
    func gptDistribution(_ r: GPTDistributionRequest) throws -> GPTDistributionResponse { try gptSession().distribution(r) }
    func gptTrace(_ r: GPTPromptRequest) throws -> GPTTraceResponse { try gptSession().trace(r.prompt) }

    func gptPrepare(_ r: GPTGenerateRequest) throws -> (prompt: [Int32], sampler: Sampler, tokens: Int) {
        try gptSession().prepareGeneration(r)
    }

    func gptGenerate(prompt: [Int32], sampler: Sampler, tokens: Int, onToken: (String) -> Void) throws -> String {
        try gptSession().generate(prompt: prompt, sampler: sampler, tokens: tokens, onToken: onToken)
    }
}

/// `GET /api/info`: the device and the models loaded.
public struct PlaygroundInfo: ResponseCodable, Sendable {
    public struct Model: Codable, Sendable {
        public let checkpoint: String
        public let vocabulary: [String]
        public let context: Int?
        public let layers: Int?
        public let heads: Int?
        public let blockSize: Int?
    }

    public let device: String
    public let mlp: Model?
    public let gpt: Model?
}
