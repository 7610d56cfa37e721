import Foundation
import Logging
import NIOPosix
import NodeRPC
import Sharding
import Storage
import Testing

@testable import Node

/// The key-value harness with one reserving read: `[key length, key…, allowance]` holds a
/// slot of the key, at most `allowance` at once; its reply is the key's current value.
struct SlotKV: ReplicatedStateMachine {
    let kv = KVStateMachine()

    func apply(
        command: [UInt8], shard: UInt32, index: UInt64, clock: UInt64, txn: borrowing WriteTransaction,
        tables: NodeTables
    ) throws -> Applied {
        try kv.apply(command: command, shard: shard, index: index, clock: clock, txn: txn, tables: tables)
    }

    func rejection(of error: any Error, command: [UInt8]) -> [UInt8] { kv.rejection(of: error, command: command) }

    func read(request: [UInt8], shard: UInt32, txn: borrowing ReadTransaction, tables: NodeTables) throws -> [UInt8] {
        try kv.read(request: request, shard: shard, txn: txn, tables: tables)
    }

    func reserve(
        request: [UInt8], shard: UInt32, now: UInt64, txn: borrowing ReadTransaction, tables: NodeTables
    ) throws -> Reservation {
        // `[0xff, node (8), boot (8), id…]`: a once id issued by that node's run, no slot.
        if request.first == 0xff {
            var r = BinaryReader(Array(request.dropFirst()))
            let node = try r.u64()
            let boot = try r.u64()
            let id = Array(request.dropFirst(17))
            return Reservation(
                reply: [1], once: .init(id: id, node: node, boot: boot, used: [0], lifeMilliseconds: 60_000))
        }
        let key = Array(request.dropFirst().prefix(Int(request[0])))
        var w = BinaryWriter()
        w.u8(1)
        w.u32(1)
        w.blob(key)
        let value = try kv.read(request: w.bytes, shard: shard, txn: txn, tables: tables)
        return Reservation(
            reply: value, slot: .init(key: key, allowance: Int(request.last!), full: Array("full".utf8)))
    }
}

