import Raft
import Testing

/// The Raft paper (Ongaro & Ousterhout, "In Search of an Understandable Consensus
/// Algorithm", extended version), rule by rule. Pre-vote is off where a rule is about the
/// plain election of §5.2; it has its own tests in ExtensionTests.
@Suite("Raft paper rules")
struct PaperTests {
    static func plain(_ c: inout RaftConfig) {
        c.preVote = false
        c.checkQuorum = false
    }

    // MARK: §5.1 Raft basics

    @Test("§5.1: a server that receives a request with a stale term rejects it")
    func staleTermRejected() {
        let c = TestCluster(voters: [1, 2, 3], configure: Self.plain)
        c.elect(1)
        c.elect(2)  // term moves on; 2 leads
        #expect(c[2].role == .leader)
        c.queue = []
        let (term, vote, last) = (c[1].term, c[1].vote, c[1].lastIndex)
        #expect(term > 1)
        var stale = Message(type: .vote, from: 3, to: 1, term: 1)
        stale.index = 100
        stale.logTerm = 100
        c[1].step(stale)
        #expect(c[1].term == term && c[1].vote == vote, "a stale vote request changes nothing")
        let replies = c.take(.voteResponse)
        #expect(replies.allSatisfy { $0.reject })
        var append = Message(type: .append, from: 3, to: 1, term: 1)
        append.index = last
        append.logTerm = c[1].term(at: last)!
        append.entries = [Entry(term: 1, index: last + 1, data: bytes("stale"))]
        c[1].step(append)
        #expect(c[1].lastIndex == last, "a stale append adds nothing")
    }

    @Test("§5.1: a server that sees a larger term updates its current term")
    func largerTermAdopted() {
        let c = TestCluster(voters: [1, 2, 3], configure: Self.plain)
        c.elect(1)
        let before = c[2].term
        c[2].step(Message(type: .heartbeat, from: 3, to: 2, term: before + 5))
        #expect(c[2].term == before + 5)
        #expect(c[2].role == .follower)
    }

    @Test("§5.1: a leader or candidate that discovers a newer term reverts to follower")
    func leaderStepsDownOnNewerTerm() {
        let c = TestCluster(voters: [1, 2, 3], configure: Self.plain)
        c.elect(1)
        #expect(c[1].role == .leader)
        var m = Message(type: .appendResponse, from: 2, to: 1, term: c[1].term + 1)
        m.index = 0
        c[1].step(m)
        #expect(c[1].role == .follower)

        c[3].campaign()
        #expect(c[3].role == .candidate)
        c[3].step(Message(type: .heartbeat, from: 2, to: 3, term: c[3].term + 1))
        #expect(c[3].role == .follower)
    }

    // MARK: §5.2 Leader election

    @Test("§5.2: a follower that hears nothing for an election timeout becomes a candidate of the next term")
    func followerTimesOut() {
        let c = TestCluster(voters: [1, 2, 3], configure: Self.plain)
        let term = c[1].term
        c.tick(1, 20)  // at least the randomized timeout (10..<20)
        #expect(c[1].role == .candidate)
        #expect(c[1].term == term + 1)
    }

    @Test("§5.2: a candidate votes for itself and asks every other server in parallel")
    func candidateRequestsVotes() {
        let c = TestCluster(voters: [1, 2, 3, 4, 5], configure: Self.plain)
        c[1].campaign()
        #expect(c[1].vote == 1)
        let requests = c.take(.vote)
        #expect(Set(requests.map(\.to)) == [2, 3, 4, 5])
        #expect(requests.allSatisfy { $0.term == c[1].term })
    }

    @Test("§5.2: a candidate with votes from a majority becomes leader")
    func majorityWins() {
        let c = TestCluster(voters: [1, 2, 3, 4, 5], configure: Self.plain)
        c.isolated = [4, 5]
        c.elect(1)
        #expect(c[1].role == .leader)
    }

