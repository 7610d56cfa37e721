import Foundation
import Logging
import NIOCore
import NodeRPC
import Raft
import Sharding
import Storage

/// The multi-Raft runtime of one node: every shard replica on it, driven by one event loop.
///
/// What arrives (peer messages, client requests) is stepped at once; then one Ready cycle
/// runs over all shards (`NodeRuntime+Cycle`): their entries and hard states go to the
/// write-ahead log in one record and one fdatasync (group commit across shards), the same
/// plus applied commands to LMDB in one unsynced transaction, then their messages go out,
/// batched per peer, then waiting clients are answered. LMDB is synced and the log
/// restarted at checkpoints (and a snapshot install is one synced LMDB commit). Only the
/// loop touches the replicas, so they need no locks.
///
/// A storage failure stops the runtime (`fail`): nothing more is acknowledged, and the
/// process reports the reason and exits; a restart recovers from the log and LMDB.
///
/// `@unchecked Sendable`: after `start(on:)` every member is read and written only on the
/// one event loop (`submit` hops there when called from elsewhere).
public final class NodeRuntime<SM: ReplicatedStateMachine>: @unchecked Sendable {
    enum Event {
        case peerMessages([(UInt32, Message)])
        case snapshot(UInt32, Message)
        case propose(shard: UInt32, requestId: [UInt8], command: [UInt8], reply: ShardReplica.Reply)
        case read(shard: UInt32, request: [UInt8], reply: ShardReplica.Reply)
        case localRead(shard: UInt32, request: [UInt8], reply: ShardReplica.Reply)
        case backup(shard: UInt32, index: UInt64, offset: UInt64, reply: ShardReplica.Reply)
        case membership(shard: UInt32, step: MembershipStep, reply: ShardReplica.Reply)
        case reserve(shard: UInt32, request: [UInt8], reply: ShardReplica.Reply)
        case release(shard: UInt32, ticket: UInt64, reply: ShardReplica.Reply)
        case claim(boot: UInt64, id: [UInt8], reply: ShardReplica.Reply)
        case status(@Sendable (NodeStatus) -> Void)
        case snapshotSent(shard: UInt32, to: UInt64, success: Bool)
        case unreachable(UInt64)
    }

    public let nodeId: UInt64
    public let config: ClusterConfig
    let env: Environment
    let tables: NodeTables
    let wal: RaftWAL
    let stateMachine: SM
    let logger: Logger
    let metrics = NodeMetrics()
    var replicas: [UInt32: ShardReplica] = [:]
    /// This run of the node: once ids (`Reservation.Once`) issued here name it, and only
    /// this run, which remembers what it granted, may grant them.
    let boot = UInt64.random(in: 1...UInt64.max)
    /// The once ids granted in this run.
    var claimed = OnceTable()
    /// Sends frames to peers; set before `start()`.
    var send: (@Sendable (_ peer: UInt64, _ frame: Frame, _ done: (@Sendable (Bool) -> Void)?) -> Void)?
    /// Told once, with the reason, when storage fails and the runtime stops; set before
    /// `start()`.
    var onFailure: (@Sendable (String) -> Void)?

    /// Set by `start(on:)`; every other member is touched only on this loop.
    private var loop: EventLoop?
    private var tickTask: RepeatedTask?
    var cycleScheduled = false
    private(set) var stopped = false
    var readCounter: UInt64 = 0
    /// Test-only: a storage bug switched on, so a test can show that its checks catch it.
    /// Nil everywhere else.
    var plantedBug: PlantedStorageBug?
    var ticks: UInt64 = 0
    /// Shards whose group no longer lists this node: their replicas are deleted after the
    /// cycle that applied the change.
    var retiring: Set<UInt32> = []
    /// Nodes the definition does not list, with the addresses their shards' replicated
    /// state gives (`NodeRuntime+Membership`).
    public internal(set) var addressBook: [UInt64: NodeAddress] = [:]
    /// A membership change or snapshot may have changed the addresses: read them again
    /// after the cycle.
    var addressesChanged = false
    /// Told of each node address learned after the start (the transport dials it); set
    /// before `start()`.
    var onPeerAddress: (@Sendable (UInt64, NodeAddress) -> Void)?
    /// This data directory's incarnation (`DataIncarnation`).
    public let incarnation: UInt64
    /// `<data>/alive`, touched while the node's loop runs.
    let alive: AliveFile
    /// Nodes removed from the cluster (shard 0's removals): their certificates are refused.
    public internal(set) var deniedNodes: Set<UInt64> = []
    /// Seconds since 1970, for the log's age (tests move it by hand).
    let wallClock: @Sendable () -> Double
    /// Told of a node removed from the cluster (the transport refuses it from then on).
    var onPeerDenied: (@Sendable (UInt64) -> Void)?

