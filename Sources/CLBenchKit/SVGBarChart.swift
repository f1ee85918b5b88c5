import Foundation

/// A self-contained SVG bar chart of a report's variants: time (left panel) and % of peak
/// (right panel). No external tools; good enough to paste into a README.
public enum SVGBarChart {
    public static func render(_ report: BenchmarkReport) -> String {
        let results = report.results
        let rowHeight = 26.0, labelWidth = 230.0, panelWidth = 300.0, gap = 40.0, top = 56.0
        let width = labelWidth + 2 * panelWidth + gap + 40
        let height = top + Double(max(results.count, 1)) * rowHeight + 40
        let maxTime = max(results.map(\.kernelOrWall).max() ?? 1, 1e-9)
        let maxPercent = max(results.map(\.percentOfPeak).max() ?? 1, 1)
        let fastest = results.filter(\.valid).min { $0.kernelOrWall < $1.kernelOrWall }?.variant
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;")
        }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="10" y="20" font-size="15" font-weight="bold">\(escape(report.benchmark)) — \(escape(report.device.name))</text>
            <text x="10" y="38" fill="#555">\(escape(report.params.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")))</text>
            <text x="\(Int(labelWidth))" y="\(Int(top - 6))" font-weight="bold">time per run (ms, lower is better)</text>
            <text x="\(Int(labelWidth + panelWidth + gap))" y="\(Int(top - 6))" font-weight="bold">% of measured peak</text>

            """
        for (row, result) in results.enumerated() {
            let y = top + Double(row) * rowHeight
            let color = !result.valid ? "#c0392b" : result.variant == fastest ? "#27ae60" : "#2980b9"
            let timeWidth = panelWidth * 0.8 * result.kernelOrWall / maxTime
            let percentWidth = panelWidth * 0.8 * result.percentOfPeak / maxPercent
            svg += """
                <text x="\(Int(labelWidth - 8))" y="\(Int(y + 17))" text-anchor="end">\(escape(result.variant))\(result.valid ? "" : " (FAILED)")</text>
                <rect x="\(Int(labelWidth))" y="\(Int(y + 4))" width="\(String(format: "%.1f", timeWidth))" height="\(Int(rowHeight - 8))" fill="\(color)"/>
                <text x="\(String(format: "%.1f", labelWidth + timeWidth + 4))" y="\(Int(y + 17))">\(String(format: "%.3f", result.kernelOrWall))</text>
                <rect x="\(Int(labelWidth + panelWidth + gap))" y="\(Int(y + 4))" width="\(String(format: "%.1f", percentWidth))" height="\(Int(rowHeight - 8))" fill="\(color)" opacity="0.7"/>
                <text x="\(String(format: "%.1f", labelWidth + panelWidth + gap + percentWidth + 4))" y="\(Int(y + 17))">\(String(format: "%.1f%%", result.percentOfPeak))</text>

                """
        }
        svg += "<text x=\"10\" y=\"\(Int(height - 12))\" fill=\"#555\">green: fastest valid variant; red: failed validation. Kernel time from OpenCL profiling events.</text>\n</svg>\n"
        return svg
    }
}
