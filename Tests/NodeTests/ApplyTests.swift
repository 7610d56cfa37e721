import Foundation
import Logging
import Raft
import Storage
import Testing

@testable import Node
import NodeRPC
import Sharding

/// A state machine that writes a marker, then fails the way it is told to.
struct FailingMachine: ReplicatedStateMachine {
    enum Failure: Error { case malformed }
    let failure: (any Error)?

    func apply(
        command: [UInt8], shard: UInt32, index: UInt64, clock: UInt64, txn: borrowing WriteTransaction,
        tables: NodeTables
    ) throws -> Applied
    {
        try txn.put(ShardKeys.key(shard, Array("marker".utf8)), command, in: tables.data)
        if let failure { throw failure }
        return Applied(reply: Array("applied".utf8), retained: Array("kept".utf8))
    }

    func rejection(of error: any Error, command: [UInt8]) -> [UInt8] { Array("rejected".utf8) }

    func read(request: [UInt8], shard: UInt32, txn: borrowing ReadTransaction, tables: NodeTables) throws -> [UInt8] { [] }
}

/// A runtime on a scratch directory, never started: its apply path is driven directly.
func runtime<SM: ReplicatedStateMachine>(_ machine: SM, in dir: Scratch) throws -> NodeRuntime<SM> {
    let config = try ClusterConfig.parse("""
        shards = 1
        replication = 1
        [tls]
        dir = "\(dir.path)/tls"
        [[nodes]]
        id = 1
        peer = "127.0.0.1:1"
        admin = "127.0.0.1:2"
        data = "\(dir.path)/node1"
        """)
    return try NodeRuntime(
        nodeId: 1, config: config, dataDirectory: "\(dir.path)/node1", stateMachine: machine, logger: Logger(label: "test"))
}

func entry(_ index: UInt64, _ command: [UInt8], requestId: [UInt8] = RequestID.make()) -> Entry {
    Entry(term: 1, index: index, kind: .normal, data: requestId + command)
}

@Suite("Applying committed entries")
struct ApplyTests {
    @Test("a command that throws is undone and answered with the rejection; the node goes on")
    func rejectedCommandLeavesNothing() throws {
        let dir = Scratch()
        let node = try runtime(FailingMachine(failure: FailingMachine.Failure.malformed), in: dir)
        let applied = try node.env.write { txn in try node.apply(txn, shard: 1, entry: entry(5, [1, 2, 3])) }
        #expect(applied.reply == Array("rejected".utf8))
        let marker = try node.env.read { txn in try txn.get(ShardKeys.key(1, Array("marker".utf8)), in: node.tables.data) }
        #expect(marker == nil)
    }

    @Test("a key LMDB refuses (over 511 bytes) is a rejection of that command, not a stop")
    func oversizeKeyIsRejected() throws {
        let dir = Scratch()
        let node = try runtime(KVStateMachine(), in: dir)
        let put = KVStateMachine.Command.put(key: Array(repeating: 0x6b, count: 600), value: [1]).encoded
        let applied = try node.env.write { txn in try node.apply(txn, shard: 1, entry: entry(2, put)) }
        #expect(KVStateMachine.Reply(decoding: applied.reply) == .rejected)
        // The next command applies as usual in the same transaction.
        let ok = KVStateMachine.Command.put(key: Array("k".utf8), value: [2]).encoded
        let next = try node.env.write { txn in try node.apply(txn, shard: 1, entry: entry(3, ok)) }
        #expect(KVStateMachine.Reply(decoding: next.reply) == .ok)
    }

    @Test("a storage failure of the machine itself (map full) propagates: the node stops instead of diverging")
    func environmentalFailurePropagates() throws {
        let dir = Scratch()
        let full = StorageError(code: .mapFull, lmdbCode: -30792, message: "map full")
        let node = try runtime(FailingMachine(failure: full), in: dir)
        #expect(throws: StorageError.self) {
            try node.env.write { txn in _ = try node.apply(txn, shard: 1, entry: entry(2, [9])) }
        }
    }

    @Test("a retried request id gets the retained answer and applies nothing again")
    func retryAppliesOnce() throws {
        let dir = Scratch()
        let node = try runtime(FailingMachine(failure: nil), in: dir)
        let id = RequestID.make()
        let first = try node.env.write { txn in try node.apply(txn, shard: 1, entry: entry(2, [1], requestId: id)) }
        #expect(first.reply == Array("applied".utf8))
        let again = try node.env.write { txn in try node.apply(txn, shard: 1, entry: entry(3, [2], requestId: id)) }
        #expect(again.reply == Array("kept".utf8))
        let marker = try node.env.read { txn in try txn.get(ShardKeys.key(1, Array("marker".utf8)), in: node.tables.data) }
        #expect(marker == [1])
        #expect(try node.priorReply(shard: 1, requestId: id, command: [1]) == Array("kept".utf8))
    }
}

@Suite("The request table")
struct RequestTableTests {
    final class Table {
        let dir = Scratch()
        let env: Environment
        let tables: NodeTables
        init() throws {
            env = try Environment(path: dir.path, options: .init(mapSize: 64 << 20))
            tables = try NodeTables(env)
        }

        func remember(_ index: UInt64, ms: UInt64, bounds: RequestTable.Bounds) throws -> [UInt8] {
            var rng = SystemRandomNumberGenerator()
            let id = RequestID.make(milliseconds: ms, using: &rng)
            try env.write { txn in
                try RequestTable.remember(txn, tables, shard: 1, index: index, requestId: id, retained: [1], bounds: bounds)
            }
            return id
        }

        var count: Int { (try? env.read { txn in try txn.count(tables.requests) }) ?? -1 }
        func has(_ id: [UInt8]) throws -> Bool {
            try env.read { txn in try RequestTable.retained(txn, tables, shard: 1, requestId: id) != nil }
        }
    }

    @Test("10,000 applies leave at most the count bound, oldest forgotten first")
    func countBound() throws {
        let table = try Table()
        let bounds = RequestTable.Bounds(maxAgeMilliseconds: .max / 2, maxEntries: 100, prunePerApply: 16)
        var ids: [[UInt8]] = []
        for i in 1...10_000 { ids.append(try table.remember(UInt64(i), ms: 1_000 + UInt64(i), bounds: bounds)) }
        #expect(table.count <= 101)
        #expect(try table.has(ids.last!))
        #expect(try !table.has(ids[0]))
        #expect(try table.has(ids[ids.count - 100]))
    }

    @Test("requests older than the age bound by the clock in their ids are forgotten")
    func ageBound() throws {
        let table = try Table()
        let bounds = RequestTable.Bounds(maxAgeMilliseconds: 600_000, maxEntries: 100_000, prunePerApply: 16)
        let old = try table.remember(1, ms: 1_000_000, bounds: bounds)
        let recent = try table.remember(2, ms: 1_500_000, bounds: bounds)
        #expect(try table.has(old) && table.has(recent))
        _ = try table.remember(3, ms: 1_000_000 + 600_001, bounds: bounds)
        #expect(try !table.has(old))
        #expect(try table.has(recent))
    }
}