    public convenience init(
        nodeId: UInt64, config: ClusterConfig, dataDirectory: String, stateMachine: SM, logger: Logger
    ) throws {
        try self.init(
            nodeId: nodeId, config: config, dataDirectory: dataDirectory, stateMachine: stateMachine, logger: logger,
            walFile: { try POSIXWALFile(path: $0, capacity: $1) })
    }

    /// `walFile` opens the write-ahead log's file at a path with a capacity (tests give one
    /// that fails or loses power, or a small log so that checkpoints come often).
    init(
        nodeId: UInt64, config: ClusterConfig, dataDirectory: String, stateMachine: SM, logger: Logger,
        walCapacity: Int = 64 << 20, walFile: (String, Int) throws -> any WALFile,
        wallClock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) throws {
        self.nodeId = nodeId
        self.wallClock = wallClock
        self.config = config
        self.stateMachine = stateMachine
        self.logger = logger
        env = try Environment(path: dataDirectory, options: .init(mapSize: 256 << 20))
        try DataFormat.check(env, directory: dataDirectory)
        incarnation = try DataIncarnation.load(env)
        alive = AliveFile(path: "\(dataDirectory)/alive")
        alive.touch()
        tables = try NodeTables(env)
        wal = RaftWAL(file: try walFile("\(dataDirectory)/raft.wal", walCapacity), capacity: walCapacity)
        // What the log holds since the last checkpoint goes back into LMDB (durably), then
        // the log starts a new epoch.
        let records = try wal.recover()
        if !records.isEmpty {
            try env.write { [tables] txn in
                for record in records { for part in record { try LMDBRaftStorage.replay(txn, tables, part) } }
            }
            logger.info("replayed \(records.count) write-ahead record(s) into LMDB")
        }
        try wal.checkpoint()
        // The replicas are those stored here; only a node's very first start creates those
        // the founding placement gives it (none for a node that joins later). A node whose
        // replicas all moved away starts with none again.
        var shards = try LMDBRaftStorage.storedShards(env, tables)
        let founding = config.placement
        let initialized = try LMDBRaftStorage.isInitialized(env, tables)
        if shards.isEmpty && !initialized && !(config.node(nodeId)?.joinsLater ?? false) {
            shards = founding.shards(on: nodeId)
        }
        for shard in shards {
            try addReplica(shard: shard, bootstrapVoters: Set(founding.replicas(of: shard)))
        }
        try LMDBRaftStorage.markInitialized(env, tables)
        addressBook = try readAddresses()
        deniedNodes = try readDenied()
    }

    /// Opens (or creates) the replica of `shard`: a founding one with `bootstrapVoters`, a
    /// new member of a running group with none (it waits for the leader's snapshot).
    func addReplica(shard: UInt32, bootstrapVoters: Set<UInt64>) throws {
        let storage = try LMDBRaftStorage(shard: shard, env: env, tables: tables, bootstrapVoters: bootstrapVoters)
        var rc = RaftConfig(id: nodeId)
        rc.incarnation = incarnation
        rc.electionTick = config.electionTicks
        rc.heartbeatTick = config.heartbeatTicks
        rc.applied = try storage.storedApplied()
        rc.maxEntriesPerMessage = 1024
        rc.maxBytesPerMessage = 4 << 20
        rc.maxInflight = 256
        let raft = RaftNode(config: rc, storage: storage, random: SystemRandomNumberGenerator())
        storage.snapshotData = { [env, tables, unowned storage] in try Self.makeSnapshot(env, tables, storage) }
        replicas[shard] = ShardReplica(shard: shard, raft: raft, storage: storage)
    }

