import CLBackend
import Foundation
import Models
import TensorGraph
import Testing

/// Beam search through the batched KV-cache decode plan, against greedy decoding and against an
/// exhaustive search scored by the full forward pass (no cache).
@Suite struct GPTBeamSearchTests {
    /// 5 tokens, so every 3-token continuation (125) can be scored.
    static let tiny = GPTConfiguration(vocabulary: 5, blockSize: 6, layers: 2, heads: 2, embedding: 8)

    /// log p(continuation | prompt) from one full forward pass over prompt + continuation (minus its last token).
    static func logProbability(_ continuation: [Int32], prompt: [Int32], plan: any Plan, model: GPTConfiguration) throws -> Double {
        let tokens = prompt + continuation.dropLast()
        let logits = try plan.run(GPTModel.forwardFeeds(model, tokens: tokens + [Int32](repeating: 0, count: model.blockSize - tokens.count),
                                                        batch: 1, sequence: model.blockSize))[0].floats
        let v = model.vocabulary
        var total = 0.0
        for (i, token) in continuation.enumerated() {
            let row = prompt.count - 1 + i
            total += GPTBeamSearchTests.logSoftmax(Array(logits[(row * v)..<((row + 1) * v)]))[Int(token)]
        }
        return total
    }

    static func logSoftmax(_ logits: [Float]) -> [Double] {
        let x = logits.map(Double.init), top = x.max()!
        let logSum = log(x.reduce(0) { $0 + exp($1 - top) }) + top
        return x.map { $0 - logSum }
    }

    static func fullForward(_ model: GPTConfiguration, _ parameters: [String: TensorData]) throws -> any Plan {
        let forward = try GPTModel.forward(model, batch: 1, sequence: model.blockSize)
        let plan = try ReferenceBackend().compile(forward.graph, outputs: [forward.logits], options: CompileOptions())
        for (name, value) in parameters { try plan.setVariable(name, value) }
        return plan
    }

    @Test func widthOneIsGreedyDecoding() throws {
        let model = GPTTests.small
        let parameters = GPTTests.spreadParameters(model)
        let backend = try GPTTests.shared.get()
        var greedy = Sampler(greedy: true)
        let expected = try GPTGenerator(model, parameters: parameters, backend: backend)
            .generate(prompt: [0, 4, 2], maxTokens: 7, sampler: &greedy)
        let search = try GPTBeamSearch(model, parameters: parameters, backend: backend, width: 1)
        let beams = try search.search(prompt: [0, 4, 2], maxTokens: 7)
        #expect(beams.count == 1)
        #expect(beams[0].tokens == expected, "beam \(beams[0].tokens) vs greedy \(expected)")
        #expect(search.decodeSteps == 3 + 6, "one plan run per prompt token and per generated token but the last")
    }

    /// Width Vᴸ⁻¹ keeps every prefix, so the final beams are exactly the best continuations of
    /// length L: the same sequences, in the same order, with the same log-probabilities as scoring
    /// all Vᴸ of them with the full forward pass.
    @Test func fullWidthFindsTheExhaustiveBest() throws {
        let model = Self.tiny
        let parameters = GPTTests.spreadParameters(model)
        let full = try Self.fullForward(model, parameters)
        let prompt: [Int32] = [1, 3], length = 3, v = model.vocabulary
        var all: [(tokens: [Int32], logP: Double)] = []
        for code in 0..<(v * v * v) {
            let tokens = [code / (v * v), (code / v) % v, code % v].map(Int32.init)
            all.append((tokens, try Self.logProbability(tokens, prompt: prompt, plan: full, model: model)))
        }
        all.sort { $0.logP > $1.logP }
        let width = v * v
        let search = try GPTBeamSearch(model, parameters: parameters, backend: try GPTTests.shared.get(), width: width)
        let beams = try search.search(prompt: prompt, maxTokens: length)
        #expect(beams.count == width)
        for (beam, best) in zip(beams, all) {
            #expect(beam.tokens == best.tokens, "beam \(beam.tokens) vs exhaustive \(best.tokens)")
            #expect(abs(beam.logProbability - best.logP) < 1e-4, "\(beam.tokens): \(beam.logProbability) vs \(best.logP)")
            #expect(!beam.finished && beam.score == beam.logProbability)
        }
        #expect(search.decodeSteps == prompt.count + length - 1, "one plan run per step for all \(width) beams")
    }

