import ArgumentParser
import Foundation
import Models

/// `sample gpt --beam W`: beam search instead of sampling.
extension Sample {
    func validateBeamOptions() throws {
        if let beam {
            guard model == "gpt" else { throw ValidationError("--beam is for gpt only") }
            guard beam >= 1 else { throw ValidationError("--beam must be ≥ 1, got \(beam)") }
            guard !noCache else { throw ValidationError("--beam decodes through the KV cache; drop --no-cache") }
        }
        guard lengthPenalty >= 0, lengthPenalty.isFinite else {
            throw ValidationError("--length-penalty must be finite and ≥ 0, got \(lengthPenalty)")
        }
        if let endChar, endChar.count != 1 { throw ValidationError("--end-char must be one character, got \(endChar.debugDescription)") }
    }

    /// Prints the beams, best first: rank, log-probability, length-penalised score, and the text.
    func searchBeams(width: Int) throws {
        let (configuration, checkpoint) = try loadGPT(self.checkpoint)
        let vocabulary = checkpoint.vocabulary
        let isNames = vocabulary == .names
        let newline = vocabulary.id(of: "\n")
        var endToken = isNames ? newline : nil
        if let endChar {
            guard let id = vocabulary.id(of: endChar.first!) else {
                throw CommandError.badArguments("--end-char \(endChar.debugDescription) is not in the checkpoint's vocabulary")
            }
            endToken = id
        }
        let promptTokens = try gptPromptTokens(prompt ?? "\n", vocabulary: vocabulary)
        guard !promptTokens.isEmpty else { throw CommandError.badArguments("--prompt must not be empty") }
        let room = configuration.blockSize - promptTokens.count + 1
        guard room >= 1 else {
            throw CommandError.badArguments("--prompt of \(promptTokens.count) tokens leaves no room in the block of \(configuration.blockSize) (beams do not slide)")
        }
        let maxTokens = min(length ?? (isNames ? 40 : 500), room)
        if let length, length > room {
            FileHandle.standardError.write(Data("--length \(length) cut to \(room): beams stay within the block of \(configuration.blockSize)\n".utf8))
        }
        let search = try GPTBeamSearch(configuration, parameters: checkpoint.parameters, backend: try runOptions.backend(),
                                       width: width, lengthPenalty: lengthPenalty,
                                       weightFormats: ModelQuantization.formats(of: checkpoint.parameters))
        let start = ContinuousClock.now
        let beams = try search.search(prompt: promptTokens, maxTokens: maxTokens, endToken: endToken)
        let elapsed = ContinuousClock.now - start
        let prefix = isNames ? promptTokens.filter { $0 != newline } : []
        for (rank, hypothesis) in beams.enumerated() {
            let body = hypothesis.tokens.filter { !(isNames && $0 == newline) }
            let text = (isNames ? "" : prompt ?? "") + vocabulary.decode(prefix + body)
            print(String(format: "%2d  logp %9.4f  score %9.4f  ", rank + 1, hypothesis.logProbability, hypothesis.score)
                  + (hypothesis.finished ? "ended  " : "open   ") + text.debugDescription)
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        FileHandle.standardError.write(Data(String(format: "beam %d: %d decode steps (one plan run each, all beams), %.1f ms; "
            + "%d cache row copies in %d steps, %.1f ms; total %.1f ms\n", width, search.decodeSteps, search.decodeSeconds * 1000,
            search.rowCopies, search.reorderSteps, search.reorderSeconds * 1000, seconds * 1000).utf8))
    }
}
