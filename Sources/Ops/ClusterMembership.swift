import Foundation
import NodeRPC
import Raft

/// Changes which nodes hold which shards while the cluster serves: one Raft membership step
/// at a time per shard (the core's single-server changes), each checked against the
/// shard's leader before and after, so a command run again after an interruption picks up
/// where it stopped.
///
/// A node joins a shard as a learner (an empty replica that fills from the leader's
/// snapshot), becomes a voter once it has caught up, and a member leaves only after the
/// leader handed the lead elsewhere; a replica moves by adding the new one before removing
/// the old, so a shard never has fewer voters than before the move.
public struct ClusterMembership: Sendable {
    public let config: ClusterConfig
    let client: NodeClient
    let say: @Sendable (String) -> Void
    /// How long a learner may take to catch up before the change gives up.
    public var catchUpTimeout: Duration = .seconds(600)
    let silent = SilentNodes()

    public init(config: ClusterConfig, client: NodeClient, say: @escaping @Sendable (String) -> Void) {
        self.config = config
        self.client = client
        self.say = say
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    // MARK: Views

    /// Every answering node's status, by node id. A node that did not answer within a
    /// second is not asked again for five (a stopped one would cost every view a second).
    ///
    /// Nodes the definition does not list are found in the answers and asked too.
    public func statuses() async -> [UInt64: NodeStatus] {
        var all: [UInt64: NodeStatus] = [:]
        var asked = Set<UInt64>()
        for _ in 0..<2 {
            let ask = client.knownNodes.filter { !asked.contains($0) && !silent.contains($0) }
            guard !ask.isEmpty else { break }
            asked.formUnion(ask)
            let answers = await withTaskGroup(of: (UInt64, NodeStatus?).self) { group in
                for id in ask { group.addTask { (id, try? await client.status(node: id, timeout: .seconds(1))) } }
                var answers: [(UInt64, NodeStatus?)] = []
                for await a in group { answers.append(a) }
                return answers
            }
            for (id, status) in answers {
                if let status { all[status.node] = status } else { silent.mark(id) }
            }
            client.learn(from: answers.compactMap(\.1))
        }
        return all
    }

    /// `shard` as its leader reports it (the leader of the highest term), waiting up to 30 s
    /// for one.
    public func leaderView(_ shard: UInt32) async throws -> NodeStatus.Shard {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let leaders = await statuses().values.flatMap(\.shards).filter { $0.shard == shard && $0.role == "leader" }
            if let view = leaders.max(by: { $0.term < $1.term }) { return view }
            guard ContinuousClock.now < deadline else { throw Failure(description: "shard \(shard) has no leader") }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    static func members(_ view: NodeStatus.Shard) -> Set<UInt64> { Set(view.voters + (view.learners ?? [])) }

    /// Nodes that answer and vote in shard 0 (every node of the cluster is a member there).
    public func liveNodes() async throws -> [UInt64] {
        let answering = Set(await statuses().keys)
        return try await leaderView(0).voters.filter { answering.contains($0) }.sorted()
    }

    // MARK: Steps

    /// Proposes one change on the shard's leader; a change found applied after a lost
    /// answer counts as done.
    func change(
        _ shard: UInt32, _ kind: ConfChange.Kind, _ node: UInt64, address: NodeAddress? = nil
    ) async throws {
        do {
            try await client.membership(
                shard: shard, .change(kind, node: node, address: address), timeout: .seconds(60))
        } catch {
            let view = try await leaderView(shard)
            let done =
                switch kind {
                case .addLearner: Self.members(view).contains(node)
                case .addVoter: view.voters.contains(node)
                case .remove: !Self.members(view).contains(node)
                case .incarnation: false
                }
            if !done { throw error }
        }
    }

    /// Makes `node` a voter of `shard`: an empty replica there, a learner until its match
    /// index reaches the commit index the leader had when it was added, then a voter.
    ///
    /// A node the definition does not list needs `address` the first time (the members
    /// keep it in the shard's state; `addNode` gives it to shard 0 first).
    public func addMember(_ shard: UInt32, _ node: UInt64, address: NodeAddress? = nil) async throws {
        let started = ContinuousClock.now
        var view = try await leaderView(shard)
        if view.voters.contains(node) { return say("shard \(shard): node \(node) is already a voter") }
        if !(view.learners ?? []).contains(node) {
            try await client.membership(node: node, shard: shard, .addReplica)
            try await change(shard, .addLearner, node, address: address)
            say("shard \(shard): node \(node) added as a learner")
        }
        view = try await leaderView(shard)
        let target = view.commit
        let deadline = ContinuousClock.now + catchUpTimeout
        while (view.match?["\(node)"] ?? 0) < target {
            guard ContinuousClock.now < deadline else {
                throw Failure(
                    description:
                        "shard \(shard): node \(node) did not catch up to index \(target) within \(catchUpTimeout) "
                        + "(it stays a learner; run the command again to go on)")
            }
            try await Task.sleep(for: .milliseconds(100))
            view = try await leaderView(shard)
        }
        try await change(shard, .addVoter, node)
        say("shard \(shard): node \(node) is a voter (caught up to index \(target); \(Self.seconds(since: started)))")
    }

    /// Takes `node` out of `shard`: the lead goes to the best caught-up other voter first,
    /// then the removal; then the node is asked to delete its replica (a dead node cannot,
    /// and has nothing to delete once its data is gone).
    public func removeMember(_ shard: UInt32, _ node: UInt64) async throws {
        var view = try await leaderView(shard)
        if Self.members(view).contains(node) {
            // The group that remains must still have a quorum of voters that answer.
            let remaining = view.voters.filter { $0 != node }
            let answering = Set(await statuses().keys)
            let live = remaining.filter { answering.contains($0) }
            guard view.voters.count == remaining.count || live.count >= remaining.count / 2 + 1 else {
                throw Failure(
                    description:
                        "shard \(shard): removing node \(node) would leave voters \(remaining) of which only \(live) "
                        + "answer, no majority; bring a node back or add one first")
            }
            if view.leader == node {
                try await moveLead(shard, from: node, view: view)
                view = try await leaderView(shard)
            }
            try await change(shard, .remove, node)
            say("shard \(shard): node \(node) removed; voters \(try await leaderView(shard).voters)")
        }
        try await dropReplica(shard, of: node)
    }

    /// Asks `node` to delete its replica of `shard`. A node deletes only a replica whose
    /// group it has seen let it go (the leader's last heartbeat carries its removal), so a
    /// refusal that says it is still a member is asked again for a few seconds.
    func dropReplica(_ shard: UInt32, of node: UInt64) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            do {
                try await client.membership(node: node, shard: shard, .dropReplica, timeout: .seconds(3))
                return
            } catch let error as NodeClientError {
                if error.description.contains("is still a member"), ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(200))
                    continue
                }
                say(
                    "shard \(shard): node \(node) did not delete its replica (\(error)); a node removed while it was "
                        + "down keeps its replicas, inert (the cluster refuses it): stop it and delete its data "
                        + "directory")
                return
            } catch {
                say(
                    "shard \(shard): node \(node) is unreachable; if it comes back with its data, its replicas stay "
                        + "inert (the cluster refuses it): stop it and delete its data directory")
                return
            }
        }
    }

    /// Hands the lead of `shard` from `node` to another voter (the one of highest match,
    /// or `to`) and waits until it moved.
    func moveLead(_ shard: UInt32, from node: UInt64, to: UInt64? = nil, view: NodeStatus.Shard) async throws {
        let others = view.voters.filter { $0 != node }
        guard let target = to ?? others.max(by: { (view.match?["\($0)"] ?? 0) < (view.match?["\($1)"] ?? 0) })
        else { throw Failure(description: "shard \(shard): node \(node) is its only voter") }
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            try? await client.membership(shard: shard, .transferLeader(to: target), timeout: .seconds(5))
            try await Task.sleep(for: .milliseconds(200))
            let now = try await leaderView(shard)
            if now.leader != node {
                return say("shard \(shard): leader \(node) → \(now.leader)")
            }
            guard ContinuousClock.now < deadline else {
                throw Failure(description: "shard \(shard): node \(node) kept the lead for 30 s")
            }
        }
    }

    /// Moves `shard`'s replica from `from` to `to`: `to` joins (learner, then voter) before
    /// `from` leaves.
    public func moveReplica(_ shard: UInt32, from: UInt64, to: UInt64) async throws {
        guard from != to else { throw Failure(description: "--from and --to are the same node") }
        let view = try await leaderView(shard)
        guard Self.members(view).contains(from) || view.voters.contains(to) else {
            throw Failure(description: "shard \(shard): node \(from) is not a member (voters \(view.voters))")
        }
        try await addMember(shard, to)
        try await removeMember(shard, from)
    }

    // MARK: Whole nodes

    /// Adds `node` to shard 0 (every node is there) and to `shards`. A node the definition
    /// does not list needs its `address`; shard 0 records it, so every node can reach it.
    public func addNode(_ node: UInt64, shards: [UInt32], address: NodeAddress? = nil) async throws {
        if config.node(node) == nil {
            guard let address else {
                throw Failure(
                    description:
                        "node \(node) is not in the cluster definition: give its addresses (--peer, --admin) or add "
                        + "its [[nodes]] entry with `join = true`")
            }
            client.learn(node: node, address: address)
        }
        // A node started a moment ago may not listen yet: ten seconds to answer.
        var answer: NodeStatus?
        let deadline = ContinuousClock.now + .seconds(10)
        repeat {
            answer = try? await client.status(node: node, timeout: .seconds(2))
            if answer == nil { try await Task.sleep(for: .milliseconds(250)) }
        } while answer == nil && ContinuousClock.now < deadline
        guard let status = answer else {
            throw Failure(
                description:
                    "node \(node) does not answer: start it first (`cognate node --config FILE --id \(node)`, with "
                    + "`join = true` in its [[nodes]] entry or --peer, --admin and --data)")
        }
        guard status.node == node else {
            throw Failure(description: "the node at that address is node \(status.node), not \(node)")
        }
        for shard in [0] + shards.filter({ $0 != 0 }) { try await addMember(shard, node, address: address) }
    }

    /// Takes `node` out of the cluster: each user shard's replica on it moves to the live
    /// node with the fewest replicas that is not already a member, then it leaves shard 0.
    /// Works for a dead node (its data is not needed: the others hold every committed entry).
    public func removeNode(_ node: UInt64) async throws {
        let live = try await liveNodes().filter { $0 != node }
        let count = try await userShardCount()
        for shard in UInt32(1)...UInt32(count) {
            let views = try await userShardViews(count: count)
            guard let view = views[shard] else { continue }
            guard Self.members(view).contains(node) else {
                // Not a member (any more): only a replica it may still keep is deleted.
                try? await dropReplica(shard, of: node)
                continue
            }
            let load = Self.replicaCounts(views, nodes: live)
            let members = Self.members(view)
            if let to = live.filter({ !members.contains($0) }).min(by: { (load[$0] ?? 0, $0) < (load[$1] ?? 0, $1) }) {
                try await moveReplica(shard, from: node, to: to)
            } else if view.voters.count > config.replication {
                try await removeMember(shard, node)
            } else {
                throw Failure(
                    description:
                        "shard \(shard): no live node outside its members \(members.sorted()) can take node "
                        + "\(node)'s replica; add a node first (`cognate cluster add-node`)")
            }
        }
        try await removeMember(0, node)
    }

    func userShardViews(count: Int) async throws -> [UInt32: NodeStatus.Shard] {
        var views: [UInt32: NodeStatus.Shard] = [:]
        for shard in UInt32(1)...UInt32(max(count, 1)) { views[shard] = try await leaderView(shard) }
        return views
    }

    static func replicaCounts(_ views: [UInt32: NodeStatus.Shard], nodes: [UInt64]) -> [UInt64: Int] {
        var counts = Dictionary(uniqueKeysWithValues: nodes.map { ($0, 0) })
        for view in views.values { for m in members(view) where counts[m] != nil { counts[m]! += 1 } }
        return counts
    }

    /// Spreads user-shard replicas over the live nodes until counts differ by at most one,
    /// then leaders likewise (shards whose voters are still the founding placement keep
    /// their preferred leader, which the nodes restore by themselves).
    public func rebalance() async throws {
        let live = try await liveNodes()
        let count = try await userShardCount()
        var moves = 0
        for _ in 0..<(4 * count) {
            let views = try await userShardViews(count: count)
            let load = Self.replicaCounts(views, nodes: live)
            guard let most = live.max(by: { (load[$0]!, $1) < (load[$1]!, $0) }),
                let least = live.min(by: { (load[$0]!, $0) < (load[$1]!, $1) }), load[most]! - load[least]! > 1
            else { break }
            // A shard on the busiest node but not on the idlest; one it does not lead first.
            let candidates = views.filter {
                Self.members($0.value).contains(most) && !Self.members($0.value).contains(least)
            }
            guard
                let shard = candidates.min(by: {
                    ($0.value.leader == most ? 1 : 0, $0.key) < ($1.value.leader == most ? 1 : 0, $1.key)
                })?.key
            else { break }
            try await moveReplica(shard, from: most, to: least)
            moves += 1
        }
        var transfers = 0
        for _ in 0..<(2 * (count + 1)) {
            var views = try await userShardViews(count: count)
            views[0] = try await leaderView(0)
            var leads = Dictionary(uniqueKeysWithValues: live.map { ($0, 0) })
            for view in views.values where leads[view.leader] != nil { leads[view.leader]! += 1 }
            guard let most = live.max(by: { (leads[$0]!, $1) < (leads[$1]!, $0) }) else { break }
            // A shard `most` leads, not pinned by the founding placement, with a voter that
            // leads at least two fewer.
            let movable = views.filter { shard, view in
                view.leader == most
                    && !(shard <= config.shards && Set(view.voters) == Set(config.placement.replicas(of: shard))
                        && (view.learners ?? []).isEmpty)
            }
            var best: (shard: UInt32, to: UInt64)?
            for (shard, view) in movable.sorted(by: { $0.key < $1.key }) {
                guard
                    let to = view.voters.filter({ leads[$0] != nil && $0 != most }).min(by: {
                        (leads[$0]!, $0) < (leads[$1]!, $1)
                    }),
                    leads[to]! + 1 < leads[most]!
                else { continue }
                best = (shard, to)
                break
            }
            guard let best else { break }
            try await moveLead(best.shard, from: most, to: best.to, view: views[best.shard]!)
            transfers += 1
        }
        let views = try await userShardViews(count: count)
        let load = Self.replicaCounts(views, nodes: live)
        say(
            "rebalanced: \(moves) replica move(s), \(transfers) leader transfer(s); user-shard replicas per node: "
                + live.map { "\($0): \(load[$0]!)" }.joined(separator: ", "))
    }

    static func seconds(since start: ContinuousClock.Instant) -> String {
        let d = ContinuousClock.now - start
        return String(format: "%.1f s", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
    }
}

/// Nodes that just failed to answer, until when they are skipped.
///
/// `@unchecked Sendable`: `until` is guarded by `lock`.
final class SilentNodes: @unchecked Sendable {
    private let lock = NSLock()
    private var until: [UInt64: ContinuousClock.Instant] = [:]

    func mark(_ node: UInt64) { lock.withLock { until[node] = .now + .seconds(5) } }

    func contains(_ node: UInt64) -> Bool {
        lock.withLock {
            guard let t = until[node] else { return false }
            if t <= .now { until[node] = nil }
            return t > .now
        }
    }
}