    /// Narrow beams re-rank and copy cache rows between slots at almost every step: each beam's
    /// log-probability must still be that of its own tokens under the full forward pass, which it
    /// is only if every row holds exactly its beam's keys and values.
    @Test(arguments: [2, 3, 4])
    func beamsReadOnlyTheirOwnCacheRows(width: Int) throws {
        let model = GPTTests.small
        let parameters = GPTTests.spreadParameters(model)
        let full = try Self.fullForward(model, parameters)
        let search = try GPTBeamSearch(model, parameters: parameters, backend: try GPTTests.shared.get(), width: width)
        let beams = try search.search(prompt: [0, 4], maxTokens: 8)
        #expect(beams.count == width)
        #expect(search.rowCopies > 0, "the search should have copied rows (parents with two children)")
        for beam in beams {
            let logP = try Self.logProbability(beam.tokens, prompt: [0, 4], plan: full, model: model)
            #expect(abs(beam.logProbability - logP) < 1e-4, "\(beam.tokens): beam \(beam.logProbability) vs full forward \(logP)")
        }
        #expect(zip(beams, beams.dropFirst()).allSatisfy { $0.score >= $1.score }, "best first")
    }

    @Test func endTokenFinishesHypothesesAndLengthPenaltyRescores() throws {
        let model = GPTTests.small
        let parameters = GPTTests.spreadParameters(model)
        let full = try Self.fullForward(model, parameters)
        for alpha in [0.0, 1.0] {
            let search = try GPTBeamSearch(model, parameters: parameters, backend: try GPTTests.shared.get(), width: 4,
                                           lengthPenalty: alpha)
            // Token 0 ends a hypothesis (as the names' end token does).
            let beams = try search.search(prompt: [0, 4], maxTokens: 8, endToken: 0)
            #expect(!beams.isEmpty && beams.count <= 4)
            for beam in beams {
                #expect(beam.finished == (beam.tokens.last == 0), "\(beam.tokens)")
                #expect(!beam.tokens.dropLast().contains(0), "nothing follows the end token: \(beam.tokens)")
                #expect(abs(beam.score - beam.logProbability / search.penalty(length: beam.tokens.count)) < 1e-12)
                let logP = try Self.logProbability(beam.tokens, prompt: [0, 4], plan: full, model: model)
                #expect(abs(beam.logProbability - logP) < 1e-4, "\(beam.tokens): \(beam.logProbability) vs \(logP)")
            }
            #expect(zip(beams, beams.dropFirst()).allSatisfy { $0.score >= $1.score }, "best first")
        }
    }

    @Test func badSettingsAreErrors() throws {
        let model = GPTTests.small
        let parameters = GPTTests.spreadParameters(model)
        let backend = ReferenceBackend()
        #expect(throws: GraphError.self) { try GPTBeamSearch(model, parameters: parameters, backend: backend, width: 0) }
        #expect(throws: GraphError.self) { try GPTBeamSearch(model, parameters: parameters, backend: backend, width: 2, lengthPenalty: -1) }
        let search = try GPTBeamSearch(model, parameters: parameters, backend: backend, width: 2)
        #expect(throws: GraphError.self) { try search.search(prompt: [], maxTokens: 3) }
        #expect(throws: GraphError.self) { try search.search(prompt: [0, 1, 2], maxTokens: 8) }   // 3 + 8 − 1 > block 9
        #expect(throws: GraphError.self) { try search.search(prompt: [0], maxTokens: 0) }
    }
}
