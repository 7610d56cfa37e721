import Foundation
import Raft
import Storage
import Testing

@testable import Node
import NodeRPC
import Sharding

final class Scratch {
    let path: String
    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("cognate-wal-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// A definition of node 1 alone (one shard, one replica, 10 ms ticks, the key-value
    /// harness) with its data here; `extra` top-level keys go in before the tables.
    func singleNode(_ extra: String = "") throws -> ClusterConfig {
        try ClusterConfig.parse(
            """
            shards = 1
            replication = 1
            tick_ms = 10
            kv_harness = true
            \(extra)
            [tls]
            dir = "\(path)/tls"
            [[nodes]]
            id = 1
            peer = "127.0.0.1:1"
            admin = "127.0.0.1:2"
            data = "\(path)/node1"
            """)
    }
}

func entries(_ range: ClosedRange<UInt64>, term: UInt64) -> [Entry] {
    range.map { Entry(term: term, index: $0, kind: .normal, data: Array("e\($0)t\(term)".utf8)) }
}

@Suite("Write-ahead log")
struct RaftWALTests {
    @Test("records of the current epoch come back in order after reopening")
    func reopen() throws {
        let dir = Scratch()
        let path = dir.path + "/raft.wal"
        let a = [RaftWAL.ShardRecord(shard: 1, hardState: HardState(term: 2, vote: 3, commit: 1), entries: entries(2...4, term: 2))]
        let b = [RaftWAL.ShardRecord(shard: 1, hardState: nil, entries: entries(5...5, term: 2)),
                 RaftWAL.ShardRecord(shard: 2, hardState: HardState(term: 7, vote: 1, commit: 0), entries: [])]
        do {
            let wal = try RaftWAL(path: path, capacity: 1 << 20)
            #expect(try wal.recover().isEmpty)
            try wal.checkpoint()
            try wal.append(a)
            try wal.append(b)
        }
        let wal = try RaftWAL(path: path, capacity: 1 << 20)
        #expect(try wal.recover() == [a, b])
        // A checkpoint starts a new epoch: the old records are not replayed again.
        try wal.checkpoint()
        try wal.append(b)
        let again = try RaftWAL(path: path, capacity: 1 << 20)
        #expect(try again.recover() == [b])
        #expect(again.epoch == 2)
    }

    @Test("a torn or corrupted tail stops recovery at the last whole record")
    func tornTail() throws {
        let dir = Scratch()
        let path = dir.path + "/raft.wal"
        let one = [RaftWAL.ShardRecord(shard: 1, hardState: nil, entries: entries(1...3, term: 1))]
        let two = [RaftWAL.ShardRecord(shard: 1, hardState: nil, entries: entries(4...6, term: 1))]
        let end: Int
        do {
            let wal = try RaftWAL(path: path, capacity: 1 << 20)
            _ = try wal.recover()
            try wal.checkpoint()
            try wal.append(one)
            end = wal.offset
            try wal.append(two)
        }
        // Flip one byte inside the second record's payload.
        let h = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try h.seek(toOffset: UInt64(end + RaftWAL.headerSize + 5))
        let byte = try h.read(upToCount: 1)!
        try h.seek(toOffset: UInt64(end + RaftWAL.headerSize + 5))
        try h.write(contentsOf: Data([byte[0] ^ 0xFF]))
        try h.close()
        let wal = try RaftWAL(path: path, capacity: 1 << 20)
        #expect(try wal.recover() == [one])
        #expect(wal.offset == end)
    }

    @Test("a record that does not fit is refused, and fits after a checkpoint")
    func full() throws {
        let dir = Scratch()
        let wal = try RaftWAL(path: dir.path + "/raft.wal", capacity: 4096)
        _ = try wal.recover()
        try wal.checkpoint()
        let big = [RaftWAL.ShardRecord(shard: 1, hardState: nil, entries: [Entry(term: 1, index: 1, kind: .normal, data: [UInt8](repeating: 1, count: 3000))])]
        try wal.append(big)
        #expect(throws: RaftWAL.Failure.self) { try wal.append(big) }
        try wal.checkpoint()
        try wal.append(big)
    }