    @Test("§5.2: without a majority a candidate stays a candidate")
    func minorityLoses() {
        let c = TestCluster(voters: [1, 2, 3, 4, 5], configure: Self.plain)
        c.isolated = [3, 4, 5]
        c.elect(1)
        #expect(c[1].role == .candidate)
    }

    @Test("§5.2: each server votes for at most one candidate per term, first come first served")
    func oneVotePerTerm() {
        let c = TestCluster(voters: [1, 2, 3], configure: Self.plain)
        func request(from: NodeID) -> Message {
            var m = Message(type: .vote, from: from, to: 3, term: 2)
            m.index = 1
            m.logTerm = 1
            return m
        }
        c[3].step(request(from: 1))
        c[3].step(request(from: 2))
        c[3].step(request(from: 1))  // a retry of the first is granted again
        let replies = c.take(.voteResponse)
        #expect(replies.map { "\($0.to):\($0.reject)" } == ["1:false", "2:true", "1:false"])
    }

    @Test("§5.2: a candidate that hears from a leader of at least its term becomes its follower")
    func candidateYieldsToLeader() {
        let c = TestCluster(voters: [1, 2, 3], configure: Self.plain)
        c[2].campaign()
        let term = c[2].term
        var m = Message(type: .append, from: 1, to: 2, term: term)
        m.index = 1
        m.logTerm = 1
        c[2].step(m)
        #expect(c[2].role == .follower)
        #expect(c[2].leader == 1)
    }

    @Test("§5.2: a split vote ends in a new election of a later term")
    func splitVoteRetries() {
        let c = TestCluster(voters: [1, 2, 3, 4], configure: Self.plain)
        c.isolated = [1, 2, 3, 4]
        c[1].campaign()
        c[2].campaign()
        let term = c[1].term
        c.isolated = []
        c.tick(1, 20)
        #expect(c[1].term > term)
        #expect(c[1].role == .candidate)
    }

    @Test("§5.2: election timeouts are drawn at random from [electionTick, 2·electionTick)")
    func randomizedTimeouts() {
        var seen = Set<Int>()
        for seed in 0..<40 {
            let c = TestCluster(voters: [1, 2, 3], seed: UInt64(seed) * 1000, configure: Self.plain)
            var ticks = 0
            while c[1].role == .follower {
                c[1].tick()
                ticks += 1
            }
            #expect((10..<20).contains(ticks))
            seen.insert(ticks)
        }
        #expect(seen.count > 3)
    }

    @Test("§5.2: a leader sends heartbeats to every follower each heartbeat interval")
    func heartbeats() {
        let c = TestCluster(voters: [1, 2, 3], configure: Self.plain)
        c.elect(1)
        c.queue = []
        c.tick(1)
        #expect(Set(c.take(.heartbeat).map(\.to)) == [2, 3])
    }

    // MARK: §5.3 Log replication

    @Test("§5.3: the leader appends a command to its log and sends it to every follower")
    func leaderReplicates() throws {
        let c = TestCluster(voters: [1, 2, 3], configure: Self.plain)
        c.elect(1)
        let index = try c[1].propose(bytes("x"))
        #expect(c[1].lastIndex == index)
        let appends = c.take(.append)
        #expect(Set(appends.map(\.to)) == [2, 3])
        #expect(appends.allSatisfy { $0.entries.last?.data == bytes("x") })
    }

    @Test("§5.3: an entry is committed once a majority stores it, and then applied")
    func majorityCommits() throws {
        let c = TestCluster(voters: [1, 2, 3, 4, 5], configure: Self.plain)
        c.elect(1)
        c.isolated = [4, 5]
        try c[1].propose(bytes("x"))
        c.stabilize()
        #expect(c.appliedData(1) == ["x"])
        c.isolated = [3, 4, 5]
        try c[1].propose(bytes("y"))
        c.stabilize()
        #expect(c.appliedData(1) == ["x"], "two of five is no majority")
    }

