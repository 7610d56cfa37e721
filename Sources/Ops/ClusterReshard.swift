import Foundation
import NodeRPC
import UserPool

/// Grows the user shards from N to M while the cluster serves (`cognate cluster reshard`).
///
/// Users, their subs and memberships, and claims on unique values are placed by jump hash
/// over the user shards, which moves a record only from an old shard to a new one. The
/// steps, each recorded so that running the command again after an interruption goes on:
///
/// 1. shard 0's layout records the target M;
/// 2. each new shard is founded as a Raft group on the live nodes with the fewest replicas;
/// 3. every old shard is fenced: writes to the records that move wait (the front retries
///    them), reads go on; then the old shards' moving records are copied to their new shards,
///    every old shard at once;
/// 4. shard 0's layout records the copy done: from then on fronts route over M shards;
/// 5. each old shard answers requests for moved records with `moved` (a front still routing
///    over N routes again) and deletes them, a batch per entry;
/// 6. shard 0's layout is M.
extension ClusterMembership {
    /// The cluster's user-shard layout: shard 0's record, else the definition's count.
    public func layout() async throws -> UserShardLayout {
        try await UserShardLayout.read(client: client, config: config)
    }

    /// Every user shard with a Raft group: during a reshard, the new ones too.
    public func userShardCount() async throws -> Int {
        let l = try await layout()
        return max(l.shards, l.target ?? 0)
    }

    public func reshard(to target: Int) async throws {
        var layout = try await layout()
        if layout.target == nil && layout.shards >= target {
            return say("the cluster has \(layout.shards) user shards already; they only grow")
        }
        if let running = layout.target, running != target {
            throw Failure(
                description:
                    "a reshard to \(running) user shards is under way: run `cognate cluster reshard --shards "
                    + "\(running)` to finish it first")
        }
        guard target <= UserPoolStateMachine.maxUserShards else {
            throw Failure(description: "at most \(UserPoolStateMachine.maxUserShards) user shards")
        }
        let old = layout.shards
        let started = ContinuousClock.now
        say("user shards \(old) → \(target)")
        if layout.target == nil {
            layout.target = target
            try await setLayout(layout)
        }
        try await foundShards(UInt32(old + 1)...UInt32(target))
        if !layout.copied {
            let fenced = ContinuousClock.now
            for shard in UInt32(1)...UInt32(old) {
                _ = try await propose(shard, .moveShard(ShardMove(shards: target, phase: .fenced)))
            }
            say("shards 1…\(old) fenced: writes to the records that move wait until they are copied")
            // The old shards copy at once: the fence lasts as long as the slowest, not their sum.
            let total = try await withThrowingTaskGroup(of: Int.self) { group in
                for shard in UInt32(1)...UInt32(old) {
                    group.addTask { try await copyMoving(from: shard, shards: target) }
                }
                return try await group.reduce(0, +)
            }
            layout.copied = true
            try await setLayout(layout)
            let waited = Self.seconds(since: fenced)
            say("\(total) records copied; fronts route over \(target) shards (writes to them waited \(waited))")
        }
        for shard in UInt32(1)...UInt32(old) {
            var entries = 0
            while case .more(true) = try await propose(shard, .moveShard(ShardMove(shards: target, phase: .moved))) {
                entries += 1
            }
            say("shard \(shard): moved records deleted (\(entries + 1) entries)")
        }
        try await setLayout(UserShardLayout(shards: target))
        say("resharded: \(target) user shards (\(Self.seconds(since: started)))")
    }

    /// Founds each of `shards` that no node holds yet on the `replication` live nodes with the
    /// fewest user-shard replicas, and waits for its leader.
    func foundShards(_ shards: ClosedRange<UInt32>) async throws {
        let live = try await liveNodes()
        guard live.count >= config.replication else {
            throw Failure(description: "\(live.count) live nodes, fewer than the replication \(config.replication)")
        }
        var views = try await userShardViews(count: Int(shards.lowerBound) - 1)
        for shard in shards {
            let held = await statuses().values.filter { $0.shards.contains { $0.shard == shard } }
            if held.isEmpty {
                let load = Self.replicaCounts(views, nodes: live)
                let voters = live.sorted { (load[$0] ?? 0, $0) < (load[$1] ?? 0, $1) }.prefix(config.replication)
                for node in voters {
                    try await client.membership(node: node, shard: shard, .found(voters: Array(voters)))
                }
                say("shard \(shard): founded on nodes \(voters.sorted())")
            }
            views[shard] = try await leaderView(shard)
            say("shard \(shard): leader \(views[shard]!.leader), voters \(views[shard]!.voters)")
        }
    }

    /// Copies `shard`'s records that belong elsewhere under `shards` user shards to their new
    /// shards, a page at a time; returns how many.
    func copyMoving(from shard: UInt32, shards: Int) async throws -> Int {
        let started = ContinuousClock.now
        var after: Data?
        var copied = 0
        repeat {
            let reply = try await query(shard, .movingRecords(shards: shards, after: after, limit: 1_000))
            guard case .records(let records, let next) = reply else {
                throw Failure(description: "shard \(shard): \(reply)")
            }
            for (target, batch) in Dictionary(grouping: records, by: \.shard).sorted(by: { $0.key < $1.key }) {
                _ = try await propose(target, .ingest(batch))
            }
            copied += records.count
            after = next
        } while after != nil
        say("shard \(shard): \(copied) records copied to their new shards (\(Self.seconds(since: started)))")
        return copied
    }

    func setLayout(_ layout: UserShardLayout) async throws {
        _ = try await propose(0, .setLayout(layout))
    }

    func propose(_ shard: UInt32, _ command: UserPoolCommand) async throws -> UserPoolReply {
        let bytes = try await client.propose(
            shard: shard, requestId: RequestID.make(), command: command.encoded, timeout: .seconds(30))
        let reply = try UserPoolReply.decode(bytes)
        if case .error(let e) = reply { throw Failure(description: "shard \(shard): \(e.message)") }
        return reply
    }

    func query(_ shard: UInt32, _ q: UserPoolQuery) async throws -> UserPoolReply {
        let reply = try UserPoolReply.decode(
            try await client.read(shard: shard, request: q.encoded, timeout: .seconds(30)))
        if case .error(let e) = reply { throw Failure(description: "shard \(shard): \(e.message)") }
        return reply
    }
}

extension UserShardLayout {
    /// The cluster's user-shard layout: shard 0's record, else the definition's count.
    public static func read(client: NodeClient, config: ClusterConfig) async throws -> UserShardLayout {
        let bytes = try await client.read(shard: 0, request: UserPoolQuery.layout.encoded, timeout: .seconds(30))
        switch try UserPoolReply.decode(bytes) {
        case .layout(let stored): return stored ?? UserShardLayout(shards: config.shards)
        case let other: throw ClusterMembership.Failure(description: "shard 0: \(other)")
        }
    }
}
