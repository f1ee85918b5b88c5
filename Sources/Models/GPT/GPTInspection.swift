import Foundation
import TensorGraph

/// What a GPT does with a prompt, for learners: every layer's and head's attention probabilities
/// and the next-token logits, from one forward pass that materialises the attention maps.
public struct GPTInspection: Sendable {
    /// The prompt's tokens.
    public let tokens: [Int32]
    /// `maps[layer][head][query][key]`: how much query position attends to key position (rows sum to 1; keys after the query are 0).
    public let maps: [[[[Float]]]]
    /// Logits for the token after the prompt.
    public let nextLogits: [Float]

    /// Runs `tokens` (1 to block size of them) through the model on `backend`.
    public init(_ model: GPTConfiguration, parameters: [String: TensorData], tokens: [Int32], backend: any Backend) throws {
        let t = tokens.count
        let forward = try GPTModel.forward(model, batch: 1, sequence: t, attentionMaps: true,
                                           weightFormats: ModelQuantization.formats(of: parameters))
        let plan = try backend.compile(forward.graph, outputs: [forward.logits] + forward.attentionMaps, options: CompileOptions())
        for (name, value) in parameters { try plan.setVariable(name, value) }
        let outputs = try plan.run(GPTModel.forwardFeeds(model, tokens: tokens, batch: 1, sequence: t))
        self.init(model, tokens: tokens, outputs: outputs)
    }

    /// Reads a forward pass's outputs: the logits, then each layer's attention maps.
    init(_ model: GPTConfiguration, tokens: [Int32], outputs: [TensorData]) {
        let t = tokens.count, v = model.vocabulary
        self.tokens = tokens
        nextLogits = Array(outputs[0].floats[((t - 1) * v)..<(t * v)])
        maps = outputs.dropFirst().map { layer in
            let values = layer.floats
            return (0..<model.heads).map { h in
                (0..<t).map { q in Array(values[((h * t + q) * t)..<((h * t + q + 1) * t)]) }
            }
        }
    }

    /// One head's map as text: a row per query, a shade per key (` ░▒▓█` for 0 … 1).
    public func textHeatMap(layer: Int, head: Int, labels: [String]) -> String {
        let shades = Array(" ░▒▓█")
        var lines = ["layer \(layer) head \(head)", "     " + labels.map { $0.padding(toLength: 2, withPad: " ", startingAt: 0) }.joined()]
        for (q, row) in maps[layer][head].enumerated() {
            let cells = row.map { p -> String in
                let shade = shades[min(shades.count - 1, Int((Double(p) * Double(shades.count - 1)).rounded()))]
                return String(repeating: shade, count: 2)
            }
            lines.append(labels[q].padding(toLength: 4, withPad: " ", startingAt: 0) + " " + cells.joined())
        }
        return lines.joined(separator: "\n")
    }

    /// Every layer (rows) and head (columns) as a grid of heat maps in one self-contained SVG.
    public func svg(labels: [String], title: String) -> String {
        let t = tokens.count, layers = maps.count, heads = maps.first?.count ?? 0
        let cell = max(6.0, min(24.0, 240.0 / Double(t))), map = cell * Double(t), gap = 36.0, left = 56.0, top = 56.0
        let width = left + Double(heads) * (map + gap), height = top + Double(layers) * (map + gap)
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="10">
            <rect width="100%" height="100%" fill="white"/>
            <text x="8" y="20" font-size="14" font-weight="bold">\(escape(title))</text>

            """
        for layer in 0..<layers {
            for head in 0..<heads {
                let x0 = left + Double(head) * (map + gap), y0 = top + Double(layer) * (map + gap)
                svg += "<text x=\"\(Int(x0))\" y=\"\(Int(y0 - 4))\">layer \(layer) head \(head)</text>\n"
                for (q, row) in maps[layer][head].enumerated() {
                    for (k, p) in row.enumerated() {
                        let shade = Int((1 - Double(p)) * 255)
                        svg += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"rgb(%d,%d,255)\"/>\n",
                                      x0 + Double(k) * cell, y0 + Double(q) * cell, cell, cell, shade, shade)
                    }
                }
                if head == 0 {
                    for (q, label) in labels.enumerated() {
                        svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%@</text>\n",
                                      x0 - 3, y0 + (Double(q) + 0.75) * cell, escape(label))
                    }
                }
            }
        }
        return svg + "</svg>\n"
    }
}
