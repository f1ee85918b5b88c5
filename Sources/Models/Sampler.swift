import Foundation
import TensorGraph

/// Turns next-token logits into a choice: temperature, then top-k, top-p (nucleus) and min-p
/// filtering, then a draw from a seeded generator (or the arg-max when greedy). The filters never
/// drop the most likely token, so the kept set is never empty; ``validate()`` says whether the
/// settings are in range.
public struct Sampler: Sendable {
    public var temperature: Double = 1
    public var topK: Int?
    public var topP: Double?
    public var minP: Double?
    public var greedy = false
    public var random: XorShiftRandom

    public init(seed: UInt64 = 42, temperature: Double = 1, topK: Int? = nil, topP: Double? = nil, minP: Double? = nil,
                greedy: Bool = false) {
        self.random = XorShiftRandom(seed: seed)
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.greedy = greedy
    }

    /// A setting outside its range, with the range.
    public struct SettingError: Error, CustomStringConvertible, Equatable, Sendable {
        /// The setting's name as the command line spells it, e.g. `--top-p`.
        public let setting: String
        /// What it must be, e.g. "in (0, 1]".
        public let requirement: String
        /// The value given.
        public let value: String

        public var description: String { "\(setting) must be \(requirement), got \(value)" }
    }

    /// Throws unless every setting is in range: temperature finite and positive, top-k at least 1,
    /// top-p in (0, 1], min-p in [0, 1].
    public func validate() throws {
        guard temperature.isFinite, temperature > 0 else {
            throw SettingError(setting: "--temperature", requirement: "finite and positive", value: "\(temperature)")
        }
        if let topK, topK < 1 { throw SettingError(setting: "--top-k", requirement: "at least 1", value: "\(topK)") }
        if let topP, !(topP > 0 && topP <= 1) { throw SettingError(setting: "--top-p", requirement: "in (0, 1]", value: "\(topP)") }
        if let minP, !(minP >= 0 && minP <= 1) { throw SettingError(setting: "--min-p", requirement: "in [0, 1]", value: "\(minP)") }
    }

    /// The probabilities after temperature and filtering (zeros for filtered tokens), in float64.
    /// The most likely token is always kept, whatever the settings.
    public func distribution(_ logits: [Float]) -> [Double] {
        let t = max(temperature, 1e-6)
        let scaled = logits.map { Double($0) / t }
        let maximum = scaled.max() ?? 0
        var probabilities = scaled.map { Foundation.exp($0 - maximum) }
        let total = probabilities.reduce(0, +)
        probabilities = probabilities.map { $0 / total }
        let order = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] }
        var keep = Set(order)
        if let topK, topK > 0 { keep = keep.intersection(order.prefix(topK)) }
        if let topP, topP < 1 {
            var cumulative = 0.0
            var nucleus = Set<Int>()
            for index in order {
                nucleus.insert(index)
                cumulative += probabilities[index]
                if cumulative >= topP { break }
            }
            keep = keep.intersection(nucleus)
        }
        if let minP, minP > 0, let best = order.first {
            keep = keep.filter { probabilities[$0] >= minP * probabilities[best] }
        }
        if let best = order.first { keep.insert(best) }
        let kept = probabilities.indices.map { keep.contains($0) ? probabilities[$0] : 0 }
        let keptTotal = kept.reduce(0, +)
        return kept.map { $0 / keptTotal }
    }

    public mutating func sample(_ logits: [Float]) -> Int {
        if greedy { return logits.isEmpty ? 0 : ReferenceOps.argmaxIndex(logits) }
        let probabilities = distribution(logits)
        let u = random.uniform()
        var cumulative = 0.0
        for (index, p) in probabilities.enumerated() {
            cumulative += p
            if u < cumulative { return index }
        }
        return probabilities.lastIndex { $0 > 0 } ?? 0
    }
}
