import Foundation

extension FailoverDrill {
    /// An acknowledged write is lost when a register's final value was written by a write
    /// that had been answered before the acknowledged one began: nothing can order the
    /// final value after it.
    static func lostUpdates(_ ops: [RegisterOperation], initial: [String: String]) -> [String] {
        var out: [String] = []
        for register in Set(ops.map(\.register)).sorted() {
            let mine = ops.filter { $0.register == register }
            guard let final = mine.filter({ $0.kind == .read }).max(by: { $0.invoke < $1.invoke }) else { continue }
            let source = mine.first { $0.kind == .write && $0.value == final.value }
            let sourceDone: Double
            if let source {
                guard let c = source.complete else { continue }  // an unknown write may land last
                sourceDone = c
            } else if final.value == initial[register] {
                sourceDone = -.infinity
            } else {
                out.append("register \(register): the final value \(final.value ?? "(none)") was never written")
                continue
            }
            if let overwritten = mine.first(where: {
                $0.kind == .write && $0.complete != nil && $0.invoke > sourceDone && $0.complete! < final.invoke
            }) {
                out.append(
                    "register \(register): acknowledged write \"\(overwritten.value ?? "")\" (answered at "
                        + "\(String(format: "%.3f", overwritten.complete!)) s) is lost; "
                        + "the final value \"\(final.value ?? "")\" was written before it began")
            }
        }
        return out
    }
}
