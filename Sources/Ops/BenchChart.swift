/// An SVG chart of a sign-in run (or two, side by side): throughput and p99 per second.
public enum BenchChart {
    public static func svg(_ reports: [SignInBench.Report]) -> String {
        let w = 900.0, h = 420.0, left = 60.0, right = 60.0, top = 40.0, bottom = 50.0
        let plotW = w - left - right, plotH = h - top - bottom
        let seconds = max(1, reports.map(\.timeline.count).max() ?? 1)
        let maxRate = max(1, reports.flatMap(\.timeline).max() ?? 1) * 1.1
        let maxP99 = max(1, reports.flatMap(\.p99Timeline).max() ?? 1) * 1.1
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
        func x(_ i: Int) -> Double { left + plotW * (Double(i) + 0.5) / Double(seconds) }
        func yRate(_ v: Double) -> Double { top + plotH * (1 - v / maxRate) }
        func yP99(_ v: Double) -> Double { top + plotH * (1 - v / maxP99) }
        func f(_ v: Double) -> String { String(Int(v.rounded())) }
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(f(w))" height="\(f(h))" font-family="sans-serif" \
            font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(f(left))" y="20" font-size="14">Sign-ins per second (solid, left axis) and p99 latency in ms \
            (dashed, right axis)</text>
            <line x1="\(f(left))" y1="\(f(top + plotH))" x2="\(f(left + plotW))" y2="\(f(top + plotH))" stroke="black"/>
            <line x1="\(f(left))" y1="\(f(top))" x2="\(f(left))" y2="\(f(top + plotH))" stroke="black"/>
            <line x1="\(f(left + plotW))" y1="\(f(top))" x2="\(f(left + plotW))" y2="\(f(top + plotH))" stroke="black"/>

            """
        for k in 0...4 {
            let fr = Double(k) / 4
            let y = top + plotH * (1 - fr)
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(f(maxRate * fr))</text>\n"
            out += "<text x=\"\(f(left + plotW + 6))\" y=\"\(f(y + 4))\">\(f(maxP99 * fr))</text>\n"
            out += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotW))\" y2=\"\(f(y))\" stroke=\"#eee\"/>\n"
        }
        out += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(h - 12))\" text-anchor=\"middle\">seconds</text>\n"
        for (i, r) in reports.enumerated() {
            let c = colors[i % colors.count]
            let rate = r.timeline.enumerated().map { "\(f(x($0.offset))),\(f(yRate($0.element)))" }.joined(
                separator: " ")
            let p99 = r.p99Timeline.enumerated().map { "\(f(x($0.offset))),\(f(yP99($0.element)))" }.joined(
                separator: " ")
            out += "<polyline fill=\"none\" stroke=\"\(c)\" stroke-width=\"2\" points=\"\(rate)\"/>\n"
            out +=
                "<polyline fill=\"none\" stroke=\"\(c)\" stroke-width=\"1.5\" stroke-dasharray=\"5,4\" "
                + "points=\"\(p99)\"/>\n"
            let label =
                "\(r.endpoint) \(r.flow) c=\(r.concurrency): \(f(r.signInsPerSecond))/s, p99 "
                + "\(String(format: "%.1f", r.p99Ms)) ms"
            out +=
                "<text x=\"\(f(left + 10))\" y=\"\(f(top + 16 + 16 * Double(i)))\" "
                + "fill=\"\(c)\">\(escape(label))</text>\n"
        }
        return out + "</svg>\n"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
            of: ">", with: "&gt;")
    }
}
