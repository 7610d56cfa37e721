import Foundation
import Metrics
import NIOConcurrencyHelpers
import NodeRPC
import Sharding

/// The node's metrics, exported at `GET /metrics` by the Prometheus registry the process
/// bootstraps swift-metrics with.
struct NodeMetrics: Sendable {
    let proposals = Counter(label: "cognate_raft_proposals_total")
    /// Linearizable reads taken (each served after a ReadIndex round).
    let reads = Counter(label: "cognate_reads_total")
    /// Those of user shards (not shard 0, whose pools and clients fronts cache and reload on
    /// their own schedule): what one user-facing operation reads of users.
    let userShardReads = Counter(label: "cognate_user_shard_reads_total")
    let commits = Counter(label: "cognate_raft_entries_applied_total")
    let elections = Counter(label: "cognate_raft_elections_total")
    let leaderChanges = Counter(label: "cognate_raft_leader_changes_total")
    let bytesIn = Counter(label: "cognate_transport_bytes_in_total")
    let bytesOut = Counter(label: "cognate_transport_bytes_out_total")
    let droppedFrames = Counter(label: "cognate_transport_dropped_frames_total")
    /// Client requests refused for the sender's certificate (a front sending an operator's).
    let refusedRequests = Counter(label: "cognate_refused_requests_total")
    /// Raft messages from nodes the receiving replica does not count among its members.
    let droppedMessages = Counter(label: "cognate_raft_messages_from_non_members_total")
    let fsync = Timer(label: "cognate_storage_commit_seconds")
    let cycleEntries = Recorder(label: "cognate_raft_cycle_entries")
    let snapshotsSent = Counter(label: "cognate_raft_snapshots_sent_total")
    let snapshotsInstalled = Counter(label: "cognate_raft_snapshots_installed_total")
    /// Committed commands that could not apply and were answered with a rejection.
    let rejectedEntries = Counter(label: "cognate_raft_rejected_entries_total")
}
