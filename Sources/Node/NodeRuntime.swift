import Foundation
import Logging
import NIOCore
import Raft
import Storage

/// The multi-Raft runtime of one node: every shard replica on it, driven by one event loop.
///
/// What arrives (peer messages, client requests) is stepped at once; then one Ready cycle
/// runs over all shards: their entries and hard states go to the write-ahead log in one
/// record and one fdatasync (group commit across shards), the same plus applied commands to
/// LMDB in one unsynced transaction, then their messages go out, batched per peer, then
/// waiting clients are answered. LMDB is synced and the log restarted at checkpoints (and a
/// snapshot install is one synced LMDB commit). Only the loop touches the replicas, so they
/// need no locks.
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
    /// Sends frames to peers; set before `start()`.
    var send: (@Sendable (_ peer: UInt64, _ frame: Frame, _ done: (@Sendable (Bool) -> Void)?) -> Void)?

    /// Set by `start(on:)`; every other member is touched only on this loop.
    private var loop: EventLoop?
    private var tickTask: RepeatedTask?
    private var cycleScheduled = false
    private var stopped = false
    private var readCounter: UInt64 = 0
    private var ticks: UInt64 = 0

    public init(nodeId: UInt64, config: ClusterConfig, dataDirectory: String, stateMachine: SM, logger: Logger) throws {
        self.nodeId = nodeId
        self.config = config
        self.stateMachine = stateMachine
        self.logger = logger
        env = try Environment(path: dataDirectory, options: .init(mapSize: 256 << 20))
        tables = try NodeTables(env)
        wal = try RaftWAL(path: "\(dataDirectory)/raft.wal")
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
        let placement = config.placement
        for shard in placement.shards(on: nodeId) {
            let voters = Set(placement.replicas(of: shard))
            let storage = try LMDBRaftStorage(shard: shard, env: env, tables: tables, bootstrapVoters: voters)
            var rc = RaftConfig(id: nodeId)
            rc.electionTick = config.electionTicks
            rc.heartbeatTick = config.heartbeatTicks
            rc.applied = try storage.storedApplied()
            rc.maxEntriesPerMessage = 1024
            rc.maxBytesPerMessage = 4 << 20
            rc.maxInflight = 256
            let raft = RaftNode(config: rc, storage: storage, random: SystemRandomNumberGenerator())
            let replica = ShardReplica(shard: shard, raft: raft, storage: storage, preferredLeader: placement.preferredLeader(of: shard))
            storage.snapshotData = { [env, tables, unowned storage] in try Self.makeSnapshot(env, tables, storage) }
            replicas[shard] = replica
        }
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
    /// work. Call from outside the loop.
    public func stop() {
        guard let loop else { return }
        try? loop.submit { [self] in
            stopped = true
            tickTask?.cancel()
            try? checkpoint()
        }.wait()
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
        guard !stopped else { return }
        handle(event)
        scheduleCycle()
    }

    /// One cycle after everything already queued on the loop (a whole socket read's worth
    /// of messages) has been stepped: that is the group commit.
    private func scheduleCycle() {
        guard !cycleScheduled, let loop else { return }
        cycleScheduled = true
        loop.execute { [self] in
            cycleScheduled = false
            runCycles()
        }
    }

    /// Starts one ReadIndex round per shard for the reads that arrived since the last.
    private func startReadRounds() {
        for r in replicas.values where !r.pendingReads.isEmpty {
            let batch = r.pendingReads
            r.pendingReads = []
            readCounter += 1
            let context = withUnsafeBytes(of: readCounter.bigEndian, Array.init)
            do {
                try r.raft.readIndex(context)
                r.reads[context] = batch
            } catch let RaftError.notLeader(leader) {
                for w in batch { w.reply(.notLeader(leader: leader)) }
            } catch {
                for w in batch { w.reply(.unavailable("\(error)")) }
            }
        }
    }

    private func runCycles() {
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
            // Durable state could not be written: continuing could acknowledge what is
            // not on disk. Stop the node; a restart recovers from LMDB.
            logger.critical("storage failure, stopping node: \(error)")
            fatalError("storage failure: \(error)")
        }
    }

    // MARK: Events

    private func handle(_ event: Event) {
        switch event {
        case .peerMessages(let batch):
            for (shard, m) in batch { replicas[shard]?.raft.step(m) }
        case .snapshot(let shard, let m):
            replicas[shard]?.raft.step(m)
        case .propose(let shard, let requestId, let command, let reply):
            propose(shard: shard, requestId: requestId, command: command, reply: reply)
        case .read(let shard, let request, let reply):
            guard let r = replicas[shard] else { return reply(.invalid("shard \(shard) has no replica on node \(nodeId)")) }
            r.pendingReads.append((request, reply))
        case .localRead(let shard, let request, let reply):
            guard let r = replicas[shard] else { return reply(.invalid("shard \(shard) has no replica on node \(nodeId)")) }
            if !r.deferred.isEmpty { flushPendingOrStop() }
            reply(serveRead(shard: shard, request: request))
        case .status(let reply):
            reply(status())
        case .snapshotSent(let shard, let to, let success):
            replicas[shard]?.raft.reportSnapshot(to: to, success: success)
        case .unreachable(let peer):
            for r in replicas.values { r.raft.reportUnreachable(peer) }
        }
    }

    private func propose(shard: UInt32, requestId: [UInt8], command: [UInt8], reply: @escaping ShardReplica.Reply) {
        guard let r = replicas[shard] else { return reply(.invalid("shard \(shard) has no replica on node \(nodeId)")) }
        // A retry of a request already applied gets the stored reply without a new entry.
        if let prior = try? env.read({ txn in try txn.get(Self.requestKey(shard, requestId), in: tables.requests) }) {
            return reply(.ok(prior))
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

    private func tick() {
        ticks += 1
        // Staged entries reach LMDB within a tick; the unsynced part of LMDB (and the
        // replay after a crash) stays small.
        do {
            if ticks % 20 == 0 && wal.offset > 8 << 20 { try checkpoint() } else { try flushStaged() }
        } catch {
            logger.critical("storage failure at a checkpoint, stopping node: \(error)")
            fatalError("storage failure: \(error)")
        }
        for shard in replicas.keys.sorted() {
            let r = replicas[shard]!
            // The preferred leader asks for the lead first, so leaders spread over nodes.
            if ticks == 2 && r.preferredLeader == nodeId && r.raft.leader == 0 { r.raft.campaign() }
            r.raft.tick()
            // Rebalance: hand the lead back to the preferred replica once it has caught up.
            if ticks % 40 == 0, r.raft.role == .leader, r.preferredLeader != nodeId,
                r.raft.matchIndex(of: r.preferredLeader) == r.raft.lastIndex
            {
                try? r.raft.transferLeadership(to: r.preferredLeader)
            }
        }
    }

    // MARK: The Ready cycle

    private struct Applied {
        var shard: UInt32
        var index: UInt64
        var requestId: [UInt8]
        var reply: [UInt8]
    }

    /// One Ready cycle over every shard; returns whether any shard has more.
    private func cycle() throws -> Bool {
        var readies: [(ShardReplica, Ready)] = []
        for shard in replicas.keys.sorted() {
            if let rd = replicas[shard]!.raft.ready() { readies.append((replicas[shard]!, rd)) }
        }
        guard !readies.isEmpty else { return false }

        // Leaders' appends and heartbeats go out before the disk write (they count
        // themselves only after it).
        var early: [UInt64: [(UInt32, Message)]] = [:]
        for (r, rd) in readies { for m in rd.earlyMessages { early[m.to, default: []].append((r.shard, m)) } }
        sendRaft(early)

        var applied: [Applied] = []
        let mustWrite = readies.contains { !$0.1.entries.isEmpty || $0.1.hardState != nil || $0.1.snapshot != nil || !$0.1.committedEntries.isEmpty }
        if mustWrite {
            let start = DispatchTime.now()
            // What Raft needs durable (new entries, term or vote) goes to the write-ahead log:
            // one record, one synchronous write, then it is staged in the shards' storage. A snapshot
            // install (or a record too big for the log) is instead one fully synced LMDB
            // commit, then a checkpoint.
            var fullSync = readies.contains { $0.1.snapshot != nil }
            if !fullSync && readies.contains(where: { $0.1.mustSync }) {
                let record = readies.compactMap { r, rd -> RaftWAL.ShardRecord? in
                    rd.hardState == nil && rd.entries.isEmpty ? nil : RaftWAL.ShardRecord(shard: r.shard, hardState: rd.hardState, entries: rd.entries)
                }
                let size = RaftWAL.encode(record).count
                if !wal.fits(size) { try checkpoint() }
                if wal.fits(size) { try wal.append(record) } else { fullSync = true }
            }
            if !fullSync {
                for (r, rd) in readies { r.storage.stage(hardState: rd.hardState, entries: rd.entries) }
                // Durable in the log: peers may hear of it before LMDB has it.
                sendPersisted(readies)
            }
            // LMDB: committed entries applied (and recorded), staged log entries written,
            // data pages flushed but not the meta page, so the file stays consistent and a
            // machine crash can undo only commits the log replays. Without anything to apply
            // the staged entries wait (the tick writes them out), and so do a follower's
            // committed entries: nobody waits on them, and on a shared disk every flush counts.
            var deferring = Set<UInt32>()
            for (r, rd) in readies where !rd.committedEntries.isEmpty && r.raft.role != .leader && r.proposals.isEmpty && !fullSync {
                r.deferred += rd.committedEntries
                deferring.insert(r.shard)
            }
            let staged = replicas.values.reduce(0) { $0 + $1.storage.stagedCount + $1.deferred.count }
            if fullSync || readies.contains(where: { !$0.1.committedEntries.isEmpty && !deferring.contains($0.0.shard) }) || staged >= 4096 {
                try env.write(sync: fullSync) { txn in
                    applied = []
                    try writePending(txn)
                    for (r, rd) in readies where !deferring.contains(r.shard) {
                        if fullSync {
                            if let snap = rd.snapshot { try installSnapshot(txn, r, snap) }
                            try r.storage.writeDirect(txn, hardState: rd.hardState, entries: rd.entries)
                        }
                        for e in rd.committedEntries where e.kind == .normal && e.data.count >= 16 {
                            applied.append(try apply(txn, shard: r.shard, entry: e))
                        }
                        if let last = rd.committedEntries.last { try r.storage.recordApplied(txn, index: last.index, conf: nil) }
                    }
                    // The entries are committed and their replies computed: answer before the
                    // flush. A crash before it redoes the apply from the log, with the same
                    // results (waiters are removed as answered, so a rerun answers nobody twice).
                    answer(readies, applied)
                }
                didWritePending()
            }
            if fullSync {
                try wal.checkpoint()
                for (r, rd) in readies {
                    if let snap = rd.snapshot {
                        r.storage.didInstall(snap.metadata)
                        metrics.snapshotsInstalled.increment()
                        logger.info("shard \(r.shard): installed snapshot at index \(snap.metadata.index)")
                    }
                    r.storage.didWriteDirect(hardState: rd.hardState, entries: rd.entries)
                }
                sendPersisted(readies)
            }
            metrics.fsync.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds))
            metrics.cycleEntries.record(readies.reduce(0) { $0 + $1.1.entries.count })
        } else {
            sendPersisted(readies)
        }
        metrics.commits.increment(by: applied.count)

        for (r, rd) in readies {
            for rs in rd.readStates {
                for waiting in r.reads.removeValue(forKey: rs.context) ?? [] {
                    r.confirmedReads.append((rs.index, waiting.request, waiting.reply))
                }
            }
            r.raft.advance(rd)
            noteLeadership(r, rd)
            serveConfirmedReads(r)
        }
        try compactIfNeeded()
        return replicas.values.contains { $0.raft.hasReady }
    }

    /// Once a cycle's state is durable: send its messages.
    private func sendPersisted(_ readies: [(ShardReplica, Ready)]) {
        var outgoing: [UInt64: [(UInt32, Message)]] = [:]
        for (r, rd) in readies {
            for m in rd.messages {
                if m.type == .snapshot {
                    sendSnapshot(shard: r.shard, m)
                } else {
                    outgoing[m.to, default: []].append((r.shard, m))
                }
            }
        }
        sendRaft(outgoing)
    }

    /// Each peer's Raft messages, in order, as `.raft` frames within `RaftBatch.frameBudget`.
    private func sendRaft(_ byPeer: [UInt64: [(UInt32, Message)]]) {
        guard let send else { return }
        for (peer, batch) in byPeer {
            for payload in RaftBatch.encode(batch) { send(peer, Frame(kind: .raft, payload: payload), nil) }
        }
    }

    /// Answers the proposals whose entries were applied (or lost their index to another entry).
    private func answer(_ readies: [(ShardReplica, Ready)], _ applied: [Applied]) {
        var appliedByShard: [UInt32: [Applied]] = [:]
        for a in applied { appliedByShard[a.shard, default: []].append(a) }
        for (r, rd) in readies {
            for a in appliedByShard[r.shard] ?? [] {
                guard let waiter = r.proposals.removeValue(forKey: a.index) else { continue }
                if waiter.requestId == a.requestId {
                    waiter.reply(.ok(a.reply))
                } else {
                    waiter.reply(.unavailable("shard \(r.shard): another leader's entry took index \(a.index); retry with the same request id"))
                }
            }
            // Entries of other kinds (no-ops) can also take a waiter's index.
            for e in rd.committedEntries where r.proposals[e.index] != nil {
                r.proposals.removeValue(forKey: e.index)?.reply(.unavailable("shard \(r.shard): index \(e.index) went to another entry; retry with the same request id"))
            }
        }
    }

    private func apply(_ txn: borrowing WriteTransaction, shard: UInt32, entry: Entry) throws -> Applied {
        let requestId = Array(entry.data.prefix(16))
        let command = Array(entry.data.dropFirst(16))
        let key = Self.requestKey(shard, requestId)
        if let prior = try txn.get(key, in: tables.requests) {
            return Applied(shard: shard, index: entry.index, requestId: requestId, reply: prior)
        }
        let reply = try stateMachine.apply(command: command, shard: shard, index: entry.index, txn: txn, tables: tables)
        try txn.put(key, reply, in: tables.requests)
        return Applied(shard: shard, index: entry.index, requestId: requestId, reply: reply)
    }

    static func requestKey(_ shard: UInt32, _ requestId: [UInt8]) -> [UInt8] { ShardKeys.key(shard, requestId) }

    private func noteLeadership(_ r: ShardReplica, _ rd: Ready) {
        guard let soft = rd.softState else { return }
        if soft.leader != r.lastLeader {
            metrics.leaderChanges.increment()
            if soft.leader != 0 { logger.info("shard \(r.shard): leader is now \(soft.leader) (term \(r.raft.term))") }
            r.lastLeader = soft.leader
        }
        if soft.role == .candidate || soft.role == .preCandidate { metrics.elections.increment() }
        let isLeader = soft.role == .leader
        if r.wasLeader && !isLeader { r.failWaiters() }
        r.wasLeader = isLeader
    }

    private func serveConfirmedReads(_ r: ShardReplica) {
        guard !r.confirmedReads.isEmpty else { return }
        if !r.deferred.isEmpty { flushPendingOrStop() }
        let applied = r.raft.appliedIndex
        var waiting: [(index: UInt64, request: [UInt8], reply: ShardReplica.Reply)] = []
        for read in r.confirmedReads {
            if read.index <= applied {
                read.reply(serveRead(shard: r.shard, request: read.request))
            } else {
                waiting.append(read)
            }
        }
        r.confirmedReads = waiting
    }

    private func serveRead(shard: UInt32, request: [UInt8]) -> ClientResponse.Body {
        do {
            return .ok(try env.read { txn in try stateMachine.read(request: request, shard: shard, txn: txn, tables: tables) })
        } catch {
            return .invalid("read failed: \(error)")
        }
    }

    // MARK: Snapshots and compaction

    /// The shard's state machine as of its applied index, with that index's metadata, read in
    /// one transaction so the two agree.
    static func makeSnapshot(_ env: Environment, _ tables: NodeTables, _ storage: LMDBRaftStorage) throws -> (SnapshotMetadata, [UInt8]) {
        let shard = storage.shard
        return try env.read { txn in
            guard let a = try txn.get(LMDBRaftStorage.metaKey(shard, .applied), in: tables.meta) else {
                throw RaftStorageError.snapshotTemporarilyUnavailable
            }
            var ar = BinaryReader(a)
            let applied = try ar.u64()
            let term: UInt64
            if applied == storage.snapshotMeta.index {
                term = storage.snapshotMeta.term
            } else {
                guard let e = try txn.get(LMDBRaftStorage.logKey(shard, applied), in: tables.log) else {
                    throw RaftStorageError.snapshotTemporarilyUnavailable
                }
                var er = BinaryReader(e)
                term = try er.u64()
            }
            var w = BinaryWriter(capacity: 1 << 16)
            for (tag, table) in [(UInt8(0), tables.data), (UInt8(1), tables.requests)] {
                try txn.scan(table, from: ShardKeys.prefix(shard), to: ShardKeys.end(shard)) { k, v in
                    w.u8(tag)
                    w.blob(Array(k.dropFirst(4)))
                    w.blob(Array(v))
                    return true
                }
            }
            return (SnapshotMetadata(index: applied, term: term, confState: storage.conf), w.bytes)
        }
    }

    /// Replaces the shard's state machine with the snapshot's, in the cycle's transaction.
    private func installSnapshot(_ txn: borrowing WriteTransaction, _ r: ShardReplica, _ snap: Snapshot) throws {
        let shard = r.shard
        try txn.deleteRange(tables.data, from: ShardKeys.prefix(shard), to: ShardKeys.end(shard))
        try txn.deleteRange(tables.requests, from: ShardKeys.prefix(shard), to: ShardKeys.end(shard))
        var reader = BinaryReader(snap.data)
        while !reader.isAtEnd {
            let tag = try reader.u8()
            let key = ShardKeys.key(shard, try reader.blob())
            let value = try reader.blob()
            try txn.put(key, value, in: tag == 0 ? tables.data : tables.requests)
        }
        try r.storage.install(txn, snap.metadata)
    }

    private func sendSnapshot(shard: UInt32, _ m: Message) {
        guard let send else { return }
        metrics.snapshotsSent.increment()
        let chunks = SnapshotChunk.split(shard: shard, message: m)
        logger.info("shard \(shard): sending snapshot at index \(m.snapshot?.metadata.index ?? 0) to node \(m.to) in \(chunks.count) chunk(s)")
        for (i, chunk) in chunks.enumerated() {
            let last = i == chunks.count - 1
            send(m.to, Frame(kind: .snapshotChunk, payload: chunk.encode()), { [weak self] ok in
                if last || !ok { self?.submit(.snapshotSent(shard: shard, to: m.to, success: ok)) }
            })
        }
    }

    private func flushPendingOrStop() {
        do {
            try flushStaged()
        } catch {
            logger.critical("storage failure, stopping node: \(error)")
            fatalError("storage failure: \(error)")
        }
    }

    /// LMDB synced to disk, then a new epoch of the write-ahead log.
    private func checkpoint() throws {
        try flushStaged()
        try env.sync()
        try wal.checkpoint()
    }

    private var hasPending: Bool { replicas.values.contains { $0.storage.hasStaged || !$0.deferred.isEmpty } }

    /// Staged log entries and deferred applies, into `txn` (which may run again: nothing
    /// changes here until `didWritePending`).
    private func writePending(_ txn: borrowing WriteTransaction) throws {
        for r in replicas.values where r.storage.hasStaged { try r.storage.flush(txn) }
        for r in replicas.values where !r.deferred.isEmpty {
            for e in r.deferred where e.kind == .normal && e.data.count >= 16 { _ = try apply(txn, shard: r.shard, entry: e) }
            try r.storage.recordApplied(txn, index: r.deferred.last!.index, conf: nil)
        }
    }

    private func didWritePending() {
        for r in replicas.values {
            r.storage.didFlush()
            r.deferred = []
        }
    }

    /// Writes staged log entries and deferred applies to LMDB (a cycle with nothing to
    /// apply leaves them); needed before anything reads the state machine.
    private func flushStaged() throws {
        guard hasPending else { return }
        try env.write(sync: false) { txn in try writePending(txn) }
        didWritePending()
    }

    private func compactIfNeeded() throws {
        let threshold = UInt64(config.snapshotThreshold)
        let due = replicas.values.filter { $0.raft.appliedIndex >= $0.storage.firstIndex() + threshold }
        guard !due.isEmpty else { return }
        var done: [(LMDBRaftStorage, UInt64, UInt64)] = []
        try env.write { txn in
            done = []
            try writePending(txn)
            for r in due {
                // Keep half a threshold of entries so a follower slightly behind catches up
                // from the log rather than from a snapshot.
                let index = r.raft.appliedIndex - threshold / 2
                guard index >= r.storage.firstIndex(), let term = r.raft.term(at: index) else { continue }
                try r.storage.compact(txn, to: index, term: term)
                done.append((r.storage, index, term))
            }
        }
        // The compaction commit was synced: LMDB holds everything, and no record of the log
        // may re-add entries below the new compaction point.
        didWritePending()
        try wal.checkpoint()
        for (storage, index, term) in done {
            storage.didCompact(to: index, term: term)
            logger.debug("shard \(storage.shard): compacted log through \(index)")
        }
    }

    // MARK: Status

    func status() -> NodeStatus {
        NodeStatus(
            node: nodeId, pid: getpid(),
            shards: replicas.keys.sorted().map { shard in
                let r = replicas[shard]!.raft
                return NodeStatus.Shard(
                    shard: shard, role: "\(r.role)", term: r.term, leader: r.leader, commit: r.commitIndex,
                    applied: r.appliedIndex, lastIndex: r.lastIndex, firstIndex: r.firstIndex,
                    voters: r.confState.voters.sorted())
            })
    }

    /// Status from another thread (the admin server).
    public func status(_ reply: @escaping @Sendable (NodeStatus) -> Void) { submit(.status(reply)) }
}
