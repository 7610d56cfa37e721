import Foundation
import Logging
import NIOCore
import NIOPosix
import NodeRPC
import Raft
import Testing

@testable import Node

@Suite("Membership: changes applied and kept, replicas created and deleted", .serialized)
struct MembershipTests {
    struct Failure: Error, CustomStringConvertible { var description: String }

    /// Node 1 founds shards 0 and 1 alone; node 2 is listed to join later.
    static func config(_ dir: Scratch) throws -> ClusterConfig {
        try ClusterConfig.parse(
            """
            shards = 1
            replication = 1
            tick_ms = 10
            kv_harness = true
            [tls]
            dir = "\(dir.path)/tls"
            [[nodes]]
            id = 1
            peer = "127.0.0.1:1"
            admin = "127.0.0.1:2"
            data = "\(dir.path)/node1"
            [[nodes]]
            id = 2
            peer = "127.0.0.1:3"
            admin = "127.0.0.1:4"
            data = "\(dir.path)/node2"
            join = true
            """)
    }

    static func open(_ id: UInt64, _ dir: Scratch) throws -> KVNode {
        var logger = Logger(label: "node\(id)")
        logger.logLevel = .critical
        return try NodeRuntime(
            nodeId: id, config: try config(dir), dataDirectory: "\(dir.path)/node\(id)", stateMachine: KVStateMachine(),
            logger: logger)
    }

    /// `step` on `node` (running on `loop`), or nil after two seconds without an answer.
    static func step(
        _ node: KVNode, on loop: EventLoop, shard: UInt32, _ step: MembershipStep
    ) async -> ClientResponse.Body? {
        await withCheckedContinuation { c in
            let once = Once<ClientResponse.Body?>(c)
            loop.scheduleTask(in: .seconds(2)) { once.resume(nil) }
            node.submit(.membership(shard: shard, step: step, reply: { once.resume($0) }))
        }
    }

