import NodeRPC
import Sharding

/// One round of status requests to every node of a cluster: who answered, who did not, and
/// the shards no answering node leads. The launcher waits on it until every shard has a
/// leader; the drill waits on it until a healed node has caught up.
struct ClusterPoll: Sendable {
    var statuses: [NodeStatus]
    /// Nodes that did not answer, in the definition's order.
    var silent: [UInt64]
    /// Shards no answering node reports leading, in ascending order.
    var leaderless: [UInt32]

    /// Asks each node of `config` in turn for its status.
    static func poll(_ config: ClusterConfig, with client: NodeClient) async -> ClusterPoll {
        var statuses: [NodeStatus] = []
        var silent: [UInt64] = []
        for n in config.nodes {
            if let s = try? await client.status(node: n.id) { statuses.append(s) } else { silent.append(n.id) }
        }
        let led = Set(statuses.flatMap { $0.shards.filter { $0.role == "leader" }.map(\.shard) })
        return ClusterPoll(
            statuses: statuses, silent: silent, leaderless: config.placement.allShards.filter { !led.contains($0) })
    }

    /// Every node answered and every shard has a leader.
    var settled: Bool { silent.isEmpty && leaderless.isEmpty }

    /// The highest commit index a leader reports for each shard that has one.
    var leaderCommits: [UInt32: UInt64] {
        Dictionary(
            statuses.flatMap { s in s.shards.filter { $0.role == "leader" }.map { ($0.shard, $0.commit) } },
            uniquingKeysWith: max)
    }

    /// What keeps the poll from being settled, for an error message ("" when settled).
    var missing: String {
        var parts: [String] = []
        if !silent.isEmpty { parts.append("no status from node(s) \(silent.map(String.init).joined(separator: ", "))") }
        if !leaderless.isEmpty {
            parts.append("no leader for shard(s) \(leaderless.map(String.init).joined(separator: ", "))")
        }
        return parts.joined(separator: "; ")
    }
}
