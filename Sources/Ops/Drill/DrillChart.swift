import Foundation

/// The drill's SVG timeline: client operations per 250 ms, faults shaded, recovery marked.
public enum DrillChart {
    public static func svg(_ report: FailoverDrill.Report, timeline: [(t: Double, ok: Int, failed: Int)]) -> String {
        let w = 1000.0, h = 360.0, left = 60.0, right = 20.0, top = 40.0, bottom = 50.0
        let plotW = w - left - right, plotH = h - top - bottom
        let span = max(1, timeline.last.map { $0.t + 0.25 } ?? 1)
        let peak = Double(max(1, timeline.map { max($0.ok, $0.failed) }.max() ?? 1)) * 1.1
        func x(_ t: Double) -> Double { left + plotW * t / span }
        func y(_ v: Double) -> Double { top + plotH * (1 - v / peak) }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(w))" height="\(Int(h))" font-family="sans-serif" \
            font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(f(left))" y="20" font-size="14">Failover drill (\(report.fault.rawValue), target \
            \(report.target.rawValue)): client operations per 250 ms, succeeded (green) and failed (red); faults \
            shaded</text>

            """
        for r in report.rounds {
            out +=
                "<rect x=\"\(f(x(r.faultAt)))\" y=\"\(f(top))\" width=\"\(f(max(1, x(r.healAt) - x(r.faultAt))))\" "
                + "height=\"\(f(plotH))\" fill=\"#fde0c5\"/>\n"
            out += "<text x=\"\(f(x(r.faultAt) + 2))\" y=\"\(f(top + 12))\">\(r.round): node \(r.target)</text>\n"
            if let rec = r.recoverySeconds {
                out +=
                    "<line x1=\"\(f(x(r.faultAt + rec)))\" y1=\"\(f(top))\" x2=\"\(f(x(r.faultAt + rec)))\" "
                    + "y2=\"\(f(top + plotH))\" stroke=\"#1f77b4\" stroke-dasharray=\"3,3\"/>\n"
            }
        }
        out +=
            "<line x1=\"\(f(left))\" y1=\"\(f(top + plotH))\" x2=\"\(f(left + plotW))\" y2=\"\(f(top + plotH))\" "
            + "stroke=\"black\"/>\n"
        out +=
            "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotH))\" stroke=\"black\"/>\n"
        for k in 0...4 {
            let v = peak * Double(k) / 4
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(y(v) + 4))\" text-anchor=\"end\">\(Int(v))</text>\n"
        }
        let ticks = Int(span / 10)
        for k in 0...max(0, ticks) {
            out +=
                "<text x=\"\(f(x(Double(k) * 10)))\" y=\"\(f(top + plotH + 16))\" "
                + "text-anchor=\"middle\">\(k * 10)</text>\n"
        }
        out +=
            "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(h - 10))\" text-anchor=\"middle\">seconds (dashed blue: "
            + "every shard acknowledging writes again)</text>\n"
        let ok = timeline.map { "\(f(x($0.t + 0.125))),\(f(y(Double($0.ok))))" }.joined(separator: " ")
        let bad = timeline.map { "\(f(x($0.t + 0.125))),\(f(y(Double($0.failed))))" }.joined(separator: " ")
        out += "<polyline fill=\"none\" stroke=\"#2ca02c\" stroke-width=\"1.5\" points=\"\(ok)\"/>\n"
        out += "<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.5\" points=\"\(bad)\"/>\n"
        return out + "</svg>\n"
    }
}