    static func waitForLead(_ node: KVNode, of shard: UInt32) async throws {
        for _ in 0..<500 {
            if await node.ledShards().contains(shard) { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw Failure(description: "no lead of shard \(shard) within 5 s")
    }

    @Test("a change is applied on the leader, kept across a restart, and checked before it is proposed")
    func changesPersist() async throws {
        let dir = Scratch()
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        var node = try Self.open(1, dir)
        node.start(on: loop)
        try await Self.waitForLead(node, of: 1)

        #expect(await Self.step(node, on: loop, shard: 1, .change(.addLearner, node: 2, address: nil)) == .ok([]))
        let status = await withCheckedContinuation { c in node.status { c.resume(returning: $0) } }
        let shard1 = try #require(status.shards.first { $0.shard == 1 })
        #expect(shard1.voters == [1] && shard1.learners == [2] && shard1.match?["2"] == 0)
        // A node the definition does not list, a second add, an unknown shard: refused.
        guard case .invalid(let why) = await Self.step(node, on: loop, shard: 1, .change(.addLearner, node: 9, address: nil)) else {
            Issue.record("adding node 9 was not refused")
            return
        }
        #expect(why.contains("not in the cluster definition and no address was given"))
        // With its addresses it may join: they become part of the shard's state.
        let nine = NodeAddress(peer: "127.0.0.1:9009", admin: "127.0.0.1:9019")
        #expect(await Self.step(node, on: loop, shard: 1, .change(.addLearner, node: 9, address: nine)) == .ok([]))
        let withNine = await withCheckedContinuation { c in node.status { c.resume(returning: $0) } }
        #expect(withNine.peers == ["9": nine])
        guard case .invalid = await Self.step(node, on: loop, shard: 1, .change(.addLearner, node: 2, address: nil)) else {
            Issue.record("adding node 2 twice was not refused")
            return
        }
        guard case .invalid = await Self.step(node, on: loop, shard: 5_000, .addReplica) else {
            Issue.record("a shard past the most a cluster may have was not refused")
            return
        }
        // A learner that has received nothing may not vote; node 0 is nobody.
        guard case .invalid(let early) = await Self.step(node, on: loop, shard: 1, .change(.addVoter, node: 2, address: nil))
        else {
            Issue.record("a learner with nothing received was made a voter")
            return
        }
        #expect(early.contains("must be a learner that has received the log"))
        guard case .invalid = await Self.step(node, on: loop, shard: 1, .change(.addLearner, node: 0, address: nine)) else {
            Issue.record("node 0 was added")
            return
        }
        // The leader may not delete its own replica.
        guard case .invalid = await Self.step(node, on: loop, shard: 1, .dropReplica) else {
            Issue.record("the leader deleted its replica")
            return
        }
        node.stop()

        node = try Self.open(1, dir)
        #expect(node.replicas[1]!.raft.confState.voters == [1] && node.replicas[1]!.raft.confState.learners == [2, 9])
        #expect(node.addressBook == [9: nine])
        #expect(node.replicas[0]!.raft.confState.members == [1])
        node.start(on: loop)
        try await Self.waitForLead(node, of: 1)
        #expect(await Self.step(node, on: loop, shard: 1, .change(.remove, node: 2, address: nil)) == .ok([]))
        #expect(await Self.step(node, on: loop, shard: 1, .change(.remove, node: 9, address: nil)) == .ok([]))
        node.stop()
        node = try Self.open(1, dir)
        #expect(node.replicas[1]!.raft.confState.members == [1] && node.addressBook.isEmpty)
        // The leader recorded its own incarnation, and it outlives the restarts.
        #expect(node.replicas[1]!.raft.confState.incarnations == [1: node.incarnation])
    }

    @Test("a joining node starts empty; a replica added to it is kept; a deleted one is gone for good")
    func replicasComeAndGo() async throws {
        let dir = Scratch()
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        var joiner = try Self.open(2, dir)
        #expect(joiner.replicas.isEmpty)
        joiner.start(on: loop)
        #expect(await Self.step(joiner, on: loop, shard: 1, .addReplica) == .ok([]))
        #expect(await Self.step(joiner, on: loop, shard: 1, .addReplica) == .ok([]))
        guard case .noReplica = await Self.step(joiner, on: loop, shard: 0, .change(.addVoter, node: 2, address: nil)) else {
            Issue.record("a node without the replica did not say so")
            return
        }
        joiner.stop()
        joiner = try Self.open(2, dir)
        // Empty, with no configuration: it cannot campaign, and waits for a leader's snapshot.
        let raft = try #require(joiner.replicas[1]?.raft)
        #expect(joiner.replicas.keys.sorted() == [1] && raft.lastIndex == 0 && raft.confState.voters.isEmpty)
        joiner.start(on: loop)
        #expect(await Self.step(joiner, on: loop, shard: 1, .dropReplica) == .ok([]))
        joiner.stop()
        #expect(try Self.open(2, dir).replicas.isEmpty)

        // A member's replica is never dropped on request: its group still counts on its log.
        // (Not started: no tick makes it a candidate, so only the membership check refuses.)
        var founder = try Self.open(1, dir)
        #expect(founder.replicas.keys.sorted() == [0, 1])
        let answers = Answers()
        for shard: UInt32 in [0, 1] { founder.membership(shard: shard, step: .dropReplica, reply: answers.add) }
        for answer in answers.all {
            guard case .invalid(let why) = answer, why.contains("still a member") else {
                Issue.record("a member's replica was dropped: \(answer)")
                continue
            }
        }
        #expect(founder.replicas.keys.sorted() == [0, 1])
        // A founding node whose replicas all went (as when it applies its own removal) does
        // not found them again at its next start.
        founder.retiring = [0, 1]
        founder.retireReplicas()
        #expect(founder.replicas.isEmpty)
        founder = try Self.open(1, dir)
        #expect(founder.replicas.isEmpty)
    }

    @Test("a shard the definition does not have is founded with the voters named and kept; a definition's shard is not")
    func founding() async throws {
        let dir = Scratch()
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        var node = try Self.open(1, dir)
        node.start(on: loop)
        #expect(await Self.step(node, on: loop, shard: 2, .found(voters: [1])) == .ok([]))
        try await Self.waitForLead(node, of: 2)
        #expect(await Self.step(node, on: loop, shard: 2, .found(voters: [1])) == .ok([]))
        guard case .invalid = await Self.step(node, on: loop, shard: 1, .found(voters: [1])) else {
            Issue.record("a shard of the definition was founded again")
            return
        }
        for voters: [UInt64] in [[2], [1, 1], [0, 1]] {
            guard case .invalid = await Self.step(node, on: loop, shard: 3, .found(voters: voters)) else {
                Issue.record("shard 3 was founded with voters \(voters)")
                return
            }
        }
        // On the wire: the voters round-trip; more than a group may found with do not decode.
        let request = ClientRequest(correlation: 3, body: .membership(shard: 4, step: .found(voters: [1, 2, 3])))
        #expect(try ClientRequest(decoding: request.encode()) == request)
        let many = ClientRequest(correlation: 3, body: .membership(shard: 4, step: .found(voters: Array(1...8))))
        #expect(throws: (any Error).self) { try ClientRequest(decoding: many.encode()) }
        node.stop()
        node = try Self.open(1, dir)
        #expect(node.replicas.keys.sorted() == [0, 1, 2])
        #expect(node.replicas[2]!.raft.confState.members == [1])
    }
}

/// Answers collected from a synchronous call.
final class Answers: @unchecked Sendable {
    private let lock = NSLock()
    private var kept: [ClientResponse.Body] = []
    func add(_ answer: ClientResponse.Body) { lock.withLock { kept.append(answer) } }
    var all: [ClientResponse.Body] { lock.withLock { kept } }
}
