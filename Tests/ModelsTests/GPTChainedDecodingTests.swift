import Foundation
import Models
import Testing
import TensorGraph

/// Greedy decoding with each token chained on the device (one step queued ahead of the host)
/// picks the same tokens as the host loop, through prompts fed a token per step, prefilled
/// prompts, context slides, batches and a stop token.
@Suite struct GPTChainedDecodingTests {
    static let model = GPTTests.small  // block 9: 25 tokens slide the context several times

    func generators(batch: Int) throws -> (chained: GPTGenerator, host: GPTGenerator) {
        let parameters = GPTTests.spreadParameters(Self.model)
        let backend = try GPTTests.shared.get()
        let chained = try GPTGenerator(Self.model, parameters: parameters, backend: backend, batch: batch)
        let host = try GPTGenerator(Self.model, parameters: parameters, backend: backend, batch: batch)
        host.chainsGreedyTokens = false
        return (chained, host)
    }

    /// A short prompt (fed a token per step) and a long one (prefilled, 11 tokens cut to the block).
    @Test(arguments: [[Int32]([0, 4, 2]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 3]])
    func chainedGreedyTokensEqualTheHostLoops(prompt: [Int32]) throws {
        let (chained, host) = try generators(batch: 1)
        var seen: [Int32] = []
        var greedy = Sampler(greedy: true)
        let a = try chained.generate(prompt: prompt, maxTokens: 25, sampler: &greedy) { seen.append($0) }
        let b = try host.generate(prompt: prompt, maxTokens: 25, sampler: &greedy)
        #expect(a.count == 25)
        #expect(a == b, "chained \(a) vs host \(b)")
        #expect(seen == a)
        #expect(chained.decodeSteps > 0)
    }

    /// Three sequences, one stop token: each stops where the host loop stops it, the others go on.
    @Test func batchesStopPerSequenceAsTheHostLoopDoes() throws {
        let (chained, host) = try generators(batch: 3)
        let prompts: [[Int32]] = [[0, 1, 2], [0, 5, 6], [0, 9, 3]]
        var samplers = [Sampler](repeating: Sampler(greedy: true), count: 3)
        let free = try host.generate(prompts: prompts, maxTokens: 20, samplers: &samplers)
        // A stop token that ends some sequence early: the fifth token of the first sequence.
        let stop = free[0][4]
        let b = try host.generate(prompts: prompts, maxTokens: 20, samplers: &samplers, stopToken: stop)
        var order: [(Int, Int32)] = []
        let a = try chained.generate(prompts: prompts, maxTokens: 20, samplers: &samplers, stopToken: stop) { order.append(($0, $1)) }
        #expect(a == b, "chained \(a) vs host \(b)")
        #expect(a[0].count <= 5 && a[0].last == stop)
        #expect(a.contains { $0.count == 20 } || a.allSatisfy { $0.last == stop })
        for s in 0..<3 { #expect(order.filter { $0.0 == s }.map(\.1) == a[s]) }
    }

    /// The reference backend chains too (its plan keeps the last outputs) and agrees.
    @Test func theReferenceBackendChainsTheSameTokens() throws {
        let parameters = GPTTests.spreadParameters(Self.model)
        let reference = try GPTGenerator(Self.model, parameters: parameters, backend: ReferenceBackend())
        let (chained, _) = try generators(batch: 1)
        var greedy = Sampler(greedy: true)
        #expect(try reference.generate(prompt: [0, 3], maxTokens: 12, sampler: &greedy)
                == (try chained.generate(prompt: [0, 3], maxTokens: 12, sampler: &greedy)))
    }
}