    /// The replica that should lead `shard`, while its voters are still the founding
    /// placement's (the first of them, so leaders spread over nodes); nil once the
    /// membership changed, when `cognate cluster rebalance` places leaders instead.
    func preferredLeader(_ r: ShardReplica) -> UInt64? {
        let founding = r.shard <= config.shards ? config.placement.replicas(of: r.shard) : []
        guard !founding.isEmpty, r.raft.confState.voters == Set(founding), r.raft.confState.learners.isEmpty else {
            return nil
        }
        return founding[0]
    }

    // MARK: The event loop

    /// Runs the runtime on `loop`, the event loop that also owns the peer and client
    /// connections: a message is stepped on the thread that read it, with no hand-off, and
    /// a cycle's fsync holds the loop while the kernel queues what arrives meanwhile.
    public func start(on loop: EventLoop) {
        self.loop = loop
        let interval = TimeAmount.milliseconds(Int64(config.tickMilliseconds))
        loop.execute { [self] in
            tickTask = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [self] _ in
                guard !stopped else { return }
                tick()
                runCycles()
            }
        }
    }

    /// Finishes the current cycle (so everything acknowledged is durable) and stops taking
    /// work; whoever still waits is answered that the node stopped. Call from outside the
    /// loop.
    public func stop() {
        guard let loop else { return }
        try? loop.submit { [self] in
            guard !stopped else { return }
            stopped = true
            tickTask?.cancel()
            do {
                try checkpoint()
            } catch {
                logger.error("checkpoint at shutdown failed (the log replays it at the next start): \(error)")
            }
            for r in replicas.values { r.failWaiters(reason: "node \(nodeId) stopped") }
        }.wait()
    }

    /// Storage failed: stop taking work at once, without writing anything more, and say
    /// why. Everything acknowledged is already durable in the write-ahead log (answers go
    /// out only after it), so stopping loses nothing; going on could acknowledge what is
    /// not on disk.
    func fail(_ what: String, _ error: any Error) {
        guard !stopped else { return }
        stopped = true
        tickTask?.cancel()
        let reason = "storage failure \(what), stopping node \(nodeId): \(error)"
        logger.critical("\(reason)")
        for r in replicas.values { r.failWaiters(reason: "node \(nodeId) stopped") }
        onFailure?(reason)
    }

    func submit(_ event: Event) {
        guard let loop else { return }
        if loop.inEventLoop {
            accept(event)
        } else {
            loop.execute { [self] in accept(event) }
        }
    }

    private func accept(_ event: Event) {
        guard !stopped else { return rejectStopped(event) }
        handle(event)
        scheduleCycle()
    }

    private func rejectStopped(_ event: Event) {
        switch event {
        case .propose(_, _, _, let reply), .read(_, _, let reply), .localRead(_, _, let reply),
            .backup(_, _, _, let reply), .membership(_, _, let reply), .reserve(_, _, let reply),
            .release(_, _, let reply), .claim(_, _, let reply):
            reply(.unavailable("node \(nodeId) is stopping"))
        case .status(let reply):
            // A stopped node serves no shard.
            reply(NodeStatus(node: nodeId, pid: getpid(), shards: []))
        default:
            break
        }
    }

    /// One cycle after everything already queued on the loop (a whole socket read's worth
    /// of messages) has been stepped: that is the group commit.
    func scheduleCycle() {
        guard !cycleScheduled, let loop else { return }
        cycleScheduled = true
        loop.execute { [self] in
            cycleScheduled = false
            runCycles()
        }
    }

    func runCycles() {
        guard !stopped else { return }
        startReadRounds()
        do {
            // A cycle can produce more work at once (a leader committing its own entries
            // once persisted); run until the replicas are quiet.
            var rounds = 0
            while try cycle() {
                rounds += 1
                if rounds == 16 {
                    scheduleCycle()
                    break
                }
            }
        } catch {
            fail("in a Ready cycle", error)
        }
        if !retiring.isEmpty { retireReplicas() }
        if addressesChanged { learnAddresses() }
    }

    // MARK: Events

    private func handle(_ event: Event) {
        switch event {
        case .peerMessages(let batch):
            for (shard, m) in batch { deliver(m, to: shard) }
        case .snapshot(let shard, let m):
            deliver(m, to: shard)
        case .propose(let shard, let requestId, let command, let reply):
            propose(shard: shard, requestId: requestId, command: command, reply: reply)
        case .read(let shard, let request, let reply):
            guard let r = replicas[shard] else { return reply(missing(shard)) }
            if let refusal = stateMachine.admit(read: request) { return reply(.invalid(refusal)) }
            metrics.reads.increment()
            if shard != 0 { metrics.userShardReads.increment() }
            r.pendingReads.append((.query(request), reply))
        case .localRead(let shard, let request, let reply):
            guard let r = replicas[shard] else { return reply(missing(shard)) }
            if let refusal = stateMachine.admit(read: request) { return reply(.invalid(refusal)) }
            if !r.deferred.isEmpty { flushPendingOrStop() }
            reply(serveRead(shard: shard, request: request))
        case .backup(let shard, let index, let offset, let reply):
            guard let r = replicas[shard] else { return reply(missing(shard)) }
            if index == 0 {
                // A copy costs a scan of the shard and its size in memory: while one is being
                // read, a new one waits (the client retries).
                if let copy = r.backup, ticks - copy.lastUse < backupBusyTicks {
                    return reply(.unavailable("a backup copy of shard \(shard) is being read; try again shortly"))
                }
                r.pendingReads.append((.backup, reply))
            } else {
                reply(backupChunk(r, index: index, offset: offset))
            }
        case .membership(let shard, let step, let reply):
            membership(shard: shard, step: step, reply: reply)
        case .reserve(let shard, let request, let reply):
            guard let r = replicas[shard] else { return reply(missing(shard)) }
            if let refusal = stateMachine.admit(read: request) { return reply(.invalid(refusal)) }
            metrics.reads.increment()
            if shard != 0 { metrics.userShardReads.increment() }
            r.pendingReads.append((.reserve(request), reply))
        case .release(let shard, let ticket, let reply):
            guard let r = replicas[shard] else { return reply(missing(shard)) }
            release(r, ticket: ticket)
            reply(.ok([]))
        case .claim(let boot, let id, let reply):
            reply(.ok([claim(boot: boot, id: id) ? 1 : 0]))
        case .status(let reply):
            reply(status())
        case .snapshotSent(let shard, let to, let success):
            replicas[shard]?.raft.reportSnapshot(to: to, success: success)
        case .unreachable(let peer):
            for r in replicas.values { r.raft.reportUnreachable(peer) }
        }
    }

    /// Steps a peer's message into its shard's replica, unless the sender is not one of the
    /// group's members as this replica knows them (a replica with no members yet, made to
    /// receive its group's snapshot, takes its first leader's messages).
    private func deliver(_ m: Raft.Message, to shard: UInt32) {
        guard let r = replicas[shard] else { return }
        let members = r.raft.confState.members
        guard members.isEmpty || members.contains(m.from) else {
            metrics.droppedMessages.increment()
            return
        }
        r.raft.step(m)
    }

    /// The answer for a shard with no replica here: one the cluster does not have, or one
    /// whose members are elsewhere (the client asks them).
    func missing(_ shard: UInt32) -> ClientResponse.Body {
        guard shard <= Placement.maxShards else {
            return .invalid("the cluster has no shard \(shard) (shards 0...\(Placement.maxShards) at most)")
        }
        return .noReplica("shard \(shard) has no replica on node \(nodeId)")
    }

    private func propose(shard: UInt32, requestId: [UInt8], command: [UInt8], reply: @escaping ShardReplica.Reply) {
        guard let r = replicas[shard] else { return reply(missing(shard)) }
        if let refusal = stateMachine.admit(command: command) { return reply(.invalid(refusal)) }
        if let refusal = Self.clockRefusal(requestId) { return reply(.invalid(refusal)) }
        // A retry of a request already applied gets its answer without a new entry.
        do {
            if let prior = try priorReply(shard: shard, requestId: requestId, command: command) {
                return reply(.ok(prior))
            }
        } catch {
            return fail("reading the request table", error)
        }
        do {
            let index = try r.raft.propose(requestId + command)
            r.proposals[index] = (requestId, reply)
            metrics.proposals.increment()
        } catch let RaftError.notLeader(leader) {
            reply(.notLeader(leader: leader))
        } catch {
            reply(.unavailable("shard \(shard): \(error)"))
        }
    }

    /// How far a request id's clock may be from this node's: the entry's time, which apply
    /// checks the command's times against, is a real time.
    static var clockSkew: UInt64 { 86_400_000 }

    /// Why a request id's clock is not taken (nil: it is).
    static func clockRefusal(_ requestId: [UInt8]) -> String? {
        let theirs = RequestID.milliseconds(of: requestId)
        let ours = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
        let off = theirs > ours ? theirs - ours : ours - theirs
        guard off > clockSkew else { return nil }
        return
            "the request's clock is \(off / 1000) s from this node's (at most \(clockSkew / 1000) s): check the clocks"
    }

    private func tick() {
        ticks += 1
        // About once a second: the liveness probe's file (`cognate probe`).
        // About once a second, too: entries older than the log's maximum age leave it.
        if ticks % UInt64(max(1, 1_000 / config.tickMilliseconds)) == 0 {
            alive.touch()
            do { try compactByAge() } catch { return fail("compacting old entries", error) }
        }
        tendSlots()
        // Staged entries reach LMDB within a tick; the unsynced part of LMDB (and the
        // replay after a crash) stays small.
        do {
            if ticks % 20 == 0 && wal.offset > 8 << 20 { try checkpoint() } else { try flushStaged() }
        } catch {
            return fail("at a checkpoint", error)
        }
        for shard in replicas.keys.sorted() {
            let r = replicas[shard]!
            if let copy = r.backup, ticks - copy.lastUse > backupIdleTicks { r.backup = nil }
            let preferred = preferredLeader(r)
            // The preferred leader asks for the lead first, so leaders spread over nodes.
            if ticks == 2 && preferred == nodeId && r.raft.leader == 0 { r.raft.campaign() }
            r.raft.tick()
            // Rebalance: hand the lead back to the preferred replica once it has caught up.
            if ticks % 40 == 0, r.raft.role == .leader, let preferred, preferred != nodeId,
                r.raft.matchIndex(of: preferred) == r.raft.lastIndex
            {
                try? r.raft.transferLeadership(to: preferred)
            }
        }
    }

    // MARK: Status

    func status() -> NodeStatus {
        var status = NodeStatus(
            node: nodeId, pid: getpid(),
            shards: replicas.keys.sorted().map { shard in
                let r = replicas[shard]!.raft
                return NodeStatus.Shard(
                    shard: shard, role: "\(r.role)", term: r.term, leader: r.leader, commit: r.commitIndex,
                    applied: r.appliedIndex, lastIndex: r.lastIndex, firstIndex: r.firstIndex,
                    voters: r.confState.voters.sorted(),
                    learners: r.confState.learners.isEmpty ? nil : r.confState.learners.sorted(),
                    match: r.role == .leader
                        ? Dictionary(
                            uniqueKeysWithValues: r.confState.members.filter { $0 != nodeId }.map {
                                ("\($0)", r.matchIndex(of: $0) ?? 0)
                            }) : nil)
            },
            peers: addressBook.isEmpty
                ? nil : Dictionary(uniqueKeysWithValues: addressBook.map { ("\($0.key)", $0.value) }))
        status.incarnation = String(incarnation, radix: 16)
        for i in status.shards.indices {
            guard let conf = replicas[status.shards[i].shard]?.raft.confState else { continue }
            status.shards[i].demoted = conf.demoted.isEmpty ? nil : conf.demoted.sorted()
            status.shards[i].incarnations = Dictionary(
                uniqueKeysWithValues: conf.incarnations.map { ("\($0.key)", String($0.value, radix: 16)) })
        }
        return status
    }

    /// Status from another thread (the admin server).
    public func status(_ reply: @escaping @Sendable (NodeStatus) -> Void) { submit(.status(reply)) }
}
