/// Extends `prompt` by up to `maxTokens` tokens, running the whole context (its last `blockSize`
/// tokens) through `nextLogits` for every new one: the way a model without a cache generates,
/// and the baseline a cache is checked against. Stops after `stopToken`; `onToken` sees each
/// token as it comes.
/// - Parameter nextLogits: the logits after the last token of a context of 1 … `blockSize` tokens.
func generateByRecomputingContext(_ prompt: [Int32], blockSize: Int, maxTokens: Int, sampler: inout Sampler, stopToken: Int32?,
                                  onToken: (Int32) -> Void, nextLogits: ([Int32]) throws -> [Float]) throws -> [Int32] {
    var context = Array(prompt.suffix(blockSize))
    var generated: [Int32] = []
    while generated.count < maxTokens {
        let token = Int32(sampler.sample(try nextLogits(context)))
        generated.append(token)
        onToken(token)
        if token == stopToken { break }
        context = Array((context + [token]).suffix(blockSize))
    }
    return generated
}