    @Test("replay rebuilds the log and hard state LMDB lost, never below the compaction point or back in commit")
    func replay() throws {
        let dir = Scratch()
        let env = try Environment(path: dir.path, options: .init(mapSize: 16 << 20))
        let tables = try NodeTables(env)
        // LMDB as an unsynced commit left it: compacted through 3, commit 9.
        try env.write { txn in
            try LMDBRaftStorage.writeMeta(txn, tables, 1, .snapshot) { RaftCodec.write(SnapshotMetadata(index: 3, term: 1, confState: ConfState(voters: [1, 2, 3])), into: &$0) }
            try LMDBRaftStorage.writeMeta(txn, tables, 1, .hardState) { RaftCodec.write(HardState(term: 1, vote: 1, commit: 9), into: &$0) }
        }
        let records: [[RaftWAL.ShardRecord]] = [
            [RaftWAL.ShardRecord(shard: 1, hardState: HardState(term: 1, vote: 1, commit: 2), entries: entries(2...8, term: 1))],
            // A new leader replaced 7 and 8 with its own entries.
            [RaftWAL.ShardRecord(shard: 1, hardState: HardState(term: 2, vote: 2, commit: 5), entries: entries(7...7, term: 2))],
        ]
        try env.write { txn in for r in records { for part in r { try LMDBRaftStorage.replay(txn, tables, part) } } }
        let storage = try LMDBRaftStorage(shard: 1, env: env, tables: tables, bootstrapVoters: [1, 2, 3])
        #expect(storage.firstIndex() == 4)
        #expect(storage.lastIndex() == 7)
        #expect(try storage.term(7) == 2 && storage.term(6) == 1)
        let (hard, _) = storage.initialState()
        #expect(hard == HardState(term: 2, vote: 2, commit: 9))
    }
}

@Suite("Staged log entries")
struct StagedLogTests {
    @Test("staged entries read back before and after they reach LMDB, and a new leader's replace ours")
    func stageThenFlush() throws {
        let dir = Scratch()
        let env = try Environment(path: dir.path, options: .init(mapSize: 16 << 20))
        let tables = try NodeTables(env)
        let storage = try LMDBRaftStorage(shard: 1, env: env, tables: tables, bootstrapVoters: [1, 2, 3])
        #expect(storage.lastIndex() == 1)
        storage.stage(hardState: HardState(term: 2, vote: 1, commit: 1), entries: entries(2...6, term: 2))
        #expect(storage.lastIndex() == 6)
        #expect(try storage.term(4) == 2)
        #expect(try storage.entries(2, 7, maxBytes: .max).map(\.index) == [2, 3, 4, 5, 6])
        try env.write(sync: false) { txn in try storage.flush(txn) }
        storage.didFlush()
        #expect(!storage.hasStaged)
        // A new leader's entries from 5 on: staged over LMDB's 5 and 6.
        storage.stage(hardState: HardState(term: 3, vote: 2, commit: 4), entries: entries(5...5, term: 3))
        #expect(storage.lastIndex() == 5)
        #expect(try storage.entries(3, 6, maxBytes: .max).map(\.term) == [2, 2, 3])
        #expect(throws: RaftStorageError.self) { try storage.term(6) }
        try env.write(sync: false) { txn in try storage.flush(txn) }
        storage.didFlush()
        // What LMDB holds now is what a restart sees.
        let reopened = try LMDBRaftStorage(shard: 1, env: env, tables: tables, bootstrapVoters: [1, 2, 3])
        #expect(reopened.lastIndex() == 5)
        #expect(try reopened.entries(2, 6, maxBytes: .max).map(\.term) == [2, 2, 2, 3])
        #expect(reopened.initialState().0 == HardState(term: 3, vote: 2, commit: 4))
    }
}
