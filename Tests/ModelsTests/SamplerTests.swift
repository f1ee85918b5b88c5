import Models
import Testing

/// The sampler's filters and the range of its settings.
@Suite struct SamplerTests {
    private let logits: [Float] = [0.5, 2, -1, 1.5, 0]

    /// Whatever the settings, the most likely token stays: the distribution is never 0/0.
    @Test func filtersNeverEmptyTheKeptSet() {
        for sampler in [Sampler(minP: 2), Sampler(topK: 0), Sampler(topK: -3), Sampler(topP: -0.5), Sampler(topP: 0),
                        Sampler(temperature: 1e-9, minP: 1), Sampler(topK: 1, topP: 0.01, minP: 1)] {
            let p = sampler.distribution(logits)
            #expect(p.allSatisfy { $0.isFinite }, "\(sampler): \(p)")
            #expect(abs(p.reduce(0, +) - 1) < 1e-12, "\(sampler): \(p)")
            #expect(p[1] > 0, "the most likely token was dropped: \(p)")
        }
        var sampler = Sampler(minP: 2)
        for _ in 0..<5 { #expect(sampler.sample(logits) == 1) }
    }

    @Test func settingsOutsideTheirRangeAreNamed() throws {
        for (sampler, setting) in [(Sampler(minP: 2), "--min-p"), (Sampler(minP: -0.1), "--min-p"), (Sampler(topP: 1.5), "--top-p"),
                                   (Sampler(topP: -0.5), "--top-p"), (Sampler(topP: 0), "--top-p"), (Sampler(topK: 0), "--top-k"),
                                   (Sampler(topK: -3), "--top-k"), (Sampler(temperature: .infinity), "--temperature"),
                                   (Sampler(temperature: .nan), "--temperature"), (Sampler(temperature: 0), "--temperature")] {
            let error = #expect(throws: Sampler.SettingError.self) { try sampler.validate() }
            #expect(error?.setting == setting, "\(String(describing: error))")
        }
        try Sampler(temperature: 0.5, topK: 1, topP: 1, minP: 1).validate()
        try Sampler(minP: 0).validate()
    }
}
