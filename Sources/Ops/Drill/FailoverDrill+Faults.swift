import Foundation
import NodeRPC

/// Faults: who leads, injecting and healing one, waiting for the node to catch up.
extension FailoverDrill {
    // MARK: Faults

    /// Each shard's leader by the nodes that answer within a second (the highest term wins).
    func leaders() async -> [UInt32: UInt64] {
        let statuses = await withTaskGroup(of: NodeStatus?.self) { group in
            for n in launcher.config.nodes {
                group.addTask { try? await self.nodes.status(node: n.id, timeout: .seconds(1)) }
            }
            var all: [NodeStatus] = []
            for await s in group { if let s { all.append(s) } }
            return all
        }
        var out: [UInt32: (term: UInt64, node: UInt64)] = [:]
        for st in statuses {
            for sh in st.shards where sh.role == "leader" {
                if out[sh.shard].map({ $0.term < sh.term }) ?? true { out[sh.shard] = (sh.term, st.node) }
            }
        }
        return out.mapValues(\.node)
    }

    func inject(_ fault: Fault, on node: UInt64) throws {
        switch fault {
        case .kill: launcher.signal(node: node, SIGKILL)
        case .pause: launcher.signal(node: node, SIGSTOP)
        case .partition:
            guard let network else { throw DrillError("no partition network") }
            try network.isolate(node)
        }
    }

    func heal(_ fault: Fault, on node: UInt64) throws {
        switch fault {
        case .kill: try launcher.start(node: node)
        case .pause: launcher.signal(node: node, SIGCONT)
        case .partition: try network?.heal(node)
        }
    }

    /// Waits until every node answers, every shard has a leader and `node` has applied to
    /// within 5 entries of each leader's commit; returns what was still missing when
    /// `timeout` ran out, or nil.
    func waitCaughtUp(_ node: UInt64, timeout: Double, without gone: Set<UInt64> = []) async -> String? {
        let deadline = now() + timeout
        var missing = "no poll finished"
        var config = launcher.config
        config.nodes.removeAll { gone.contains($0.id) }
        while now() < deadline {
            let poll = await ClusterPoll.poll(config, with: nodes)
            let commits = poll.leaderCommits
            let behind =
                poll.statuses.first { $0.node == node }?.shards.filter { $0.applied + 5 < commits[$0.shard] ?? 0 }.map(
                    \.shard) ?? []
            if poll.settled, behind.isEmpty { return nil }
            missing = [
                poll.missing,
                behind.isEmpty
                    ? "" : "node \(node) behind on shard(s) \(behind.map(String.init).joined(separator: ", "))",
            ]
            .filter { !$0.isEmpty }.joined(separator: "; ")
            try? await Task.sleep(for: .milliseconds(100))
        }
        return missing
    }
}
