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
        var reader = BinaryReader(snap.data)
        while !reader.isAtEnd {
            let tag = try reader.u8()
            let key = ShardKeys.key(shard, try reader.blob())
            let value = try reader.blob()
            guard let table = tablesByTag[tag] else { throw BinaryReader.Truncated() }
            try txn.put(key, value, in: table)
        }
        try r.storage.install(txn, snap.metadata)
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

    func compactIfNeeded() throws {
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
}
