import NodeRPC
import Raft
import Sharding
import Storage

/// Tags of a shard's records in the meta table.
enum MetaTag: UInt8 {
    case hardState = 1
    /// Index, term and configuration of the last snapshot / compaction point.
    case snapshot = 2
    /// The highest index applied to the state machine (written in the same transaction).
    case applied = 3
    /// The configuration as of `applied`.
    case confState = 4
}

/// One shard's Raft log and hard state in the node's LMDB environment.
///
/// New entries and hard states are durable in the node's write-ahead log first; they are
/// *staged* here (readable at once) and written to LMDB by the next transaction the
/// runtime runs (`flush`, then `didFlush`). Reads of the log look at the staged tail, then
/// LMDB. The runtime loop is the only writer and keeps the cached bounds in step with what
/// it commits (`didCompact`, `didInstall`). Used only from the runtime thread.
final class LMDBRaftStorage: RaftStorage {
    let shard: UInt32
    let env: Environment
    let tables: NodeTables
    private(set) var hard: HardState
    private(set) var snapshotMeta: SnapshotMetadata
    private(set) var conf: ConfState
    private(set) var first: UInt64
    private(set) var last: UInt64
    /// The last index in LMDB's log table.
    private var stored: UInt64
    /// Entries staged but not yet in LMDB: contiguous, ending at `last`.
    private var staged: [Entry] = []
    private var stagedHard: HardState?
    /// LMDB's entries from this index on were replaced by staged ones (a new leader's).
    private var replacedFrom: UInt64?
    /// Produces the state-machine part of a snapshot (the runtime's job).
    var snapshotData: (() throws -> (SnapshotMetadata, [UInt8]))?

    init(shard: UInt32, env: Environment, tables: NodeTables, bootstrapVoters: Set<NodeID>) throws {
        self.shard = shard
        self.env = env
        self.tables = tables
        let (hardBytes, metaBytes, confBytes, lastBytes) = try env.read {
            (txn) throws -> ([UInt8]?, [UInt8]?, [UInt8]?, [UInt8]?) in
            (
                try txn.get(Self.metaKey(shard, .hardState), in: tables.meta),
                try txn.get(Self.metaKey(shard, .snapshot), in: tables.meta),
                try txn.get(Self.metaKey(shard, .confState), in: tables.meta),
                try txn.entries(
                    tables.log, from: Self.logKey(shard, 0), to: Self.logKey(shard, .max), reverse: true, limit: 1
                ).first?.value
            )
        }
        func parse<T>(_ bytes: [UInt8]?, _ body: (inout BinaryReader) throws -> T) throws -> T? {
            guard let bytes else { return nil }
            var r = BinaryReader(bytes)
            return try body(&r)
        }
        let hard = try parse(hardBytes, RaftCodec.hardState)
        let meta = try parse(metaBytes, RaftCodec.snapshotMetadata)
        let conf = try parse(confBytes, RaftCodec.confState)
        let last = try lastBytes.map { try RaftCodec.decodeEntry($0).index }
        if let meta {
            self.hard = hard ?? HardState()
            self.snapshotMeta = meta
            self.conf = conf ?? meta.confState
        } else {
            // A new replica of a founding member: the group's configuration as a snapshot at
            // index 1, term 1 (as `MemoryStorage(bootstrap:)` does). A replica added later
            // (no voters given) starts at index 0 with no configuration: no entry of the
            // leader's log matches it, so the leader sends a snapshot, and with it the
            // configuration and the state machine.
            let founding = !bootstrapVoters.isEmpty
            let meta =
                founding
                ? SnapshotMetadata(index: 1, term: 1, confState: ConfState(voters: bootstrapVoters))
                : SnapshotMetadata()
            let hardState = founding ? HardState(term: 1, vote: 0, commit: 1) : HardState()
            self.hard = hardState
            self.snapshotMeta = meta
            self.conf = meta.confState
            try env.write { txn in
                try Self.writeMeta(txn, tables, shard, .hardState) { RaftCodec.write(hardState, into: &$0) }
                try Self.writeMeta(txn, tables, shard, .snapshot) { RaftCodec.write(meta, into: &$0) }
                try Self.writeMeta(txn, tables, shard, .confState) { RaftCodec.write(meta.confState, into: &$0) }
                try Self.writeMeta(txn, tables, shard, .applied) { $0.u64(meta.index) }
            }
        }
        first = snapshotMeta.index + 1
        self.last = max(last ?? snapshotMeta.index, snapshotMeta.index)
        stored = self.last
    }

    /// The shards this environment holds a replica of (each has snapshot metadata from
    /// its creation on).
    static func storedShards(_ env: Environment, _ tables: NodeTables) throws -> [UInt32] {
        try env.read { txn in
            var shards: [UInt32] = []
            try txn.scan(tables.meta) { key, _ in
                if key.count == 5, key[4] == MetaTag.snapshot.rawValue {
                    shards.append(key.prefix(4).reduce(0) { $0 << 8 | UInt32($1) })
                }
                return true
            }
            return shards
        }
    }

