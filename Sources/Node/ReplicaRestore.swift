import NodeRPC
import Raft
import Sharding
import Storage

/// The records of a shard's snapshot, as `makeSnapshot` writes them: which state table
/// (its tag in `NodeTables.stateTables`), the key without the shard's prefix, the value.
public enum SnapshotRecords {
    /// The state tables' names by tag, for reports.
    public static let tableNames: [UInt8: String] = [0: "data", 1: "requests", 2: "request order", 3: "members"]

    public static func forEach(_ data: [UInt8], _ body: (UInt8, [UInt8], [UInt8]) throws -> Void) throws {
        var reader = BinaryReader(data)
        while !reader.isAtEnd {
            let tag = try reader.u8()
            let key = try reader.blob(max: 1 << 16)
            let value = try reader.blob()
            try body(tag, key, value)
        }
    }

    /// Records per table; throws on a record that does not parse or names no state table.
    public static func count(_ data: [UInt8]) throws -> [UInt8: Int] {
        var counts: [UInt8: Int] = [:]
        try forEach(data) { tag, _, _ in
            guard tableNames[tag] != nil else { throw BinaryReader.Truncated() }
            counts[tag, default: 0] += 1
        }
        return counts
    }
}

/// Builds a node's data directory from backed-up shard copies, as if each shard had
/// installed the copy as a snapshot: its state tables, then the log starting after the
/// copy's index, the copy's term, and the restored cluster's voters.
public enum ReplicaRestore {
    /// The data-directory format the restored replicas are written in.
    public static var dataFormat: UInt64 { DataFormat.current }

    public struct Refused: Error, CustomStringConvertible {
        public var description: String
    }

    /// Writes one shard's replica into `dataDirectory` (created if missing), in one synced
    /// transaction. Refuses a directory that already holds this shard.
    public static func write(
        dataDirectory: String, shard: UInt32, index: UInt64, term: UInt64, voters: Set<UInt64>, data: [UInt8]
    ) throws {
        let env = try Environment(path: dataDirectory, options: .init(mapSize: 256 << 20))
        try DataFormat.check(env, directory: dataDirectory)
        let tables = try NodeTables(env)
        let tablesByTag = Dictionary(uniqueKeysWithValues: tables.stateTables.map { ($0.tag, $0.table) })
        let meta = SnapshotMetadata(index: index, term: term, confState: ConfState(voters: voters))
        try env.write { txn in
            guard try txn.get(LMDBRaftStorage.metaKey(shard, .snapshot), in: tables.meta) == nil else {
                throw Refused(description: "\(dataDirectory) already holds shard \(shard)")
            }
            try SnapshotRecords.forEach(data) { tag, key, value in
                guard let table = tablesByTag[tag] else {
                    throw Refused(description: "shard \(shard): a record names table \(tag), which does not exist")
                }
                try txn.put(ShardKeys.key(shard, key), value, in: table)
            }
            try LMDBRaftStorage.writeMeta(txn, tables, shard, .hardState) {
                RaftCodec.write(HardState(term: term, vote: 0, commit: index), into: &$0)
            }
            try LMDBRaftStorage.writeMeta(txn, tables, shard, .snapshot) { RaftCodec.write(meta, into: &$0) }
            try LMDBRaftStorage.writeMeta(txn, tables, shard, .confState) { RaftCodec.write(meta.confState, into: &$0) }
            try LMDBRaftStorage.writeMeta(txn, tables, shard, .applied) { $0.u64(index) }
        }
    }
}
