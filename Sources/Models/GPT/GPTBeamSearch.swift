import Foundation
import TensorGraph

/// One sequence a beam search returns: the generated tokens (the end token included when it
/// ended there), their total log-probability, and the length-penalised score beams are ranked by.
public struct BeamHypothesis: Equatable, Sendable {
    /// The generated tokens, after the prompt.
    public let tokens: [Int32]
    /// Σ log p(token | everything before it), natural logarithm.
    public let logProbability: Double
    /// `logProbability / lengthPenalty(tokens.count)`: what the beams are ranked by.
    public let score: Double
    /// True when the sequence ended with the end token.
    public let finished: Bool
}

/// Beam search over a GPT: `width` beams decoded together as the rows of one batched KV-cache
/// decode plan (one plan run per step for all beams, not one per beam).
///
/// Each step extends every live beam by every token (log-probabilities from a log-softmax of its
/// row's logits, in Double on the host) and keeps the `width` best candidates by
/// ``BeamHypothesis/score``; ties go to the lower beam slot, then the lower token id. A candidate
/// ending with the end token leaves the beam as a finished hypothesis (when it ranks among the
/// first `width`). When a beam is kept twice, its copy gets a free cache row and the parent's
/// rows of every layer's keys and values are copied there before the next step: a beam only ever
/// reads the rows its own tokens wrote. The search stops after `maxTokens` tokens, or once `width`
/// hypotheses have finished and no live beam can still beat the worst of them.
///
/// Length penalty (GNMT, Wu et al. 2016): `score = logP / ((5 + L) / 6)^α` with L the generated
/// length; α = 0 ranks by the plain log-probability, larger α favours longer sequences.
public final class GPTBeamSearch {
    public let model: GPTConfiguration
    /// Beams kept per step (the decode plan's batch).
    public let width: Int
    /// α of the length penalty (≥ 0).
    public let lengthPenalty: Double
    private let plan: any Plan
    private let cacheNames: [(keys: String, values: String)]

    /// Decode plan runs, and the time they took.
    public private(set) var decodeSteps = 0, decodeSeconds = 0.0
    /// Cache rows copied from a parent beam to its second child (each copies every layer's keys
    /// and values), how many steps needed any, and the time the copies took (download, copy, upload).
    public private(set) var rowCopies = 0, reorderSteps = 0, reorderSeconds = 0.0

    /// - Parameters:
    ///   - width: beams kept per step, ≥ 1.
    ///   - lengthPenalty: α ≥ 0 (finite).
    public init(_ model: GPTConfiguration, parameters: [String: TensorData], backend: any Backend, width: Int,
                lengthPenalty: Double = 0, weightFormats: [String: QuantFormat] = [:],
                options: CompileOptions = CompileOptions()) throws {
        guard width >= 1 else {
            throw GraphError(op: "beam search", shapes: [], expected: "a beam width ≥ 1", message: "width \(width)")
        }
        guard lengthPenalty >= 0, lengthPenalty.isFinite else {
            throw GraphError(op: "beam search", shapes: [], expected: "a finite length penalty ≥ 0",
                             message: "length penalty \(lengthPenalty)")
        }
        self.model = model
        self.width = width
        self.lengthPenalty = lengthPenalty
        let step = try GPTModel.decode(model, batch: width, weightFormats: weightFormats)
        plan = try backend.compile(step.graph, outputs: [step.logits], assignments: step.cacheUpdates, options: options)
        for (name, value) in parameters { try plan.setVariable(name, value) }
        cacheNames = step.cacheNames
    }

    /// The length penalty's divisor for `length` generated tokens.
    public func penalty(length: Int) -> Double {
        lengthPenalty == 0 ? 1 : Foundation.pow((5 + Double(length)) / 6, lengthPenalty)
    }

    private struct Beam {
        var tokens: [Int32]
        var logProbability: Double
    }

