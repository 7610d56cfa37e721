import Foundation
import Logging
import NIOPosix
import NodeRPC
import Raft
import Sharding
import Testing

@testable import Node

/// A wall clock a test moves by hand, counting how often the node reads it.
final class HandClock: @unchecked Sendable {
    private let lock = NSLock()
    private var seconds = 1_800_000_000.0
    private var readings = 0
    var now: Double {
        lock.withLock {
            readings += 1
            return seconds
        }
    }
    var reads: Int { lock.withLock { readings } }
    func advance(_ by: Double) { lock.withLock { seconds += by } }
}

@Suite("The log's maximum age")
struct LogAgeTests {
    struct Failure: Error, CustomStringConvertible { var description: String }

    /// Moves the clock, then waits until the node has read it twice, so one whole
    /// once-a-second check ran at the new time. The liveness bound counts looks, not wall
    /// time: on a busy machine other tests may hold every thread this task could run on for
    /// longer than any time bound, and a look that comes late still looks.
    func advance(_ clock: HandClock, _ seconds: Double, stopped: FailureBox) async throws {
        clock.advance(seconds)
        let start = clock.reads
        var looks = 0
        while clock.reads < start + 2 {
            looks += 1
            guard looks < 6_000 else {
                throw Failure(
                    description: "the node read its clock \(clock.reads - start) times of 2; "
                        + (stopped.reason.map { "it stopped: \($0)" } ?? "it did not stop"))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test("entries applied log_max_age_seconds ago leave the log however few followed them; the state stays")
    func oldEntriesAreCompacted() async throws {
        let dir = Scratch()
        let config = try dir.singleNode("log_max_age_seconds = 160")
        let data = "\(dir.path)/node1"
        let clock = HandClock()
        let node = try NodeRuntime(
            nodeId: 1, config: config, dataDirectory: data, stateMachine: KVStateMachine(), logger: Logger(label: "t"),
            walFile: { try POSIXWALFile(path: $0, capacity: $1) }, wallClock: { clock.now })
        let stopped = FailureBox()
        node.onFailure = { stopped.set($0) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        node.start(on: group.next())
        var written = 0
        var tries = 0
        while written < 20 {
            let put = KVStateMachine.Command.put(key: Array("k\(written)".utf8), value: [UInt8(written)]).encoded
            switch await node.propose(shard: 1, requestId: RequestID.make(), command: put) {
            case .ok: written += 1
            case let refused:
                tries += 1
                guard tries < 3_000 else {
                    throw Failure(description: "put \(written) refused \(tries) times: \(refused)")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        // A tenth of the age later the node notes what it applied; less than the age after
        // that nothing has left the log.
        try await advance(clock, 10, stopped: stopped)
        let first = try await onLoop(node, group) { $0.replicas[1]!.storage.firstIndex() }
        try await advance(clock, 100, stopped: stopped)
        #expect(try await onLoop(node, group) { $0.replicas[1]!.storage.firstIndex() } == first)
        // The age after the note: every entry applied by then is gone from the log.
        try await advance(clock, 70, stopped: stopped)
        let applied = try await onLoop(node, group) { $0.replicas[1]!.raft.appliedIndex }
        let after = try await onLoop(node, group) { $0.replicas[1]!.storage.firstIndex() }
        #expect(first <= 2 && after > first + 20 && after <= applied + 1, "first \(first), after \(after)")
        node.stop()
        try await group.shutdownGracefully()

        // The state machine keeps every put, and a restart finds the log compacted.
        let again = try NodeRuntime(
            nodeId: 1, config: config, dataDirectory: data, stateMachine: KVStateMachine(), logger: Logger(label: "t"))
        #expect(again.replicas[1]!.storage.firstIndex() == after)
        var w = BinaryWriter()
        w.u8(1)
        w.u32(20)
        for i in 0..<20 { w.blob(Array("k\(i)".utf8)) }
        let reply = try again.env.read { txn in
            try KVStateMachine().read(request: w.bytes, shard: 1, txn: txn, tables: again.tables)
        }
        var r = BinaryReader(reply)
        #expect(try r.u32() == 20)
        for i in 0..<20 {
            #expect(try r.bool())
            #expect(try r.blob() == [UInt8(i)])
        }
    }

    /// `body` on the node's loop, where its replicas live.
    func onLoop<T: Sendable>(
        _ node: NodeRuntime<KVStateMachine>, _ group: MultiThreadedEventLoopGroup,
        _ body: @escaping @Sendable (NodeRuntime<KVStateMachine>) -> T
    ) async throws -> T {
        // One thread: the group's loop is the node's.
        try await group.next().submit { body(node) }.get()
    }
}
