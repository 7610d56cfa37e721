import Raft
import Testing

/// Rules beyond the paper's core, from Ongaro's dissertation and etcd-io/raft: pre-vote,
/// check-quorum, stickiness, ReadIndex and leases, leadership transfer, flow control.
@Suite("Raft extensions")
struct ExtensionTests {
    @Test("pre-vote: a partitioned node keeps campaigning without raising its term")
    func preVoteKeepsTerm() {
        let c = TestCluster(voters: [1, 2, 3])
        c.elect(1)
        let term = c[3].term
        c.isolated = [3]
        c.tick(3, 100)
        #expect(c[3].term == term)
        #expect(c[3].role == .preCandidate)
        c.isolated = []
        c.tickAll(5)
        #expect(c[1].role == .leader, "the rejoining node did not depose the leader")
        #expect(c[1].term == term)
    }

    @Test("pre-vote: a node that could win goes on to a real election")
    func preVoteThenVote() {
        let c = TestCluster(voters: [1, 2, 3])
        c.elect(2)
        #expect(c[2].role == .leader)
        #expect(c[2].term == 2)
    }

    @Test("a leader refuses proposals while too many of its entries are uncommitted, and takes them again after")
    func uncommittedBacklog() throws {
        let c = TestCluster(voters: [1, 2, 3]) { $0.maxUncommittedEntries = 8 }
        c.elect(1)
        c.isolated = [2, 3]
        var taken = 0
        for i in 0..<20 where (try? c[1].propose([UInt8(i)])) != nil { taken += 1 }
        // The leader's empty entry of its term is committed; 8 more may wait.
        #expect(taken == 8)
        #expect(throws: RaftError.uncommittedBacklog) { try c[1].propose([99]) }
        c.isolated = []
        c.stabilize()
        #expect(c[1].commitIndex == c[1].lastIndex)
        _ = try c[1].propose([100])
    }

    @Test("check-quorum: a leader that hears from no quorum for an election timeout steps down")
    func checkQuorumStepDown() {
        let c = TestCluster(voters: [1, 2, 3])
        c.elect(1)
        c.isolated = [2, 3]
        for _ in 0..<25 {
            c.tick(1)
            c.stabilize()
        }
        #expect(c[1].role == .follower)
        #expect(throws: RaftError.notLeader(leader: 0)) { try c[1].propose(bytes("x")) }
    }

    @Test("stickiness: a follower that heard from its leader recently ignores a disruptive candidate")
    func stickiness() {
        let c = TestCluster(voters: [1, 2, 3]) { $0.preVote = false }
        c.elect(1)
        let term = c[2].term
        var m = Message(type: .vote, from: 3, to: 2, term: term + 10)
        m.index = 100
        m.logTerm = 100
        c[2].step(m)
        #expect(c[2].term == term)
        #expect(c.take(.voteResponse).isEmpty)
    }

    @Test("no peer can push a term or an index to the type's maximum; acks past the leader's log are ignored")
    func hostileNumbersDropped() throws {
        let c = TestCluster(voters: [1, 2, 3]) { $0.preVote = false }
        c.elect(1)
        let term = c[2].term
        for field in 0..<5 {
            var m = Message(type: .heartbeat, from: 1, to: 2, term: term)
            switch field {
            case 0: m.term = .max
            case 1: m.commit = .max
            case 2: m.term = Raft.RaftNode<SeededGenerator>.maxTermOrIndex + 1
            case 3: m.type = .append; m.index = .max; m.logTerm = term
            default: m.type = .append; m.entries = [Entry(term: .max, index: 1)]
            }
            c[2].step(m)
            #expect(c[2].term == term, "field \(field)")
        }
        // A vote request at the top term is dropped too: the group goes on at its term.
        c[3].step(Message(type: .vote, from: 2, to: 3, term: .max))
        #expect(c[3].term == term)
        // An appendResponse acknowledging entries the leader never had changes nothing.
        let commit = c[1].commitIndex
        var ack = Message(type: .appendResponse, from: 2, to: 1, term: c[1].term)
        ack.index = c[1].lastIndex + 1_000
        c[1].step(ack)
        ack.from = 3
        c[1].step(ack)
        c.stabilize()
        #expect(c[1].commitIndex == commit && c[1].role == .leader)
        _ = try c[1].propose(bytes("after"))
        c.stabilize()
        #expect(c.appliedData(3).last == "after")
    }