    /// The best hypotheses (at most `width`, best first) continuing `prompt` (non-empty) by up to
    /// `maxTokens` tokens; a hypothesis ends at `endToken` when one is given.
    /// - Throws: ``GraphError`` when the prompt is empty or the prompt and `maxTokens` need more
    ///   positions than the model's block (`prompt.count + maxTokens − 1 ≤ blockSize`; beams do not slide).
    public func search(prompt: [Int32], maxTokens: Int, endToken: Int32? = nil) throws -> [BeamHypothesis] {
        guard !prompt.isEmpty, maxTokens >= 1, prompt.count + maxTokens - 1 <= model.blockSize else {
            throw GraphError(op: "beam search", shapes: [],
                             expected: "a non-empty prompt and 1 ≤ maxTokens ≤ block − prompt + 1 (block \(model.blockSize))",
                             message: "prompt of \(prompt.count) tokens, maxTokens \(maxTokens)")
        }
        try resetCache()
        // Every row holds the prompt: one step per prompt token, the same token in every row.
        var logits: [[Float]] = []
        for (position, token) in prompt.enumerated() {
            logits = try step(tokens: [Int32](repeating: token, count: width), position: position)
        }
        // Slots of the decode batch: the beam each row holds (nil: free). At first only row 0 counts
        // (all rows hold the same prompt, so expanding more would only duplicate candidates).
        var beams: [Beam?] = [Beam(tokens: [], logProbability: 0)] + [Beam?](repeating: nil, count: width - 1)
        var finished: [BeamHypothesis] = []
        for length in 1...maxTokens {
            var candidates: [(score: Double, logP: Double, slot: Int, token: Int32)] = []
            for (slot, beam) in beams.enumerated() {
                guard let beam else { continue }
                let logP = Self.logSoftmax(logits[slot])
                for (token, value) in logP.enumerated() {
                    let total = beam.logProbability + value
                    // A NaN log-probability ranks below every number.
                    let score = total.isNaN ? -Double.infinity : total / penalty(length: length)
                    candidates.append((score, total, slot, Int32(token)))
                }
            }
            candidates.sort { ($0.score, -$0.slot, -Int($0.token)) > ($1.score, -$1.slot, -Int($1.token)) }
            var kept: [(parent: Int, beam: Beam)] = []
            for (rank, candidate) in candidates.enumerated() {
                let tokens = beams[candidate.slot]!.tokens + [candidate.token]
                if candidate.token == endToken {
                    if rank < width {
                        finished.append(BeamHypothesis(tokens: tokens, logProbability: candidate.logP, score: candidate.score,
                                                       finished: true))
                    }
                } else {
                    kept.append((candidate.slot, Beam(tokens: tokens, logProbability: candidate.logP)))
                }
                if kept.count == width { break }
            }
            if length == maxTokens || kept.isEmpty || isDone(finished: finished, best: kept.first?.beam, maxTokens: maxTokens) {
                let live = kept.map { BeamHypothesis(tokens: $0.beam.tokens, logProbability: $0.beam.logProbability,
                                                     score: $0.beam.logProbability / penalty(length: length), finished: false) }
                return Array((finished + live).sorted { $0.score > $1.score }.prefix(width))
            }
            beams = try place(kept)
            var tokens = [Int32](repeating: 0, count: width)
            for (slot, beam) in beams.enumerated() { if let beam { tokens[slot] = beam.tokens.last! } }
            logits = try step(tokens: tokens, position: prompt.count + length - 1)
        }
        preconditionFailure("the loop returns at maxTokens")
    }

    /// Whether `width` hypotheses have finished and the best live beam can no longer beat the worst
    /// of them: its log-probability only falls, and with α ≥ 0 its score is at best that over the
    /// largest penalty, reached at `maxTokens`.
    private func isDone(finished: [BeamHypothesis], best: Beam?, maxTokens: Int) -> Bool {
        guard finished.count >= width, let best else { return false }
        let worstKept = finished.map(\.score).sorted(by: >)[width - 1]
        let bound = best.logProbability / penalty(length: maxTokens)
        return bound <= worstKept
    }

    /// Assigns the kept beams to cache rows: each parent's first child stays in the parent's row;
    /// further children take rows no kept beam descends from, after the parent's rows are copied there.
    private func place(_ kept: [(parent: Int, beam: Beam)]) throws -> [Beam?] {
        var slots = [Beam?](repeating: nil, count: width)
        var pending: [(parent: Int, beam: Beam)] = []
        for (parent, beam) in kept {
            if slots[parent] == nil { slots[parent] = beam } else { pending.append((parent, beam)) }
        }
        let parents = Set(kept.map(\.parent))
        var free = (0..<width).filter { !parents.contains($0) }
        var copies: [(from: Int, to: Int)] = []
        for (parent, beam) in pending {
            let to = free.removeFirst()
            slots[to] = beam
            copies.append((parent, to))
        }
        if !copies.isEmpty { try copyRows(copies) }
        return slots
    }

    /// Copies cache rows `from` → `to` of every layer's keys and values. No destination is a source:
    /// destinations are rows no kept beam descends from.
    private func copyRows(_ copies: [(from: Int, to: Int)]) throws {
        let start = ContinuousClock.now
        let shape: Shape = [width, model.heads, model.blockSize, model.headSize]
        let row = model.heads * model.blockSize * model.headSize
        for names in cacheNames {
            for name in [names.keys, names.values] {
                var cache = try plan.variable(name).floats
                for (from, to) in copies {
                    cache.replaceSubrange((to * row)..<((to + 1) * row), with: cache[(from * row)..<((from + 1) * row)])
                }
                try plan.setVariable(name, TensorData(shape: shape, floats: cache))
            }
        }
        rowCopies += copies.count
        reorderSteps += 1
        reorderSeconds += GPTGenerator.seconds(since: start)
    }

    private func resetCache() throws {
        let shape: Shape = [width, model.heads, model.blockSize, model.headSize]
        let zeros = TensorData(shape: shape, floats: [Float](repeating: 0, count: shape.count))
        for names in cacheNames {
            try plan.setVariable(names.keys, zeros)
            try plan.setVariable(names.values, zeros)
        }
    }

    /// One decode step of every row at `position`; each row's logits.
    private func step(tokens: [Int32], position: Int) throws -> [[Float]] {
        let start = ContinuousClock.now
        let positions = [Int](repeating: position, count: width)
        let logits = try plan.run(GPTModel.decodeFeeds(model, tokens: tokens, positions: positions))[0].floats
        decodeSteps += 1
        decodeSeconds += GPTGenerator.seconds(since: start)
        let v = model.vocabulary
        return (0..<width).map { Array(logits[($0 * v)..<(($0 + 1) * v)]) }
    }

    /// log softmax in Double; NaN logits give NaN.
    static func logSoftmax(_ logits: [Float]) -> [Double] {
        let values = logits.map(Double.init)
        let top = values.max() ?? 0
        let logSum = Foundation.log(values.reduce(0) { $0 + Foundation.exp($1 - top) }) + top
        return values.map { $0 - logSum }
    }
}
