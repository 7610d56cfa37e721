import Foundation
@testable import NodeRPC
@testable import Ops
import Testing

@Suite("cluster status polls")
struct ClusterPollTests {
    static func shard(_ id: UInt32, _ role: String, commit: UInt64, applied: UInt64) -> NodeStatus.Shard {
        NodeStatus.Shard(shard: id, role: role, term: 2, leader: 1, commit: commit, applied: applied, lastIndex: commit, firstIndex: 1, voters: [1, 2, 3])
    }

    @Test("a poll of nodes that are not running names every node as silent and every shard as leaderless")
    func nothingRunning() async throws {
        // The embedded definition's ports, moved where nothing listens.
        let text = ClusterConfig.embeddedLocal.replacingOccurrences(of: "127.0.0.1:71", with: "127.0.0.1:61")
            .replacingOccurrences(of: "127.0.0.1:72", with: "127.0.0.1:62")
        let tls = FileManager.default.temporaryDirectory.appendingPathComponent("cognate-poll-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: tls) }
        let config = try ClusterConfig.parse(text.replacingOccurrences(of: "dir = \".cognate/tls\"", with: "dir = \"\(tls)\""))
        try ClusterCertificates.create(for: config)
        let client = try NodeClient(config: config)
        let poll = await ClusterPoll.poll(config, with: client)
        await client.close()
        #expect(poll.statuses.isEmpty)
        #expect(poll.silent == [1, 2, 3])
        #expect(poll.leaderless == [0, 1, 2, 3])
        #expect(!poll.settled)
        #expect(poll.missing == "no status from node(s) 1, 2, 3; no leader for shard(s) 0, 1, 2, 3")
    }

    @Test("leader commits keep the highest commit a leader reports for each shard and ignore followers")
    func leaderCommits() {
        let poll = ClusterPoll(
            statuses: [
                NodeStatus(node: 1, pid: 10, shards: [Self.shard(0, "leader", commit: 40, applied: 40), Self.shard(1, "follower", commit: 90, applied: 90)]),
                NodeStatus(node: 2, pid: 11, shards: [Self.shard(0, "leader", commit: 35, applied: 35), Self.shard(1, "leader", commit: 70, applied: 70)]),
            ],
            silent: [3], leaderless: [2])
        #expect(poll.leaderCommits == [0: 40, 1: 70])
        #expect(!poll.settled)
        #expect(poll.missing == "no status from node(s) 3; no leader for shard(s) 2")
        #expect(ClusterPoll(statuses: poll.statuses, silent: [], leaderless: []).settled)
        #expect(ClusterPoll(statuses: poll.statuses, silent: [], leaderless: []).missing == "")
    }
}
