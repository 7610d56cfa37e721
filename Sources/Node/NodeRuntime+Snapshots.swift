import Crypto
import NodeRPC
import Raft
import Sharding
import Storage

/// Snapshots (made, sent in chunks, installed) and log compaction.
extension NodeRuntime {
    /// The shard's state machine as of its applied index, with that index's metadata, read in
    /// one transaction so the two agree.
    static func makeSnapshot(
        _ env: Environment, _ tables: NodeTables, _ storage: LMDBRaftStorage
    ) throws
        -> (SnapshotMetadata, [UInt8])
    {
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
            for (tag, table) in tables.stateTables {
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
    func installSnapshot(_ txn: borrowing WriteTransaction, _ r: ShardReplica, _ snap: Snapshot) throws {
        let shard = r.shard
        let tablesByTag = Dictionary(uniqueKeysWithValues: tables.stateTables.map { ($0.tag, $0.table) })
        for (_, table) in tables.stateTables {
            try txn.deleteRange(table, from: ShardKeys.prefix(shard), to: ShardKeys.end(shard))
        }
        try SnapshotRecords.forEach(snap.data) { tag, key, value in
            guard let table = tablesByTag[tag] else { throw BinaryReader.Truncated() }
            try txn.put(ShardKeys.key(shard, key), value, in: table)
        }
        try r.storage.install(txn, snap.metadata)
        addressesChanged = true
    }

    /// Ten seconds of ticks: a copy read within them refuses a new one.
    var backupBusyTicks: UInt64 { UInt64(10_000 / max(1, config.tickMilliseconds)) }

    /// Ten minutes of ticks: a backup copy nobody reads for that long is dropped.
    var backupIdleTicks: UInt64 { UInt64(600_000 / max(1, config.tickMilliseconds)) }

    /// A new backup copy of the shard, after its ReadIndex round confirmed this node still
    /// leads and it applied everything acknowledged before: the first chunk. The copy
    /// replaces any earlier one of the shard on this node.
    func startBackup(_ r: ShardReplica) -> ClientResponse.Body {
        do {
            let (meta, data) = try Self.makeSnapshot(env, tables, r.storage)
            let copy = BackupCopy(
                metadata: meta, data: data, sha256: Array(SHA256.hash(data: data)), lastUse: ticks)
            r.backup = copy
            logger.info("shard \(r.shard): backup copy at index \(meta.index), \(data.count) bytes")
            return backupChunk(r, index: meta.index, offset: 0)
        } catch {
            return .unavailable("shard \(r.shard): no backup copy now: \(error)")
        }
    }

    /// A chunk of the shard's backup copy at `index`, from `offset`.
    func backupChunk(_ r: ShardReplica, index: UInt64, offset: UInt64) -> ClientResponse.Body {
        guard var copy = r.backup, copy.metadata.index == index else {
            return .invalid(
                "node \(nodeId) holds no backup copy of shard \(r.shard) at index \(index) (replaced by a newer "
                    + "backup, or dropped after 10 idle minutes); start the backup again")
        }
        let total = UInt64(copy.data.count)
        guard offset <= total else { return .invalid("offset \(offset) is past the copy's \(total) bytes") }
        let end = min(total, offset + UInt64(BackupChunk.maxBytes))
        copy.lastUse = ticks
        r.backup = copy
        let chunk = BackupChunk(
            node: nodeId, shard: r.shard, index: index, term: copy.metadata.term, total: total, sha256: copy.sha256,
            offset: offset, bytes: Array(copy.data[Int(offset)..<Int(end)]))
        if end == total { r.backup = nil }
        return .ok(chunk.encode())
    }

    func sendSnapshot(shard: UInt32, _ m: Message) {
        guard let send else { return }
        metrics.snapshotsSent.increment()
        let chunks = SnapshotChunk.split(shard: shard, message: m)
        let index = m.snapshot?.metadata.index ?? 0
        logger.info("shard \(shard): sending snapshot at index \(index) to node \(m.to) in \(chunks.count) chunk(s)")
        for (i, chunk) in chunks.enumerated() {
            let last = i == chunks.count - 1
            send(m.to, Frame(kind: .snapshotChunk, payload: chunk.encode())) { [weak self] ok in
                if last || !ok { self?.submit(.snapshotSent(shard: shard, to: m.to, success: ok)) }
            }
        }
    }

    /// Compacts a shard's log once it holds `snapshot_threshold` applied entries, keeping
    /// half of them so a follower slightly behind catches up from the log.
    func compactIfNeeded() throws {
        let threshold = UInt64(config.snapshotThreshold)
        try compact(
            replicas.values.compactMap { r in
                let applied = r.raft.appliedIndex
                return applied >= r.storage.firstIndex() + threshold ? (r, applied - threshold / 2) : nil
            })
    }

    /// Compacts every entry this node applied `log_max_age_seconds` ago or more, however few
    /// writes followed it: what an entry carries (a delivered message's sealed payload, a
    /// password verifier) leaves the log after that long. Called about once a second; each
    /// shard notes its applied index every sixteenth of the age, so an entry leaves within
    /// 1/16 of the age after it is due (and a restart starts the notes again).
    func compactByAge() throws {
        let now = wallClock()
        let age = Double(config.logMaxAgeSeconds)
        var due: [(ShardReplica, UInt64)] = []
        for r in replicas.values {
            if r.appliedMarks.last.map({ now - $0.at >= age / 16 || now < $0.at }) ?? true {
                r.appliedMarks.append((r.raft.appliedIndex, now))
            }
            var through: UInt64 = 0
            while let first = r.appliedMarks.first, now - first.at >= age {
                through = first.index
                r.appliedMarks.removeFirst()
            }
            if through >= r.storage.firstIndex() && through <= r.raft.appliedIndex { due.append((r, through)) }
        }
        try compact(due)
    }

    /// Compacts each replica's log through its index (applied, and still in the log), in one
    /// synced commit.
    private func compact(_ due: [(ShardReplica, UInt64)]) throws {
        guard !due.isEmpty else { return }
        var done: [(LMDBRaftStorage, UInt64, UInt64)] = []
        try env.write { txn in
            done = []
            try writePending(txn)
            for (r, index) in due {
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
}
