import Foundation
import Logging
import Raft
import Storage
import Testing

@testable import Node
import NodeRPC
import Sharding

@Suite("Backup copies and restores")
struct BackupTests {
    /// A node whose shard 1 holds `count` records, as a backup copy of it.
    func copy(count: Int, in dir: Scratch) throws -> (SnapshotMetadata, [UInt8]) {
        let node = try runtime(FailingMachine(failure: nil), in: dir)
        let storage = node.replicas[1]!.storage
        try node.env.write { txn in
            for i in 0..<count {
                try txn.put(ShardKeys.key(1, Array("user-\(i)".utf8)), Array("record \(i)".utf8), in: node.tables.data)
            }
            try txn.put(ShardKeys.key(1, RequestID.make()), [0, 0, 0, 0, 0, 0, 0, 1], in: node.tables.requests)
        }
        return try NodeRuntime<FailingMachine>.makeSnapshot(node.env, node.tables, storage)
    }

    @Test("a restored replica starts at the copy's index and term with the new voters, holding the copy")
    func restoredReplicaMatchesTheCopy() throws {
        let source = Scratch()
        let (_, data) = try copy(count: 50, in: source)
        #expect(try SnapshotRecords.count(data) == [0: 50, 1: 1])

        let target = Scratch()
        try ReplicaRestore.write(
            dataDirectory: "\(target.path)/node1", shard: 1, index: 7_000, term: 12, voters: [1, 4, 5], data: data)
        let node = try runtime(FailingMachine(failure: nil), in: target)
        let raft = node.replicas[1]!.raft
        #expect(raft.term == 12 && raft.commitIndex == 7_000 && raft.appliedIndex == 7_000)
        #expect(raft.lastIndex == 7_000 && raft.confState.voters == [1, 4, 5])
        let value = try node.env.read { txn in try txn.get(ShardKeys.key(1, Array("user-7".utf8)), in: node.tables.data) }
        #expect(value == Array("record 7".utf8))
        // A copy of the restored replica holds the same records, at the restored index.
        let (meta, again) = try NodeRuntime<FailingMachine>.makeSnapshot(node.env, node.tables, node.replicas[1]!.storage)
        #expect(meta.index == 7_000 && meta.term == 12 && again == data)
    }

    @Test("restore refuses a directory that already holds the shard, and a record of no table")
    func restoreRefuses() throws {
        let source = Scratch()
        let (_, data) = try copy(count: 3, in: source)
        let target = Scratch()
        let path = "\(target.path)/node1"
        try ReplicaRestore.write(dataDirectory: path, shard: 2, index: 10, term: 2, voters: [1], data: data)
        #expect(throws: ReplicaRestore.Refused.self) {
            try ReplicaRestore.write(dataDirectory: path, shard: 2, index: 10, term: 2, voters: [1], data: data)
        }
        var w = BinaryWriter()
        w.u8(9)
        w.blob([1])
        w.blob([2])
        #expect(throws: ReplicaRestore.Refused.self) {
            try ReplicaRestore.write(dataDirectory: path, shard: 3, index: 10, term: 2, voters: [1], data: w.bytes)
        }
        #expect(throws: (any Error).self) { try SnapshotRecords.count(w.bytes) }
        #expect(throws: (any Error).self) { try SnapshotRecords.count(Array(data.dropLast())) }
    }

    @Test("backup requests and chunks round-trip; a chunk past its copy's end does not decode")
    func wireForms() throws {
        let request = ClientRequest(correlation: 9, body: .backup(shard: 3, index: 44, offset: 4 << 20))
        #expect(try ClientRequest(decoding: request.encode()) == request)
        let chunk = BackupChunk(
            node: 2, shard: 3, index: 44, term: 5, total: 10, sha256: Array(repeating: 7, count: 32), offset: 6,
            bytes: [1, 2, 3, 4])
        #expect(try BackupChunk(decoding: chunk.encode()) == chunk)
        var past = chunk
        past.bytes = [1, 2, 3, 4, 5]
        #expect(throws: (any Error).self) { try BackupChunk(decoding: past.encode()) }
        var shortDigest = chunk
        shortDigest.sha256 = [1]
        #expect(throws: (any Error).self) { try BackupChunk(decoding: shortDigest.encode()) }
    }
}