    /// The node-wide record saying this environment has started once (under a prefix no
    /// shard has): its founding replicas, if any, were created then and never again.
    static let initializedKey: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0x01]

    static func isInitialized(_ env: Environment, _ tables: NodeTables) throws -> Bool {
        try env.read { txn in try txn.get(initializedKey, in: tables.meta) != nil }
    }

    static func markInitialized(_ env: Environment, _ tables: NodeTables) throws {
        guard !(try isInitialized(env, tables)) else { return }
        try env.write(sync: true) { txn in try txn.put(initializedKey, [1], in: tables.meta) }
    }

    /// Deletes everything of `shard` in this environment: its log, metadata and state.
    static func destroy(_ txn: borrowing WriteTransaction, _ tables: NodeTables, shard: UInt32) throws {
        for table in [tables.log, tables.meta] + tables.stateTables.map(\.table) {
            try txn.deleteRange(table, from: ShardKeys.prefix(shard), to: ShardKeys.end(shard))
        }
    }

    static func logKey(_ shard: UInt32, _ index: UInt64) -> [UInt8] {
        ShardKeys.prefix(shard) + withUnsafeBytes(of: index.bigEndian, Array.init)
    }

    static func metaKey(_ shard: UInt32, _ tag: MetaTag) -> [UInt8] { ShardKeys.prefix(shard) + [tag.rawValue] }

    static func writeMeta(
        _ txn: borrowing WriteTransaction, _ tables: NodeTables, _ shard: UInt32, _ tag: MetaTag,
        _ body: (inout BinaryWriter) -> Void
    ) throws {
        var w = BinaryWriter()
        body(&w)
        try txn.put(metaKey(shard, tag), w.bytes, in: tables.meta)
    }

    /// The applied index as stored (for restart).
    func storedApplied() throws -> UInt64 {
        try env.read { txn in
            guard let b = try txn.get(Self.metaKey(shard, .applied), in: tables.meta) else { return snapshotMeta.index }
            var r = BinaryReader(b)
            return try r.u64()
        }
    }

    // MARK: RaftStorage

    func initialState() -> (HardState, ConfState) { (hard, conf) }
    func firstIndex() -> UInt64 { first }
    func lastIndex() -> UInt64 { last }

    func term(_ index: UInt64) throws(RaftStorageError) -> UInt64 {
        if index == snapshotMeta.index { return snapshotMeta.term }
        if index < first { throw .compacted }
        if index > last { throw .unavailable }
        if let s0 = staged.first?.index, index >= s0 { return staged[Int(index - s0)].term }
        do {
            return try env.read { txn in
                guard let b = try txn.get(Self.logKey(shard, index), in: tables.log) else {
                    throw RaftStorageError.unavailable
                }
                var r = BinaryReader(b)
                return try r.u64()
            }
        } catch {
            throw .unavailable
        }
    }

    func entries(_ lo: UInt64, _ hi: UInt64, maxBytes: Int) throws(RaftStorageError) -> [Entry] {
        if lo < first { throw .compacted }
        if hi > last + 1 { throw .unavailable }
        let s0 = staged.first?.index ?? (last + 1)
        var out: [Entry] = []
        var bytes = 0
        if lo < s0 {
            do {
                out = try env.read { txn in
                    var part: [Entry] = []
                    try txn.scan(tables.log, from: Self.logKey(shard, lo), to: Self.logKey(shard, min(hi, s0))) {
                        _, value in
                        bytes += value.count
                        if !part.isEmpty && bytes > maxBytes { return false }
                        part.append(try RaftCodec.decodeEntry(Array(value)))
                        return true
                    }
                    return part
                }
            } catch {
                throw .unavailable
            }
            if bytes > maxBytes || hi <= s0 { return out }
        }
        for index in max(lo, s0)..<hi {
            let e = staged[Int(index - s0)]
            bytes += e.data.count + 24
            if !out.isEmpty && bytes > maxBytes { break }
            out.append(e)
        }
        return out
    }

    func snapshot() throws(RaftStorageError) -> Snapshot {
        guard let snapshotData else { throw .snapshotTemporarilyUnavailable }
        do {
            let (meta, data) = try snapshotData()
            return Snapshot(metadata: meta, data: data)
        } catch {
            throw .snapshotTemporarilyUnavailable
        }
    }

    // MARK: Recovery

    /// Replays one shard's part of a write-ahead record into LMDB, before the replicas load
    /// their state. Records are replayed in order, so the log and hard state end as the last
    /// record left them; entries at or below the shard's compaction point are skipped, and
    /// the commit index never moves back (LMDB may hold a later one from an unsynced commit
    /// that survived).
    static func replay(_ txn: borrowing WriteTransaction, _ tables: NodeTables, _ record: RaftWAL.ShardRecord) throws {
        let shard = record.shard
        var compacted: UInt64 = 0
        if let b = try txn.get(metaKey(shard, .snapshot), in: tables.meta) {
            var r = BinaryReader(b)
            compacted = try RaftCodec.snapshotMetadata(&r).index
        }
        if var hard = record.hardState {
            if let b = try txn.get(metaKey(shard, .hardState), in: tables.meta) {
                var r = BinaryReader(b)
                hard.commit = max(hard.commit, try RaftCodec.hardState(&r).commit)
            }
            try writeMeta(txn, tables, shard, .hardState) { RaftCodec.write(hard, into: &$0) }
        }
        let entries = record.entries.filter { $0.index > compacted }
        guard let firstNew = entries.first?.index else { return }
        try txn.deleteRange(tables.log, from: logKey(shard, firstNew), to: logKey(shard, .max))
        for e in entries { try txn.put(logKey(shard, e.index), RaftCodec.encode(e), in: tables.log) }
    }

    // MARK: Writes, inside the runtime's cycle transaction

    /// Takes a cycle's hard state and entries once they are durable in the write-ahead log:
    /// readable at once, written to LMDB by the next `flush`.
    func stage(hardState: HardState?, entries: [Entry]) {
        if let hardState {
            hard = hardState
            stagedHard = hardState
        }
        guard let firstNew = entries.first?.index else { return }
        // A new leader's entries replace ours from their first index on.
        if let s0 = staged.first?.index, firstNew <= last {
            if firstNew > s0 { staged.removeSubrange(Int(firstNew - s0)...) } else { staged = [] }
        }
        if firstNew <= stored { replacedFrom = min(replacedFrom ?? .max, firstNew) }
        staged += entries
        last = entries.last!.index
    }

    /// A fully synced cycle writes its hard state and entries straight into LMDB (after
    /// `flush` of anything staged before, in the same transaction).
    func writeDirect(_ txn: borrowing WriteTransaction, hardState: HardState?, entries: [Entry]) throws {
        if let hardState {
            try Self.writeMeta(txn, tables, shard, .hardState) { RaftCodec.write(hardState, into: &$0) }
        }
        guard let firstNew = entries.first?.index else { return }
        try txn.deleteRange(tables.log, from: Self.logKey(shard, firstNew), to: Self.logKey(shard, .max))
        for e in entries { try txn.put(Self.logKey(shard, e.index), RaftCodec.encode(e), in: tables.log) }
    }

    /// After `writeDirect` committed (and `didFlush`, `didInstall`).
    func didWriteDirect(hardState: HardState?, entries: [Entry]) {
        if let hardState { hard = hardState }
        if let e = entries.last {
            last = e.index
            stored = e.index
        }
    }

    var hasStaged: Bool { !staged.isEmpty || stagedHard != nil }
    var stagedCount: Int { staged.count }

    /// Writes what is staged into `txn` (changing nothing here: the transaction may be run
    /// again); call `didFlush` once it has committed.
    func flush(_ txn: borrowing WriteTransaction) throws {
        if let stagedHard {
            try Self.writeMeta(txn, tables, shard, .hardState) { RaftCodec.write(stagedHard, into: &$0) }
        }
        if let replacedFrom {
            try txn.deleteRange(tables.log, from: Self.logKey(shard, replacedFrom), to: Self.logKey(shard, .max))
        }
        for e in staged { try txn.put(Self.logKey(shard, e.index), RaftCodec.encode(e), in: tables.log) }
    }

    func didFlush() {
        if let e = staged.last { stored = e.index }
        staged = []
        stagedHard = nil
        replacedFrom = nil
    }

    func recordApplied(_ txn: borrowing WriteTransaction, index: UInt64, conf: ConfState?) throws {
        try Self.writeMeta(txn, tables, shard, .applied) { $0.u64(index) }
        if let conf { try Self.writeMeta(txn, tables, shard, .confState) { RaftCodec.write(conf, into: &$0) } }
    }

    func didApply(conf newConf: ConfState?) {
        if let newConf { conf = newConf }
    }

    /// Installs a snapshot's metadata: the log restarts after it.
    func install(_ txn: borrowing WriteTransaction, _ meta: SnapshotMetadata) throws {
        try txn.deleteRange(tables.log, from: Self.logKey(shard, 0), to: Self.logKey(shard, .max))
        try Self.writeMeta(txn, tables, shard, .snapshot) { RaftCodec.write(meta, into: &$0) }
        try Self.writeMeta(txn, tables, shard, .confState) { RaftCodec.write(meta.confState, into: &$0) }
        try Self.writeMeta(txn, tables, shard, .applied) { $0.u64(meta.index) }
    }

    func didInstall(_ meta: SnapshotMetadata) {
        snapshotMeta = meta
        conf = meta.confState
        first = meta.index + 1
        last = meta.index
        stored = meta.index
    }

    /// Drops log entries up to `index` (≤ applied), remembering its term.
    func compact(_ txn: borrowing WriteTransaction, to index: UInt64, term: UInt64) throws {
        let meta = SnapshotMetadata(index: index, term: term, confState: conf)
        try txn.deleteRange(tables.log, from: Self.logKey(shard, 0), to: Self.logKey(shard, index + 1))
        try Self.writeMeta(txn, tables, shard, .snapshot) { RaftCodec.write(meta, into: &$0) }
    }

    func didCompact(to index: UInt64, term: UInt64) {
        snapshotMeta = SnapshotMetadata(index: index, term: term, confState: conf)
        first = index + 1
        if last < index { last = index }
        if stored < index { stored = index }
    }
}
