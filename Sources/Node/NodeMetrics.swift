import Foundation
import Metrics
import NIOConcurrencyHelpers

/// The node's metrics, exported at `GET /metrics` by the Prometheus registry the process
/// bootstraps swift-metrics with.
struct NodeMetrics: Sendable {
    let proposals = Counter(label: "cognate_raft_proposals_total")
    let commits = Counter(label: "cognate_raft_entries_applied_total")
    let elections = Counter(label: "cognate_raft_elections_total")
    let leaderChanges = Counter(label: "cognate_raft_leader_changes_total")
    let bytesIn = Counter(label: "cognate_transport_bytes_in_total")
    let bytesOut = Counter(label: "cognate_transport_bytes_out_total")
    let droppedFrames = Counter(label: "cognate_transport_dropped_frames_total")
    let fsync = Timer(label: "cognate_storage_commit_seconds")
    let cycleEntries = Recorder(label: "cognate_raft_cycle_entries")
    let snapshotsSent = Counter(label: "cognate_raft_snapshots_sent_total")
    let snapshotsInstalled = Counter(label: "cognate_raft_snapshots_installed_total")
}

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