    @Test("§5.3: followers apply committed entries in log order once they learn the commit index")
    func followersApply() throws {
        let c = TestCluster(voters: [1, 2, 3], configure: Self.plain)
        c.elect(1)
        for s in ["a", "b", "c"] { try c[1].propose(bytes(s)) }
        c.stabilize()
        c.tickAll(2)  // heartbeats carry the final commit index
        #expect(c.appliedData(2) == ["a", "b", "c"])
        #expect(c.appliedData(3) == ["a", "b", "c"])
    }

    @Test("§5.3: a follower refuses entries whose predecessor it does not hold")
    func consistencyCheck() {
        let c = TestCluster(voters: [1, 2, 3], configure: Self.plain)
        var m = Message(type: .append, from: 1, to: 2, term: 2)
        m.index = 5
        m.logTerm = 2
        m.entries = [Entry(term: 2, index: 6, data: bytes("z"))]
        c[2].step(m)
        let reply = c.take(.appendResponse)
        #expect(reply.count == 1 && reply[0].reject)
        #expect(c[2].lastIndex == 1)
    }

    @Test("§5.3: the leader overwrites a follower's conflicting entries with its own")
    func conflictsOverwritten() throws {
        let c = TestCluster(voters: [1, 2, 3], configure: Self.plain)
        c.elect(1)
        c.isolated = [1]
        try c[1].propose(bytes("lost"))  // only the old leader has it
        c.stabilize()
        c.isolated = [1]
        c.elect(2)
        try c[2].propose(bytes("kept"))
        c.stabilize()
        c.isolated = []
        c.tickAll(3)
        #expect(c.appliedData(1) == ["kept"])
        #expect(c[1].entries(from: 1, through: c[1].lastIndex).allSatisfy { $0.data != bytes("lost") })
    }

    @Test("§5.3: after a rejection the leader moves nextIndex back, a whole term at a time")
    func fastBacktracking() throws {
        let c = TestCluster(voters: [1, 2, 3], configure: Self.plain)
        c.elect(1)
        c.isolated = [3]
        for i in 0..<50 { try c[1].propose(bytes("e\(i)")) }
        c.stabilize()
        c.isolated = []
        c.sent = []
        c.tickAll(3)
        #expect(c.appliedData(3).count == 50)
        // One rejection suffices for 3's whole gap: no entry-by-entry walk back.
        let rejections = c.sent.filter { $0.type == .appendResponse && $0.reject && $0.from == 3 }
        #expect(rejections.count <= 1)
    }

    // MARK: §5.4 Safety

    @Test("§5.4.1: a voter denies its vote to a candidate whose log is less up to date")
    func upToDateLogRule() throws {
        let c = TestCluster(voters: [1, 2, 3], configure: Self.plain)
        c.elect(1)
        c.isolated = [3]
        try c[1].propose(bytes("x"))
        c.stabilize()
        c.isolated = [1, 2]
        c[3].campaign()
        c.isolated = [1]
        c.stabilize()
        #expect(c[3].role != .leader)
        #expect(c.sent.contains { $0.type == .voteResponse && $0.from == 2 && $0.to == 3 && $0.reject })
    }

