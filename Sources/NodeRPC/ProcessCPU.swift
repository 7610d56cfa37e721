import Foundation
import Metrics
import NIOConcurrencyHelpers

/// `process_cpu_seconds_total`: the CPU time (user + system) this process has used, brought
/// up to date whenever `/metrics` is read. `cognate bench signin` divides its growth over a
/// run by the sign-ins to report the endpoint's CPU per sign-in.
public enum ProcessCPU {
    private static let counter = FloatingPointCounter(label: "process_cpu_seconds_total")
    private static let recorded = NIOLockedValueBox(0.0)

    /// Seconds of CPU used so far, from getrusage(2).
    public static func seconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return s(usage.ru_utime) + s(usage.ru_stime)
    }

    /// Adds the CPU used since the last call to the counter.
    public static func record() {
        let now = seconds()
        let delta = recorded.withLockedValue { last -> Double in
            defer { last = max(last, now) }
            return max(0, now - last)
        }
        counter.increment(by: delta)
    }
}
