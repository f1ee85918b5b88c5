import Foundation

/// A self-contained SVG line chart of training and validation loss against the step, drawn from
/// log lines (no external tools). Training loss is the per-interval mean of the log lines.
public enum LossCurveSVG {
    public static func render(_ lines: [TrainingLogLine], title: String) -> String {
        let width = 720.0, height = 420.0, left = 64.0, right = 20.0, top = 40.0, bottom = 48.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let train = lines.filter { $0.trainLoss.isFinite }.map { (Double($0.step), $0.trainLoss) }
        let validation = lines.compactMap { line in line.validationLoss.map { (Double(line.step), $0) } }
        let all = train + validation
        let maxStep = max(all.map(\.0).max() ?? 1, 1)
        var lo = all.map(\.1).min() ?? 0, hi = all.map(\.1).max() ?? 1
        if hi - lo < 1e-6 { lo -= 0.5; hi += 0.5 }
        let pad = (hi - lo) * 0.05
        lo -= pad; hi += pad
        func x(_ step: Double) -> Double { left + plotWidth * step / maxStep }
        func y(_ loss: Double) -> Double { top + plotHeight * (1 - (loss - lo) / (hi - lo)) }
        func polyline(_ points: [(Double, Double)], color: String) -> String {
            guard !points.isEmpty else { return "" }
            let coordinates = points.map { String(format: "%.1f,%.1f", x($0.0), y($0.1)) }.joined(separator: " ")
            return "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(coordinates)\"/>\n"
        }
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Int(left))" y="24" font-size="15" font-weight="bold">\(escape(title))</text>
            <rect x="\(Int(left))" y="\(Int(top))" width="\(Int(plotWidth))" height="\(Int(plotHeight))" fill="none" stroke="#999"/>

            """
        for i in 0...5 {
            let loss = lo + (hi - lo) * Double(i) / 5, step = maxStep * Double(i) / 5
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#555\">%.3f</text>\n", left - 6, y(loss) + 4, loss)
            svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n", left, y(loss), left + plotWidth, y(loss))
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#555\">%d</text>\n", x(step), top + plotHeight + 18, Int(step))
        }
        svg += polyline(train, color: "#2980b9") + polyline(validation, color: "#c0392b")
        svg += """
            <text x="\(Int(left + plotWidth / 2))" y="\(Int(height - 8))" text-anchor="middle">step</text>
            <text x="\(Int(left + plotWidth - 150))" y="\(Int(top + 18))" fill="#2980b9">— train loss</text>
            <text x="\(Int(left + plotWidth - 150))" y="\(Int(top + 34))" fill="#c0392b">— validation loss</text>
            </svg>

            """
        return svg
    }
}
