import CLBackend
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Models
import Playground
import TensorGraph

/// One playground server for the suite, on a free loopback port, serving a small randomly
/// initialised names MLP and names GPT on the OpenCL device (programs are built once).
final class PlaygroundTestServer: @unchecked Sendable {
    static let mlpConfiguration = MLPConfiguration(vocabulary: 27, context: 3, embedding: 8, hidden: 31)
    static let gptConfiguration = GPTConfiguration(vocabulary: 27, blockSize: 8, layers: 2, heads: 2, embedding: 16)

    let port: Int
    let folder: URL
    let mlpPath: String
    let mlpParameters: [String: TensorData]
    let gptParameters: [String: TensorData]

    private init(port: Int, folder: URL, mlpPath: String, mlpParameters: [String: TensorData], gptParameters: [String: TensorData]) {
        self.port = port
        self.folder = folder
        self.mlpPath = mlpPath
        self.mlpParameters = mlpParameters
        self.gptParameters = gptParameters
    }

    /// Weights spread wide enough that the distributions are far from uniform.
    static func spread(_ values: [String: TensorData], shapes: [(name: String, shape: Shape)], seed: UInt64, std: Double) -> [String: TensorData] {
        var random = XorShiftRandom(seed: seed)
        var values = values
        for (name, shape) in shapes { values[name] = TensorData(shape: shape, floats: random.normalArray(count: shape.count, std: std)) }
        return values
    }

    private static let started = Task { () throws -> PlaygroundTestServer in
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("playground-tests-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let mlpParameters = spread(MLPModel.initialParameters(mlpConfiguration), shapes: mlpConfiguration.parameterShapes, seed: 11, std: 0.5)
        let gptParameters = spread(GPTModel.initialParameters(gptConfiguration),
                                   shapes: gptConfiguration.parameterShapes.filter { $0.shape.rank >= 2 }, seed: 7, std: 0.4)
        let mlpJSON = String(decoding: try JSONEncoder().encode(mlpConfiguration), as: UTF8.self)
        let gptJSON = String(decoding: try JSONEncoder().encode(gptConfiguration), as: UTF8.self)
        let mlp = Checkpoint(kind: "mlp", configurationJSON: mlpJSON, vocabulary: .names, step: 3, parameters: mlpParameters)
        let gpt = Checkpoint(kind: "gpt", configurationJSON: gptJSON, vocabulary: .names, step: 5, parameters: gptParameters)
        let mlpPath = folder.appendingPathComponent("mlp.safetensors").path
        try mlp.write(to: mlpPath)
        let state = try PlaygroundState(models: [.mlp(mlpConfiguration, mlp, path: mlpPath),
                                                 .gpt(gptConfiguration, gpt, path: folder.appendingPathComponent("gpt.safetensors").path)],
                                        makeBackend: { try OpenCLBackend() })
        let port = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, Error>) in
            let application = PlaygroundRouter.application(state: state, host: "127.0.0.1", port: 0) { port in
                continuation.resume(returning: port)
            }
            Task { try await application.run() }
        }
        return PlaygroundTestServer(port: port, folder: folder, mlpPath: mlpPath, mlpParameters: mlpParameters, gptParameters: gptParameters)
    }

    static func shared() async throws -> PlaygroundTestServer { try await started.value }

    /// Sends `body` (raw text, so malformed JSON can be sent too) and returns the status and the body.
    func post(_ path: String, _ body: String) async throws -> (status: Int, body: Data) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body.utf8)
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as! HTTPURLResponse).statusCode, data)
    }

    func get(_ path: String) async throws -> (status: Int, body: Data) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        return ((response as! HTTPURLResponse).statusCode, data)
    }

    /// Posts and decodes a 200 answer as `T`.
    func post<T: Decodable>(_ path: String, _ body: String, as: T.Type) async throws -> T {
        let (status, data) = try await post(path, body)
        guard status == 200 else { throw ServerAnswer(status: status, body: String(decoding: data, as: UTF8.self)) }
        return try JSONDecoder().decode(T.self, from: data)
    }

    struct ServerAnswer: Error, CustomStringConvertible {
        let status: Int
        let body: String
        var description: String { "HTTP \(status): \(body)" }
    }
}
