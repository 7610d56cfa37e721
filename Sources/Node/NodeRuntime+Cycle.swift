import Foundation
import NodeRPC
import Raft
import Sharding
import Storage

/// The Ready cycle: persist, send, apply, answer.
extension NodeRuntime {
    /// One Ready cycle over every shard; returns whether any shard has more.
    func cycle() throws -> Bool {
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

        let mustWrite = readies.contains {
            !$0.1.entries.isEmpty || $0.1.hardState != nil || $0.1.snapshot != nil || !$0.1.committedEntries.isEmpty
        }
        var applied: [AppliedEntry] = []
        if mustWrite {
            let start = DispatchTime.now()
            applied = try persist(readies)
            metrics.fsync.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds))
            metrics.cycleEntries.record(readies.reduce(0) { $0 + $1.1.entries.count })
        } else {
            sendPersisted(readies)
        }
        metrics.commits.increment(by: applied.count)

        for (r, rd) in readies {
            for rs in rd.readStates {
                for waiting in r.reads.removeValue(forKey: rs.context) ?? [] {
                    r.confirmedReads.append((rs.index, waiting.work, waiting.reply))
                }
            }
            r.raft.advance(rd)
            noteLeadership(r, rd)
            serveConfirmedReads(r)
        }
        try compactIfNeeded()
        return replicas.values.contains { $0.raft.hasReady }
    }

    /// Makes the cycle's state durable, applies what committed and answers the proposals
    /// waiting on it; sends the cycle's messages once what they announce is durable.
    ///
    /// What Raft needs durable (new entries, term or vote) goes to the write-ahead log: one
    /// record, one synchronous write, then it is staged in the shards' storage. A snapshot
    /// install (or a record too big for the log) is instead one fully synced LMDB commit,
    /// then a checkpoint.
    private func persist(_ readies: [(ShardReplica, Ready)]) throws -> [AppliedEntry] {
        var fullSync = readies.contains { $0.1.snapshot != nil }
        if !fullSync && readies.contains(where: { $0.1.mustSync }) {
            let record = readies.compactMap { r, rd -> RaftWAL.ShardRecord? in
                rd.hardState == nil && rd.entries.isEmpty
                    ? nil : RaftWAL.ShardRecord(shard: r.shard, hardState: rd.hardState, entries: rd.entries)
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
        let applied = try applyCommitted(readies, fullSync: fullSync)
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
        return applied
    }

    /// LMDB: committed entries applied (and recorded), staged log entries written, data
    /// pages flushed but not the meta page, so the file stays consistent and a machine crash
    /// can undo only commits the log replays. Without anything to apply the staged entries
    /// wait (the tick writes them out), and so do a follower's committed entries: nobody
    /// waits on them, and on a shared disk every flush counts.
    private func applyCommitted(_ readies: [(ShardReplica, Ready)], fullSync: Bool) throws -> [AppliedEntry] {
        var deferring = Set<UInt32>()
        for (r, rd) in readies
        where !rd.committedEntries.isEmpty && r.raft.role != .leader && r.proposals.isEmpty && !fullSync {
            r.deferred += rd.committedEntries
            deferring.insert(r.shard)
        }
        let staged = replicas.values.reduce(0) { $0 + $1.storage.stagedCount + $1.deferred.count }
        let applying = readies.contains { !$0.1.committedEntries.isEmpty && !deferring.contains($0.0.shard) }
        guard fullSync || applying || staged >= 4096 else { return [] }
        var applied: [AppliedEntry] = []
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
                try recordApplied(txn, r, rd.committedEntries)
            }
            // The entries are committed and their replies computed: answer before the
            // flush. A crash before it redoes the apply from the log, with the same
            // results (waiters are removed as answered, so a rerun answers nobody twice).
            answer(readies, applied)
        }
        didWritePending()
        return applied
    }

    /// Once a cycle's state is durable: send its messages.
    func sendPersisted(_ readies: [(ShardReplica, Ready)]) {
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
    func sendRaft(_ byPeer: [UInt64: [(UInt32, Message)]]) {
        guard let send else { return }
        for (peer, batch) in byPeer {
            for payload in RaftBatch.encode(batch) { send(peer, Frame(kind: .raft, payload: payload), nil) }
        }
    }

    /// Answers the proposals whose entries were applied (or lost their index to another entry).
    private func answer(_ readies: [(ShardReplica, Ready)], _ applied: [AppliedEntry]) {
        var appliedByShard: [UInt32: [AppliedEntry]] = [:]
        for a in applied { appliedByShard[a.shard, default: []].append(a) }
        for (r, rd) in readies {
            for a in appliedByShard[r.shard] ?? [] {
                guard let waiter = r.proposals.removeValue(forKey: a.index) else { continue }
                if waiter.requestId == a.requestId {
                    waiter.reply(.ok(a.reply))
                } else {
                    waiter.reply(
                        .unavailable(
                            "shard \(r.shard): another leader's entry took index \(a.index); retry with the same "
                                + "request id"
                        ))
                }
            }
            for e in rd.committedEntries {
                guard let waiter = r.confChanges.removeValue(forKey: e.index) else { continue }
                if e.kind == .confChange && e.data == waiter.change.encoded {
                    waiter.reply(.ok([]))
                } else {
                    waiter.reply(.unavailable("shard \(r.shard): index \(e.index) went to another entry"))
                }
            }
            // Entries of other kinds (no-ops) can also take a waiter's index.
            for e in rd.committedEntries where r.proposals[e.index] != nil {
                r.proposals.removeValue(forKey: e.index)?.reply(
                    .unavailable(
                        "shard \(r.shard): index \(e.index) went to another entry; retry with the same request id"))
            }
        }
    }

    private func noteLeadership(_ r: ShardReplica, _ rd: Ready) {
        guard let soft = rd.softState else { return }
        if soft.leader != r.lastLeader {
            metrics.leaderChanges.increment()
            if soft.leader != 0 { logger.info("shard \(r.shard): leader is now \(soft.leader) (term \(r.raft.term))") }
            r.lastLeader = soft.leader
        }
        if soft.role == .candidate || soft.role == .preCandidate { metrics.elections.increment() }
        let isLeader = soft.role == .leader
        if r.wasLeader && !isLeader {
            r.failWaiters(reason: "leadership of shard \(r.shard) changed before the write was applied")
        }
        r.wasLeader = isLeader
    }

    // MARK: Staged writes

    /// Staged log entries and deferred applies, into `txn` (which may run again: nothing
    /// changes here until `didWritePending`).
    func writePending(_ txn: borrowing WriteTransaction) throws {
        for r in replicas.values { r.appliedConf = nil }
        for r in replicas.values where r.storage.hasStaged { try r.storage.flush(txn) }
        for r in replicas.values where !r.deferred.isEmpty {
            for e in r.deferred where e.kind == .normal && e.data.count >= 16 {
                _ = try apply(txn, shard: r.shard, entry: e)
            }
            try recordApplied(txn, r, r.deferred)
        }
    }

    /// Records in `txn` that `entries` (committed, in order) applied, and the configuration
    /// their membership changes leave; the storage takes it once the transaction commits.
    func recordApplied(_ txn: borrowing WriteTransaction, _ r: ShardReplica, _ entries: [Entry]) throws {
        guard let last = entries.last else { return }
        var conf = r.appliedConf ?? r.storage.conf
        var changed = false
        for e in entries where e.kind == .confChange {
            guard let change = ConfChange(encoded: e.data) else { continue }
            conf = conf.applying(change)
            changed = true
            try recordAddress(txn, shard: r.shard, change)
        }
        try r.storage.recordApplied(txn, index: last.index, conf: changed ? conf : nil)
        if changed { r.appliedConf = conf }
    }

    func didWritePending() {
        for r in replicas.values {
            r.storage.didFlush()
            r.deferred = []
            if let conf = r.appliedConf {
                r.appliedConf = nil
                // A replica whose group no longer lists this node is dropped after the cycle.
                if r.storage.conf.members.contains(nodeId) && !conf.members.contains(nodeId) {
                    retiring.insert(r.shard)
                }
                r.storage.didApply(conf: conf)
                logger.info(
                    "shard \(r.shard): members now voters \(conf.voters.sorted()) learners \(conf.learners.sorted())")
            }
        }
    }

    var hasPending: Bool { replicas.values.contains { $0.storage.hasStaged || !$0.deferred.isEmpty } }

    /// Writes staged log entries and deferred applies to LMDB (a cycle with nothing to
    /// apply leaves them); needed before anything reads the state machine.
    func flushStaged() throws {
        guard hasPending else { return }
        try env.write(sync: false) { txn in try writePending(txn) }
        didWritePending()
    }

    func flushPendingOrStop() {
        do {
            try flushStaged()
        } catch {
            fail("writing staged entries", error)
        }
    }

    /// LMDB synced to disk, then a new epoch of the write-ahead log.
    func checkpoint() throws {
        try flushStaged()
        if plantedBug != .checkpointWithoutSync { try env.sync() }
        try wal.checkpoint()
    }
}

/// A storage bug a test can switch on (`NodeRuntime.plantedBug`) to show that its checks
/// catch it.
enum PlantedStorageBug {
    /// The log starts a new epoch without syncing LMDB first: LMDB's last unsynced commits,
    /// whose only durable copy was the old epoch, can vanish in a power cut. SIGKILL cannot
    /// show this (the page cache survives it); only a power cut can.
    case checkpointWithoutSync
}