    @Test("§5.4.2: a leader never commits an entry of an earlier term by counting replicas (Figure 8)")
    func figureEight() throws {
        let c = TestCluster(voters: [1, 2, 3, 4, 5], configure: Self.plain)
        c.elect(1)
        // (a) 1 leads term 2 and gets an entry onto 1 and 2 only.
        c.isolated = [3, 4, 5]
        try c[1].propose(bytes("old"))
        c.stabilize()
        let oldIndex = c[1].lastIndex
        #expect(c[1].commitIndex < oldIndex)
        // (b) 5 wins term 3 with 3 and 4, but nothing it writes reaches anyone.
        c.isolated = [1, 2]
        c.dropTypes = [.append, .heartbeat]
        c.elect(5)
        #expect(c[5].role == .leader)
        // (c) 5 is gone; 1 restarts, wins a later term and copies the old entry to 3, so a
        // majority (1, 2, 3) holds it. Deliver only that part, not 1's new no-op.
        c.isolated = [5]
        c.dropTypes = []
        c.queue = []
        c.restart(1)
        for _ in 0..<3 where c[1].role != .leader {
            c[1].campaign()
            for m in c.take(.vote) where m.to != 5 { c[m.to].step(m) }
            for m in c.take(.voteResponse) where m.to == 1 { c[1].step(m) }
        }
        #expect(c[1].role == .leader)
        for _ in 0..<5 where c[1].matchIndex(of: 3)! < oldIndex || c[1].matchIndex(of: 2)! < oldIndex {
            for m in c.take(.append) where m.to == 2 || m.to == 3 {
                var partial = m
                partial.entries = m.entries.filter { $0.term < c[1].term }
                c[m.to].step(partial)
            }
            for m in c.take(.appendResponse) where m.to == 1 { c[1].step(m) }
        }
        #expect(c[1].matchIndex(of: 2)! >= oldIndex && c[1].matchIndex(of: 3)! >= oldIndex)
        #expect(c[1].commitIndex < oldIndex, "a majority holds it, but it is of an earlier term")
        // (e) Once an entry of the current term reaches a majority, both commit.
        c.queue = []
        c.tickAll(3)
        #expect(c[1].commitIndex > oldIndex, "\(c[1])")
        #expect(c.appliedData(1) == ["old"])
    }

    @Test("§5.4.2: a new leader commits a no-op of its term, and with it the entries of earlier terms")
    func noOpCommitsEarlierTerms() throws {
        let c = TestCluster(voters: [1, 2, 3], configure: Self.plain)
        c.elect(1)
        try c[1].propose(bytes("a"))
        c.stabilize()
        c.elect(2)
        let noop = c[2].entries(from: c[2].lastIndex, through: c[2].lastIndex)
        #expect(noop.first?.data.isEmpty == true && noop.first?.term == c[2].term)
        #expect(c[2].commitIndex == c[2].lastIndex)
    }

    @Test("§5.4.3: a server restarts with its persisted term, vote and log")
    func restartKeepsDurableState() throws {
        let c = TestCluster(voters: [1, 2, 3], configure: Self.plain)
        c.elect(1)
        try c[1].propose(bytes("x"))
        c.stabilize()
        let (term, vote, last) = (c[2].term, c[2].vote, c[2].lastIndex)
        c.restart(2)
        #expect(c[2].term == term && c[2].vote == vote && c[2].lastIndex == last)
    }

    // MARK: §6 Cluster membership changes

    @Test("§6: a learner receives the log but neither votes nor counts toward commitment")
    func learners() throws {
        let c = TestCluster(voters: [1, 2, 3], configure: Self.plain)
        c.elect(1)
        c.add(4)
        try c[1].proposeConfChange(ConfChange(.addLearner, 4))
        c.stabilize()
        try c[1].propose(bytes("x"))
        c.stabilize()
        c.tickAll(2)
        #expect(c.appliedData(4) == ["x"])
        #expect(c[1].confState.learners == [4])
        c.isolated = [2, 3]
        try c[1].propose(bytes("y"))
        c.stabilize()
        #expect(c.appliedData(1) == ["x"], "leader and learner are not a majority of three voters")
        c.tick(4, 40)
        #expect(c[4].role == .follower, "a learner never campaigns")
    }

    @Test("§6: a promoted learner counts toward the quorum")
    func promotion() throws {
        let c = TestCluster(voters: [1, 2, 3], configure: Self.plain)
        c.elect(1)
        c.add(4)
        try c[1].proposeConfChange(ConfChange(.addLearner, 4))
        c.stabilize()
        try c[1].proposeConfChange(ConfChange(.addVoter, 4))
        c.stabilize()
        #expect(c[1].confState.voters == [1, 2, 3, 4])
        c.isolated = [3]
        try c[1].propose(bytes("x"))
        c.stabilize()
        #expect(c.appliedData(1) == ["x"])  // 1, 2, 4 of four
    }

