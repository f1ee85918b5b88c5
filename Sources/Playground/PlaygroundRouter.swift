import Foundation
import Hummingbird

/// The playground's routes: the embedded page at `/`, its script and styles, and the JSON API
/// under `/api/` (the README's "clmodel serve" section documents each endpoint).
public enum PlaygroundRouter {
    public static func make(state: PlaygroundState) -> Router<BasicRequestContext> {
        let router = Router()
        for (path, file) in [("/", "index.html"), ("/playground.js", "playground.js"), ("/playground.css", "playground.css")] {
            router.get(RouterPath(path)) { _, _ -> Response in
                guard let asset = PlaygroundAssets.asset(named: file) else { throw HTTPError(.notFound) }
                return Response(status: .ok, headers: [.contentType: asset.contentType, .cacheControl: "no-store"],
                                body: ResponseBody(byteBuffer: ByteBuffer(string: asset.text)))
            }
        }
        router.get("/api/info") { _, _ in await state.info() }
        post(router, "/api/mlp/view") { (r: MLPViewRequest) in try await state.mlpView(r) }
        post(router, "/api/mlp/set") { (r: MLPSetRequest) in try await state.mlpSet(r) }
        post(router, "/api/mlp/connect") { (r: MLPConnectRequest) in try await state.mlpConnect(r) }
        post(router, "/api/mlp/undo") { (r: MLPViewRequest) in try await state.mlpUndo(r) }
        post(router, "/api/mlp/reset") { (r: MLPViewRequest) in try await state.mlpReset(r) }
        post(router, "/api/mlp/sample") { (r: MLPSampleRequest) in try await state.mlpSample(r) }
        post(router, "/api/mlp/save") { (r: MLPSaveRequest) in try await state.mlpSave(r) }
        post(router, "/api/gpt/inspect") { (r: GPTPromptRequest) in try await state.gptInspect(r) }
        post(router, "/api/gpt/distribution") { (r: GPTDistributionRequest) in try await state.gptDistribution(r) }
        post(router, "/api/gpt/trace") { (r: GPTPromptRequest) in try await state.gptTrace(r) }
        router.post("/api/gpt/generate") { request, _ -> Response in
            let run = try await answering { try await state.gptPrepare(try await GPTGenerateRequest.decode(request)) }
            let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
            Task {
                var end = GPTGenerateEvent(done: true)
                do {
                    end.text = try await state.gptGenerate(prompt: run.prompt, sampler: run.sampler, tokens: run.tokens) { token in
                        continuation.yield(line(GPTGenerateEvent(token: token)))
                    }
                } catch {
                    end.error = "\(error)"
                }
                continuation.yield(line(end))
                continuation.finish()
            }
            return Response(status: .ok, headers: [.contentType: "application/x-ndjson", .cacheControl: "no-store"],
                            body: ResponseBody(asyncSequence: stream))
        }
        return router
    }

    /// An application serving the playground on `host:port`; `onServerRunning` sees the bound port (useful with port 0).
    public static func application(state: PlaygroundState, host: String, port: Int,
                                   onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(router: make(state: state), configuration: .init(address: .hostname(host, port: port), serverName: "clmodel serve"),
                    onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) })
    }

    private static func post<R: PlaygroundRequest, Output: ResponseGenerator>(
        _ router: Router<BasicRequestContext>, _ path: String, _ handle: @escaping @Sendable (R) async throws -> Output
    ) {
        router.post(RouterPath(path)) { request, _ -> Output in
            try await answering { try await handle(try await R.decode(request)) }
        }
    }

    /// Turns a refused request into its HTTP error; any other error is a 500 that names it.
    private static func answering<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PlaygroundError {
            throw error.httpError
        } catch let error as HTTPError {
            throw error
        } catch {
            throw HTTPError(.internalServerError, message: "\(error)")
        }
    }

    private static func line(_ event: GPTGenerateEvent) -> ByteBuffer {
        let data = (try? JSONEncoder().encode(event)) ?? Data("{}".utf8)
        return ByteBuffer(string: String(decoding: data, as: UTF8.self) + "\n")
    }
}
