import CLBackend
import Foundation
import Models
import Playground
import TensorGraph
import Testing

/// The playground's JSON API on a live loopback server: the numbers against the reference
/// backend, the 400s, and edits under concurrent requests. Serialized: the tests share one model.
@Suite(.serialized) struct PlaygroundAPITests {
    /// The reference's distribution for `context` with `parameters`.
    static func referenceProbabilities(_ parameters: [String: TensorData], context: String) throws -> [Double] {
        let inference = try MLPInference(PlaygroundTestServer.mlpConfiguration, vocabulary: .names, backend: ReferenceBackend(), parameters: parameters)
        return Sampler(temperature: 1).distribution(try inference.logits(context: try inference.context(for: context)))
    }

    static func expectClose(_ a: [Double], _ b: [Double], tolerance: Double = 2e-5, _ what: String) {
        #expect(a.count == b.count, "\(what): \(a.count) vs \(b.count) values")
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= tolerance, "\(what): largest difference \(worst)")
    }

    @Test func settingAWeightChangesTheDistributionAsTheReferenceComputesIt() async throws {
        let server = try await PlaygroundTestServer.shared()
        _ = try await server.post("/api/mlp/reset", "{}", as: MLPEditResponse.self)
        let answer = try await server.post("/api/mlp/set", #"{"context": "em", "name": "output.weight", "index": [5, 17], "value": 3.25}"#,
                                           as: MLPEditResponse.self)
        var edited = server.mlpParameters
        var weights = edited["output.weight"]!.floats
        let old = weights[5 * 31 + 17]
        weights[5 * 31 + 17] = 3.25
        edited["output.weight"] = TensorData(shape: [27, 31], floats: weights)
        #expect(answer.changes.count == 1)
        #expect(answer.changes.first?.old == old && answer.changes.first?.new == 3.25 && answer.changes.first?.index == [5, 17])
        Self.expectClose(answer.before, try Self.referenceProbabilities(server.mlpParameters, context: "em"), "before")
        Self.expectClose(answer.view.probabilities, try Self.referenceProbabilities(edited, context: "em"), "after")
        #expect(answer.view.probabilities[5] != answer.before[5], "the edited row's probability moved")
        #expect(answer.view.edits == 1)
        #expect(answer.view.contextLabels == ["⏎", "e", "m"])
        #expect(answer.view.units.count == 24)
    }

    @Test func aDrawnConnectionRaisesTheTargetAsTheReferenceRuleDoes() async throws {
        let server = try await PlaygroundTestServer.shared()
        _ = try await server.post("/api/mlp/reset", "{}", as: MLPEditResponse.self)
        let answer = try await server.post("/api/mlp/connect", #"{"context": "emm", "position": 1, "to": "q", "strength": 3}"#,
                                           as: MLPEditResponse.self)
        let q = 17
        #expect(answer.view.probabilities[q] > answer.before[q], "p(q) \(answer.before[q]) → \(answer.view.probabilities[q])")
        let reference = try MLPInference(PlaygroundTestServer.mlpConfiguration, vocabulary: .names, backend: ReferenceBackend(),
                                         parameters: server.mlpParameters)
        let connection = try reference.connect(from: 13, to: Int32(q), strength: 3, position: 1)
        #expect(answer.changes.map(\.index) == connection.changes.map { [q, $0.unit] })
        #expect(answer.changes.map(\.new) == connection.changes.map(\.new))
        let after = Sampler(temperature: 1).distribution(try reference.logits(context: try reference.context(for: "emm")))
        Self.expectClose(answer.view.probabilities, after, "after the connection")
    }

    @Test func undoAndResetRestoreTheDistribution() async throws {
        let server = try await PlaygroundTestServer.shared()
        let start = try await server.post("/api/mlp/reset", #"{"context": "ann"}"#, as: MLPEditResponse.self).view
        _ = try await server.post("/api/mlp/set", #"{"context": "ann", "name": "hidden.bias", "index": [4], "value": -2}"#, as: MLPEditResponse.self)
        let second = try await server.post("/api/mlp/connect", #"{"context": "ann", "to": "z"}"#, as: MLPEditResponse.self)
        let undone = try await server.post("/api/mlp/undo", #"{"context": "ann"}"#, as: MLPEditResponse.self)
        #expect(undone.view.probabilities == second.before, "undo returns to the distribution before the last edit")
        #expect(undone.changes.count == 16)
        let reset = try await server.post("/api/mlp/reset", #"{"context": "ann"}"#, as: MLPEditResponse.self)
        #expect(reset.view.probabilities == start.probabilities)
        #expect(reset.view.edits == 0)
        #expect(reset.changes.map(\.name) == ["hidden.bias"])
    }

    /// Each refused request: its endpoint, body and a part of the message.
    static let badRequests: [(path: String, body: String, message: String)] = [
        ("/api/mlp/set", #"{"name": "output.weight", "index": [5, 17], "value": 1"#, "malformed JSON"),
        ("/api/mlp/set", #"[1, 2]"#, "must be a JSON object"),
        ("/api/mlp/set", #"{"name": "output.weight", "index": [5, 17], "value": 1, "colour": "red"}"#, "unknown parameter 'colour'"),
        ("/api/mlp/set", #"{"name": "output.weight", "index": [27, 0], "value": 1}"#, "outside"),
        ("/api/mlp/set", #"{"name": "output.weight", "index": [0], "value": 1}"#, "outside"),
        ("/api/mlp/set", #"{"name": "output.weights", "index": [0, 0], "value": 1}"#, "no parameter 'output.weights'"),
        ("/api/mlp/set", #"{"name": "output.weight", "index": [0, 0], "value": 1e39}"#, "finite"),
        ("/api/mlp/set", #"{"name": "output.weight", "index": [0, 0], "value": "1"}"#, "'value' must be"),
        ("/api/mlp/set", #"{"name": "output.weight", "index": [0, 0]}"#, "missing parameter 'value'"),
        ("/api/mlp/view", #"{"context": "Emma"}"#, "is not in the vocabulary"),
        ("/api/mlp/connect", #"{"to": "é"}"#, "'to' must be one character"),
        ("/api/mlp/connect", #"{"to": "a", "position": 3}"#, "'position' must be in 0..<3"),
        ("/api/mlp/connect", #"{"to": "a", "strength": 1e300}"#, "'strength' must be a finite number"),
        ("/api/mlp/sample", #"{"count": 0}"#, "'count' must be in 1...100"),
        ("/api/mlp/sample", #"{"temperature": 0}"#, "'temperature' must be finite and positive"),
        ("/api/mlp/save", #"{"file": "mlp.safetensors"}"#, "never overwrites"),
        ("/api/mlp/save", #"{"file": "../elsewhere.safetensors"}"#, "plain file name"),
        ("/api/gpt/inspect", #"{"prompt": "Em"}"#, "is not in the vocabulary"),
        ("/api/gpt/inspect", #"{"prompt": "abcdefghij"}"#, "1 to 8 tokens"),
        ("/api/gpt/distribution", #"{"prompt": "em", "topP": 0}"#, "'topP' must be in (0, 1]"),
        ("/api/gpt/distribution", #"{"prompt": "em", "minP": 1.5}"#, "'minP' must be in [0, 1]"),
        ("/api/gpt/distribution", #"{"prompt": "em", "topK": 0}"#, "'topK' must be at least 1"),
        ("/api/gpt/distribution", #"{"prompt": "em", "temperature": -1}"#, "'temperature' must be finite and positive"),
        ("/api/gpt/generate", #"{"prompt": "em", "tokens": 0}"#, "'tokens' must be in 1...1000"),
        ("/api/gpt/generate", #"{"prompt": "e1"}"#, "is not in the vocabulary"),
        ("/api/gpt/trace", #"{"prompt": "em", "layers": 2}"#, "unknown parameter 'layers'"),
    ]

    @Test func everyBadRequestGetsA400AndChangesNothing() async throws {
        let server = try await PlaygroundTestServer.shared()
        _ = try await server.post("/api/mlp/set", #"{"name": "output.bias", "index": [3], "value": 0.5}"#, as: MLPEditResponse.self)
        let before = try await server.post("/api/mlp/view", #"{"context": "em"}"#, as: MLPView.self)
        for bad in Self.badRequests {
            let (status, body) = try await server.post(bad.path, bad.body)
            let text = String(decoding: body, as: UTF8.self)
            #expect(status == 400, "\(bad.path) \(bad.body): HTTP \(status) \(text)")
            #expect(text.contains(bad.message), "\(bad.path) \(bad.body): \(text)")
        }
        let after = try await server.post("/api/mlp/view", #"{"context": "em"}"#, as: MLPView.self)
        #expect(after.probabilities == before.probabilities)
        #expect(after.edits == before.edits, "no refused request was recorded as an edit")
        _ = try await server.post("/api/mlp/reset", "{}", as: MLPEditResponse.self)
    }

    @Test func concurrentEditsAreEachSeenWholeAndInOrder() async throws {
        let server = try await PlaygroundTestServer.shared()
        let start = try await server.post("/api/mlp/reset", #"{"context": "li"}"#, as: MLPEditResponse.self).view
        let targets = Array("abcdefghijkl")
        let answers: [MLPEditResponse] = try await withThrowingTaskGroup(of: MLPEditResponse?.self) { group in
            for target in targets {
                group.addTask { try await server.post("/api/mlp/connect", #"{"context": "li", "to": "\#(target)", "strength": 1.5}"#, as: MLPEditResponse.self) }
                group.addTask { _ = try await server.post("/api/mlp/view", #"{"context": "li"}"#, as: MLPView.self); return nil }
            }
            var answers: [MLPEditResponse] = []
            for try await answer in group { if let answer { answers.append(answer) } }
            return answers
        }
        let chain = answers.sorted { $0.view.edits < $1.view.edits }
        #expect(chain.map(\.view.edits) == Array(1...targets.count), "each edit is recorded once")
        var previous = start.probabilities
        for answer in chain {
            #expect(answer.before == previous, "edit \(answer.view.edits) started from the distribution the one before left")
            previous = answer.view.probabilities
        }
        // The weights hold every edit: the reference applying the same connections in the server's order agrees.
        let reference = try MLPInference(PlaygroundTestServer.mlpConfiguration, vocabulary: .names, backend: ReferenceBackend(),
                                         parameters: server.mlpParameters)
        for answer in chain {
            let target = Int32(answer.changes[0].index[0])
            try reference.connect(from: 9, to: target, strength: 1.5)
        }
        let expected = Sampler(temperature: 1).distribution(try reference.logits(context: try reference.context(for: "li")))
        Self.expectClose(previous, expected, "after every edit")
        _ = try await server.post("/api/mlp/reset", "{}", as: MLPEditResponse.self)
    }

    @Test func samplingAndSaving() async throws {
        let server = try await PlaygroundTestServer.shared()
        _ = try await server.post("/api/mlp/reset", "{}", as: MLPEditResponse.self)
        let names = try await server.post("/api/mlp/sample", #"{"count": 10, "seed": 5}"#, as: MLPSampleResponse.self).names
        #expect(names.count == 10)
        #expect(names.allSatisfy { $0.allSatisfy { ("a"..."z").contains($0) } })
        let again = try await server.post("/api/mlp/sample", #"{"count": 10, "seed": 5}"#, as: MLPSampleResponse.self).names
        #expect(names == again, "a seed gives the same names")
        let edit = try await server.post("/api/mlp/set", #"{"name": "output.bias", "index": [0], "value": 4.5}"#, as: MLPEditResponse.self)
        #expect(edit.view.edits == 1)
        let file = "saved-\(UInt32.random(in: 0...UInt32.max)).safetensors"
        let saved = try await server.post("/api/mlp/save", #"{"file": "\#(file)"}"#, as: SaveResponse.self)
        #expect(saved.path == server.folder.appendingPathComponent(file).path)
        let checkpoint = try Checkpoint.read(saved.path, expectedShapes: PlaygroundTestServer.mlpConfiguration.parameterShapes)
        #expect(checkpoint.kind == "mlp" && checkpoint.step == 3)
        #expect(checkpoint.parameters["output.bias"]!.floats[0] == 4.5)
        #expect(checkpoint.parameters["hidden.weight"] == server.mlpParameters["hidden.weight"])
        let loaded = try Checkpoint.read(server.mlpPath)
        #expect(loaded.parameters["output.bias"] == server.mlpParameters["output.bias"], "the loaded checkpoint is untouched")
        let (status, _) = try await server.post("/api/mlp/save", #"{"file": "\#(file)"}"#)
        #expect(status == 400, "saving twice to one name is refused")
        _ = try await server.post("/api/mlp/reset", "{}", as: MLPEditResponse.self)
    }

    @Test func attentionMapsAndDistributionMatchTheReference() async throws {
        let server = try await PlaygroundTestServer.shared()
        let c = PlaygroundTestServer.gptConfiguration
        let answer = try await server.post("/api/gpt/inspect", #"{"prompt": "emm"}"#, as: GPTInspectResponse.self)
        let reference = try GPTInspection(c, parameters: server.gptParameters, tokens: [0, 5, 13, 13], backend: ReferenceBackend())
        #expect(answer.tokens == ["⏎", "e", "m", "m"])
        #expect(answer.maps.count == 2 && answer.maps[0].count == 2 && answer.maps[0][0].count == 4)
        let served: [Float] = answer.maps.flatMap { $0.flatMap { $0.flatMap { $0 } } }
        let expectedMaps: [Float] = reference.maps.flatMap { $0.flatMap { $0.flatMap { $0 } } }
        #expect(served.count == expectedMaps.count)
        let worstMap = zip(served, expectedMaps).map { abs($0 - $1) }.max() ?? 1
        #expect(worstMap < 1e-5, "attention maps differ by \(worstMap)")
        #expect(zip(answer.logits, reference.nextLogits).allSatisfy { abs($0 - $1) < 1e-4 })
        let settings = #"{"prompt": "emm", "temperature": 0.7, "topK": 5, "topP": 0.9, "minP": 0.05, "count": 27}"#
        let distribution = try await server.post("/api/gpt/distribution", settings, as: GPTDistributionResponse.self)
        let expected = Sampler(temperature: 0.7, topK: 5, topP: 0.9, minP: 0.05).distribution(reference.nextLogits)
        for entry in distribution.top { #expect(abs(entry.probability - expected[entry.token]) < 1e-4, "token \(entry.label)") }
        #expect(distribution.kept == expected.filter { $0 > 0 }.count)
        #expect(distribution.kept <= 5)
        let plain = try await server.post("/api/gpt/distribution", #"{"prompt": "emm", "count": 27}"#, as: GPTDistributionResponse.self)
        #expect(plain.kept == 27, "no filter keeps every token")
    }

    @Test func generationStreamsTheGeneratorsTokens() async throws {
        let server = try await PlaygroundTestServer.shared()
        let (status, body) = try await server.post("/api/gpt/generate", #"{"prompt": "a", "tokens": 12, "seed": 9, "temperature": 1.3}"#)
        #expect(status == 200)
        let events = try String(decoding: body, as: UTF8.self).split(separator: "\n")
            .map { try JSONDecoder().decode(GPTGenerateEvent.self, from: Data($0.utf8)) }
        let tokens = events.compactMap(\.token)
        #expect(events.last?.done == true && events.last?.error == nil)
        let generator = try GPTGenerator(PlaygroundTestServer.gptConfiguration, parameters: server.gptParameters, backend: OpenCLBackend())
        var sampler = Sampler(seed: 9, temperature: 1.3)
        let expected = try generator.generate(prompt: [0, 1], maxTokens: 12, sampler: &sampler, stopToken: 0)
        #expect(tokens.joined() == CharVocabulary.names.decode(expected))
        #expect(!tokens.isEmpty && tokens.count == expected.count)
        #expect(events.last?.text == CharVocabulary.names.decode(expected))
    }

    @Test func traceListsTheKernelsOfOneForwardPass() async throws {
        let server = try await PlaygroundTestServer.shared()
        let answer = try await server.post("/api/gpt/trace", #"{"prompt": "ava"}"#, as: GPTTraceResponse.self)
        #expect(answer.positions == 4)
        #expect(answer.trace.launches.count > 4)
        #expect(answer.trace.launches.allSatisfy { $0.milliseconds >= 0 && !$0.variant.isEmpty })
        #expect(answer.trace.wallMilliseconds > 0)
    }

    @Test func thePageIsServedFromTheBinary() async throws {
        let server = try await PlaygroundTestServer.shared()
        let (status, page) = try await server.get("/")
        #expect(status == 200)
        #expect(String(decoding: page, as: UTF8.self).contains("<script src=\"/playground.js\">"))
        let script = String(decoding: try await server.get("/playground.js").body, as: UTF8.self)
        #expect(script.contains("/api/mlp/connect"))
        let info = try JSONDecoder().decode(PlaygroundInfo.self, from: try await server.get("/api/info").body)
        #expect(info.mlp?.context == 3 && info.gpt?.heads == 2)
    }
}