@Suite("Reserving reads on a shard's leader")
struct ReservationTests {
    /// Waits (a bounded number of looks) until `done` says so.
    func eventually(_ what: String, _ done: () -> Bool) async throws {
        var looks = 0
        while !done() {
            looks += 1
            guard looks < 3_000 else { throw LogAgeTests.Failure(description: "never: \(what)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    final class Replies: @unchecked Sendable {
        private let lock = NSLock()
        private var all: [Int: ClientResponse.Body] = [:]
        func set(_ i: Int, _ b: ClientResponse.Body) { lock.withLock { all[i] = b } }
        func get(_ i: Int) -> ClientResponse.Body? { lock.withLock { all[i] } }
        var count: Int { lock.withLock { all.count } }
    }

    @Test("at most the allowance is held; a release lets the next waiting read through, after reading again; once ids are claimed once, on their node; a stop answers the rest")
    func slotsAndWaiting() async throws {
        let dir = Scratch()
        let config = try dir.singleNode()
        let node = try NodeRuntime(
            nodeId: 1, config: config, dataDirectory: "\(dir.path)/node1", stateMachine: SlotKV(),
            logger: Logger(label: "t"))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        node.start(on: group.next())
        // A leader first: a put goes through.
        var tries = 0
        while case let refused = await node.propose(
            shard: 1, requestId: RequestID.make(),
            command: KVStateMachine.Command.put(key: [7], value: [1]).encoded), refused != .ok([0])
        {
            tries += 1
            guard tries < 3_000 else { throw LogAgeTests.Failure(description: "no leader: \(refused)") }
            try await Task.sleep(for: .milliseconds(10))
        }
        let replies = Replies()
        for i in 0..<3 {
            node.submit(.reserve(shard: 1, request: [1, 7, 2], reply: { replies.set(i, $0) }))
        }
        try await eventually("two granted") { replies.count == 2 }
        let granted = try [0, 1, 2].compactMap { i -> ReservedReply? in
            guard case .ok(let bytes)? = replies.get(i) else { return nil }
            return try ReservedReply(decoding: bytes)
        }
        #expect(granted.count == 2 && granted.allSatisfy { $0.ticket != 0 && $0.node == 1 && $0.term > 0 })
        #expect(granted.allSatisfy { $0.reply.last == 1 }, "the slot's read saw the put: \(granted)")
        // The third waits; a write meanwhile, then a release: it reads again and sees it.
        try await Task.sleep(for: .milliseconds(100))
        #expect(replies.count == 2, "a third slot was granted over the allowance")
        _ = await node.propose(
            shard: 1, requestId: RequestID.make(), command: KVStateMachine.Command.put(key: [7], value: [2]).encoded)
        node.submit(.release(shard: 1, ticket: granted[0].ticket, reply: { _ in }))
        try await eventually("the waiting read granted") { replies.count == 3 }
        let third = try [0, 1, 2].compactMap { i -> ReservedReply? in
            guard case .ok(let bytes)? = replies.get(i) else { return nil }
            let r = try ReservedReply(decoding: bytes)
            return granted.contains(r) ? nil : r
        }
        #expect(third.count == 1 && third[0].ticket != 0 && third[0].reply.last == 2, "\(third)")
        // Full again: one more waits, and is answered `full` after the wait's bound.
        let late = Replies()
        node.submit(.reserve(shard: 1, request: [1, 7, 2], reply: { late.set(0, $0) }))
        try await eventually("the late read answered") { late.count == 1 }
        guard case .ok(let bytes)? = late.get(0) else {
            throw LogAgeTests.Failure(description: "\(String(describing: late.get(0)))")
        }
        let full = try ReservedReply(decoding: bytes)
        #expect(full.ticket == 0 && full.reply == Array("full".utf8))
        let node1 = node
        // Once ids: this node's run claims its own once; another node's are left to the
        // front to claim there; an id of another run of this node is refused.
        func once(_ node: UInt64, _ boot: UInt64, _ id: UInt8) async throws -> ReservedReply {
            var w = BinaryWriter()
            w.u8(0xff)
            w.u64(node)
            w.u64(boot)
            let answer = await withCheckedContinuation { c in
                node1.submit(.reserve(shard: 1, request: w.bytes + [id], reply: { c.resume(returning: $0) }))
            }
            guard case .ok(let bytes) = answer else { throw LogAgeTests.Failure(description: "\(answer)") }
            return try ReservedReply(decoding: bytes)
        }
        let boot = granted[0].boot
        let first = try await once(1, boot, 5)
        #expect(first.reply == [1] && !first.claimElsewhere)
        #expect(try await once(1, boot, 5).reply == [0], "a once id granted twice")
        #expect(try await once(1, boot &+ 1, 6).reply == [0], "another run's id granted")
        let elsewhere = try await once(2, 99, 7)
        #expect(elsewhere.reply == [1] && elsewhere.claimElsewhere)
        func claim(_ boot: UInt64, _ id: [UInt8]) async -> ClientResponse.Body {
            await withCheckedContinuation { c in
                node1.submit(.claim(boot: boot, id: id, reply: { c.resume(returning: $0) }))
            }
        }
        #expect(await claim(boot, [8]) == .ok([1]))
        #expect(await claim(boot, [8]) == .ok([0]))
        #expect(await claim(boot &+ 1, [9]) == .ok([0]))
        // A stop answers whoever still waits.
        let stopped = Replies()
        node.submit(.reserve(shard: 1, request: [1, 7, 2], reply: { stopped.set(0, $0) }))
        try await Task.sleep(for: .milliseconds(50))
        node.stop()
        try await eventually("the waiting read answered at the stop") { stopped.count == 1 }
        if case .ok? = stopped.get(0) { Issue.record("a read granted over the allowance at the stop") }
        try await group.shutdownGracefully()
    }
}