    @Test("a removed member learns of its removal: the leader's last heartbeat lets it commit and apply it")
    func removedMemberLearns() throws {
        let c = TestCluster(voters: [1, 2, 3])
        c.elect(1)
        try c[1].proposeConfChange(ConfChange(.remove, 3))
        c.stabilize()
        #expect(c[1].confState.voters == [1, 2])
        #expect(!c[3].confState.members.contains(3), "node 3 still counts itself a member")
        // And nothing is sent to it afterwards.
        c.sent = []
        _ = try c[1].propose(bytes("later"))
        c.tickAll(3)
        #expect(!c.sent.contains { $0.to == 3 })
    }

    @Test("amnesia: a member back with wiped storage has no vote; the leader demotes it, and makes it a voter once it has the log")
    func wipedMemberDoesNotVote() throws {
        final class Incarnations { var of: [NodeID: UInt64] = [1: 11, 2: 22, 3: 33] }
        let incarnations = Incarnations()
        let c = TestCluster(voters: [1, 2, 3]) { $0.incarnation = incarnations.of[$0.id]! }
        c.elect(1)
        c.tickAll(3)
        #expect(c[1].confState.incarnations == [1: 11, 2: 22, 3: 33])
        for i in 0..<5 { _ = try c[1].propose(bytes("e\(i)")) }
        c.stabilize()
        // Node 3's disk is replaced: founding configuration again, a new incarnation.
        incarnations.of[3] = 34
        c.storages[3] = MemoryStorage(bootstrap: [1, 2, 3])
        c.applied[3] = []
        c.add(3, storage: c.storages[3]!)
        // 1 is away and 2 campaigns: 3 grants (it remembers nothing), but its grant does not
        // count, so 2 cannot win with it.
        c.isolated = [1]
        for _ in 0..<3 {
            c[2].campaign()
            c.stabilize()
        }
        #expect(c[2].role != .leader)
        #expect(c.sent.contains { $0.from == 3 && $0.to == 2 && !$0.reject && $0.incarnation == 34 })
        c.isolated = []
        // The leader hears 3's new incarnation: 3 becomes a learner, catches up, votes again.
        c.tickAll(20)
        #expect(c[1].confState.incarnations[3] == 34)
        #expect(c[1].confState.voters == [1, 2, 3] && c[1].confState.demoted.isEmpty)
        #expect(c.appliedData(3).suffix(5) == ["e0", "e1", "e2", "e3", "e4"])
        #expect(c.sent.contains { m in
            m.type == .append && m.entries.contains { ConfChange(encoded: $0.data)?.kind == .incarnation && ConfChange(encoded: $0.data)?.node == 3 }
        })
    }

    @Test("ReadIndex: a read is answered only after a quorum confirms the leader, at the commit index")
    func readIndexNeedsQuorum() throws {
        let c = TestCluster(voters: [1, 2, 3])
        c.elect(1)
        try c[1].propose(bytes("w"))
        c.stabilize()
        c.isolated = [2, 3]
        try c[1].readIndex(bytes("r1"))
        c.stabilize()
        #expect(c.readStates[1, default: []].isEmpty, "no quorum, no answer")
        c.isolated = []
        try c[1].readIndex(bytes("r2"))
        c.stabilize()
        let states = c.readStates[1, default: []]
        #expect(states.map { String(decoding: $0.context, as: UTF8.self) } == ["r1", "r2"])
        #expect(states.allSatisfy { $0.index == c[1].commitIndex })
    }

    @Test("ReadIndex: a new leader answers no read before an entry of its term commits")
    func readIndexWaitsForNoOp() throws {
        let c = TestCluster(voters: [1, 2, 3])
        c.dropTypes = [.append]
        c.elect(1)
        #expect(c[1].role == .leader)
        try c[1].readIndex(bytes("early"))
        c.stabilize()
        #expect(c.readStates[1, default: []].isEmpty)
        c.dropTypes = []
        c.tickAll(3)
        #expect(c.readStates[1, default: []].map(\.context) == [bytes("early")])
    }

    @Test("ReadIndex: followers refuse reads and name the leader")
    func readIndexOnFollower() {
        let c = TestCluster(voters: [1, 2, 3])
        c.elect(1)
        #expect(throws: RaftError.notLeader(leader: 1)) { try c[2].readIndex(bytes("r")) }
    }

    @Test("lease reads are refused unless check-quorum is on")
    func leaseNeedsCheckQuorum() throws {
        let unsafe = TestCluster(voters: [1, 2, 3]) {
            $0.readMode = .lease
            $0.checkQuorum = false
        }
        unsafe.elect(1)
        #expect(throws: RaftError.leaseRequiresCheckQuorum) { try unsafe[1].readIndex(bytes("r")) }

        let safe = TestCluster(voters: [1, 2, 3]) { $0.readMode = .lease }
        safe.elect(1)
        safe.isolated = [2, 3]
        try safe[1].readIndex(bytes("r"))
        safe.processReadies()
        #expect(safe.readStates[1, default: []].count == 1, "a lease answers without a round trip")
    }

    @Test("leadership transfer: the target catches up, gets TimeoutNow and wins the next term")
    func transfer() throws {
        let c = TestCluster(voters: [1, 2, 3])
        c.elect(1)
        c.isolated = [3]
        try c[1].propose(bytes("x"))
        c.stabilize()
        c.isolated = []
        try c[1].transferLeadership(to: 3)
        #expect(throws: RaftError.transferInProgress) { try c[1].propose(bytes("y")) }
        c.stabilize()
        #expect(c[3].role == .leader)
        #expect(c[1].role == .follower)
        #expect(c[3].term == c[1].term)
    }

    @Test("batching: one append carries at most maxEntriesPerMessage entries and maxBytesPerMessage bytes")
    func batching() throws {
        let c = TestCluster(voters: [1, 2]) {
            $0.maxEntriesPerMessage = 4
            $0.maxBytesPerMessage = 200
        }
        c.elect(1)
        c.isolated = [2]
        for _ in 0..<20 { try c[1].propose([UInt8](repeating: 1, count: 10)) }
        for _ in 0..<3 { try c[1].propose([UInt8](repeating: 2, count: 150)) }
        c.stabilize()
        c.isolated = []
        c.sent = []
        c.tickAll(10)
        let appends = c.sent.filter { $0.type == .append && !$0.entries.isEmpty }
        #expect(!appends.isEmpty)
        #expect(appends.allSatisfy { $0.entries.count <= 4 })
        #expect(appends.allSatisfy { $0.entries.count == 1 || $0.entries.reduce(0) { $0 + $1.data.count + 24 } <= 200 })
        #expect(c[2].commitIndex == c[1].commitIndex)
    }

    @Test("pipelining: at most maxInflight appends are outstanding to a follower")
    func inflightWindow() throws {
        let c = TestCluster(voters: [1, 2]) {
            $0.maxEntriesPerMessage = 1
            $0.maxInflight = 3
        }
        c.elect(1)
        c.queue = []
        for i in 0..<10 { try c[1].propose(bytes("e\(i)")) }
        let appends = c.take(.append).filter { $0.to == 2 && !$0.entries.isEmpty }
        #expect(appends.count == 3)
    }

    @Test("probing: a burst of heartbeat responses frees one probe per heartbeat round, not one per response")
    func probeOncePerHeartbeatRound() throws {
        let c = TestCluster(voters: [1, 2, 3])
        c.elect(1)
        c.isolated = [3]
        for i in 0..<5 { try c[1].propose(bytes("e\(i)")) }
        c.stabilize()
        c[1].reportUnreachable(3)
        try c[1].propose(bytes("lost probe"))
        c.stabilize()
        // A follower back from a partition answers every heartbeat queued for it at once.
        c.tick(1)
        _ = c.take(.heartbeat)
        let term = c[1].term
        for _ in 0..<20 { c[1].step(Message(type: .heartbeatResponse, from: 3, to: 1, term: term)) }
        #expect(c.take(.append).filter { $0.to == 3 }.count == 1)
        // The next round frees the next probe (a lost one is still sent again).
        c.tick(1)
        _ = c.take(.heartbeat)
        c[1].step(Message(type: .heartbeatResponse, from: 3, to: 1, term: term))
        let again = c.take(.append).filter { $0.to == 3 }
        #expect(again.count == 1)
        c.isolated = []
        for m in again { c[3].step(m) }
        c.stabilize()
        #expect(c.appliedData(3) == c.appliedData(1))
    }

    @Test("restart: committed entries after the applied index are handed out again")
    func restartReplaysCommitted() throws {
        let c = TestCluster(voters: [1])
        c.elect(1)
        try c[1].propose(bytes("a"))
        try c[1].propose(bytes("b"))
        c.stabilize()
        #expect(c.appliedData(1) == ["a", "b"])
        c.applied[1] = []
        c.restart(1)
        c.processReadies()
        #expect(c.appliedData(1) == ["a", "b"])
    }
}