    @Test("§6: membership changes go one at a time")
    func oneChangeAtATime() throws {
        let c = TestCluster(voters: [1, 2, 3], configure: Self.plain)
        c.elect(1)
        c.isolated = [2, 3]
        try c[1].proposeConfChange(ConfChange(.addLearner, 4))
        #expect(throws: RaftError.confChangeInProgress) { try c[1].proposeConfChange(ConfChange(.addLearner, 5)) }
    }

    @Test("§6: a leader removed from the configuration steps down and the rest elect another")
    func removedLeaderStepsDown() throws {
        let c = TestCluster(voters: [1, 2, 3, 4], configure: Self.plain)
        c.elect(1)
        try c[1].proposeConfChange(ConfChange(.remove, 1))
        c.stabilize()
        #expect(c[1].role == .follower)
        c.isolated = [1]
        c.tickAll(25)
        #expect(c.leaders.count == 1 && c.leaders[0] != 1)
        let leader = c.leaders[0]
        #expect(c[leader].confState.voters == [2, 3, 4])
    }

    @Test("§6: a change's context rides with it; the configuration it leaves is what the core applies")
    func changeContext() throws {
        let change = ConfChange(.addLearner, 4, context: Array("127.0.0.1:7104".utf8))
        #expect(ConfChange(encoded: change.encoded) == change)
        #expect(ConfChange(encoded: Array(change.encoded.prefix(8))) == nil)
        #expect(ConfChange(encoded: [0] + [UInt8](repeating: 0, count: 8 + ConfChange.maxContext + 1)) == nil)
        let c = TestCluster(voters: [1, 2, 3], configure: Self.plain)
        c.elect(1)
        c.add(4)
        let before = c[1].confState
        try c[1].proposeConfChange(change)
        c.stabilize()
        #expect(c[1].confState == before.applying(change) && c[1].confState.learners == [4])
        #expect(before.applying(ConfChange(.addVoter, 4)).applying(ConfChange(.remove, 1)).voters == [2, 3, 4])
        let big = ConfChange(.addLearner, 5, context: [UInt8](repeating: 1, count: ConfChange.maxContext + 1))
        #expect(throws: RaftError.self) { try c[1].proposeConfChange(big) }
    }

    // MARK: §7 Log compaction

    @Test("§7: a follower behind the compacted log catches up from an InstallSnapshot")
    func installSnapshot() throws {
        let c = TestCluster(voters: [1, 2, 3], configure: Self.plain)
        c.elect(1)
        c.isolated = [3]
        for i in 0..<20 { try c[1].propose(bytes("e\(i)")) }
        c.stabilize()
        try c.storages[1]!.createSnapshot(index: c[1].appliedIndex, confState: c[1].confState, data: bytes("state"))
        #expect(c[1].firstIndex > 2)
        c.isolated = []
        c.sent = []
        c.tickAll(3)
        #expect(c.sent.contains { $0.type == .snapshot && $0.to == 3 })
        #expect(try c.storages[3]!.snapshot().data == bytes("state"))
        #expect(c[3].commitIndex == c[1].commitIndex)
        try c[1].propose(bytes("after"))
        c.stabilize()
        c.tickAll(2)
        #expect(c.appliedData(3) == ["after"])
    }

    @Test("§7: a snapshot describing a prefix of the follower's log keeps the entries after it")
    func snapshotPrefixKeepsLog() throws {
        let c = TestCluster(voters: [1, 2, 3], configure: Self.plain)
        c.elect(1)
        for i in 0..<5 { try c[1].propose(bytes("e\(i)")) }
        c.stabilize()
        let last = c[2].lastIndex
        var m = Message(type: .snapshot, from: 1, to: 2, term: c[1].term)
        m.snapshot = Snapshot(metadata: .init(index: 3, term: c[1].term(at: 3)!, confState: c[1].confState), data: [])
        c[2].step(m)
        #expect(c[2].lastIndex == last)
    }
}
