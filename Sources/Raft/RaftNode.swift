/// One member of a Raft group: the pure state machine.
///
/// Not thread-safe and not `Sendable`: one owner (an actor or an event loop) drives it.
/// Nothing here reads a clock, the disk, the network or global randomness; timeouts are
/// counted in `tick()`s and drawn from the generator passed in.
public final class RaftNode<Random: RandomNumberGenerator> {
    public let id: NodeID
    let config: RaftConfig
    var rng: Random

    public internal(set) var term: UInt64 = 0
    public internal(set) var vote: NodeID = 0
    public internal(set) var role: Role = .follower
    public internal(set) var leader: NodeID = 0
    public internal(set) var confState: ConfState
    var log: RaftLog

    var progress: [NodeID: Progress] = [:]
    var votes: [NodeID: Bool] = [:]
    var electionElapsed = 0
    var heartbeatElapsed = 0
    /// Heartbeat rounds this node has broadcast (as leader, in any term).
    var heartbeatRounds: UInt64 = 0
    var randomizedElectionTimeout = 0
    /// Index of the latest conf change the leader appended; a new one waits until applied.
    var pendingConfIndex: UInt64 = 0
    /// The target of a leadership transfer in progress, or 0.
    public internal(set) var leadTransferee: NodeID = 0

    var msgs: [Message] = []
    var readStates: [ReadState] = []
    var pendingReads: [PendingRead] = []
    /// Reads asked for before this leader committed an entry of its own term.
    var readsAwaitingCommit: [[UInt8]] = []

    var prevSoft: SoftState
    var prevHard: HardState

    /// Starts (or restarts) a member from what `storage` holds.
    ///
    /// `storage.initialState()`'s configuration must reflect every conf change up to
    /// `config.applied`; committed entries after `config.applied` are handed out again.
    public init(config: RaftConfig, storage: any RaftStorage, random: Random) {
        precondition(config.id != 0, "node id 0 means none")
        precondition(
            config.heartbeatTick > 0 && config.electionTick > config.heartbeatTick,
            "electionTick must exceed heartbeatTick")
        self.id = config.id
        self.config = config
        self.rng = random
        let (hard, conf) = storage.initialState()
        self.confState = conf
        self.log = RaftLog(storage: storage, applied: config.applied, maxBytesPerMessage: config.maxBytesPerMessage)
        term = hard.term
        vote = hard.vote
        if hard.commit > log.committed { log.committed = min(hard.commit, log.lastIndex) }
        prevHard = HardState(term: term, vote: vote, commit: log.committed)
        prevSoft = SoftState(leader: 0, role: .follower)
        becomeFollower(term: term, leader: 0)
    }

    // MARK: Inputs

    /// Advances logical time by one tick.
    public func tick() {
        switch role {
        case .leader:
            tickLeader()
        case .follower, .preCandidate, .candidate:
            electionElapsed += 1
            if isPromotable && electionElapsed >= randomizedElectionTimeout {
                electionElapsed = 0
                campaign(transfer: false)
            }
        }
    }

    /// Starts an election now, as if the election timeout had passed.
    public func campaign() {
        guard role != .leader else { return }
        campaign(transfer: false)
    }

    /// Terms and log indexes no group reaches (2^56: a new term every millisecond for two
    /// million years). A message that carries a larger one is dropped, so no peer can push
    /// a term (or an index) to the type's maximum, where the next `+ 1` would trap.
    public static var maxTermOrIndex: UInt64 { 1 << 56 }

    /// Feeds a message from another member.
    public func step(_ m: Message) {
        guard m.to == id else { return }
        let limit = Self.maxTermOrIndex
        guard m.term <= limit, m.index <= limit, m.logTerm <= limit, m.commit <= limit, m.rejectHint <= limit,
            m.rejectHintTerm <= limit, (m.snapshot?.metadata.index ?? 0) <= limit,
            (m.snapshot?.metadata.term ?? 0) <= limit, m.entries.allSatisfy({ $0.index <= limit && $0.term <= limit })
        else { return }
        if m.term > term {
            if m.type == .vote || m.type == .preVote {
                let force = m.context == Message.campaignTransfer
                let inLease = config.checkQuorum && leader != 0 && electionElapsed < config.electionTick
                // Stickiness: a follower that hears from a live leader ignores candidates,
                // so a partitioned node rejoining cannot depose a healthy leader.
                if !force && inLease { return }
            }
            switch m.type {
            case .preVote:
                break  // A pre-vote never changes our term.
            case .preVoteResponse where !m.reject:
                break  // Granted pre-votes carry the term we would campaign in.
            case .append, .heartbeat, .snapshot:
                becomeFollower(term: m.term, leader: m.from)
            default:
                becomeFollower(term: m.term, leader: 0)
            }
        } else if m.term < term {
            if config.plantedBug == .truncateCommitted && m.type == .append && role == .follower {
                return overwriteFromStaleLeader(m)
            }
            if (config.checkQuorum || config.preVote) && (m.type == .heartbeat || m.type == .append) {
                // Tell a stale leader about the newer term so it steps down; with
                // check-quorum or pre-vote it could otherwise never learn of it.
                var r = Message(type: .appendResponse, from: id, to: m.from, term: term)
                r.index = log.committed
                send(r)
            } else if m.type == .preVote {
                var r = Message(type: .preVoteResponse, from: id, to: m.from, term: term)
                r.reject = true
                send(r)
            }
            return
        }

        switch m.type {
        case .preVote, .vote:
            handleVoteRequest(m)
        default:
            switch role {
            case .leader: stepLeader(m)
            case .candidate, .preCandidate: stepCandidate(m)
            case .follower: stepFollower(m)
            }
        }
    }

    // MARK: Roles

    var isPromotable: Bool { confState.voters.contains(id) && !isAmnesiac }

    /// This member's group recorded another incarnation for it: its storage was created
    /// again since, and it must not vote or campaign until the group makes it a voter anew.
    var isAmnesiac: Bool {
        config.plantedBug != .amnesiacVotes && config.incarnation != 0
            && !confState.counts(id, incarnation: config.incarnation)
    }

    var quorum: Int { confState.voters.count / 2 + 1 }

    func reset(term newTerm: UInt64) {
        if newTerm != term {
            term = newTerm
            vote = 0
        }
        leader = 0
        electionElapsed = 0
        heartbeatElapsed = 0
        randomizedElectionTimeout = config.electionTick + Int.random(in: 0..<config.electionTick, using: &rng)
        leadTransferee = 0
        votes = [:]
        pendingReads = []
        readsAwaitingCommit = []
        pendingConfIndex = 0
        progress = [:]
    }

    func becomeFollower(term newTerm: UInt64, leader newLeader: NodeID) {
        reset(term: newTerm)
        role = .follower
        leader = newLeader
    }

    func becomeLeader() {
        precondition(role == .candidate || confState.voters == [id], "only a candidate becomes leader")
        reset(term: term)
        role = .leader
        leader = id
        let last = log.lastIndex
        for member in confState.members {
            var p = Progress(next: last + 1, isLearner: !confState.voters.contains(member))
            if member == id {
                p.match = last  // everything before this term is already persisted
                p.becomeReplicate()
                p.recentActive = true
            }
            progress[member] = p
        }
        // No conf change until everything before this term is applied: the leader does
        // not know whether an unapplied one is among it.
        pendingConfIndex = last
        // The no-op: commits everything of earlier terms once a quorum has it (§5.4.2).
        appendEntries([Entry(term: term, index: last + 1)])
        broadcastAppend()
    }

    // MARK: Output

    func send(_ m: Message) {
        var m = m
        if m.term == 0 { m.term = term }
        msgs.append(m)
    }

    var softState: SoftState { SoftState(leader: leader, role: role) }
    var hardState: HardState {
        HardState(term: term, vote: config.plantedBug == .forgetVoteOnRestart ? 0 : vote, commit: log.committed)
    }

    /// Whether `ready()` has anything.
    public var hasReady: Bool {
        softState != prevSoft || hardState != prevHard || !log.unstable.isEmpty || log.pendingSnapshot != nil
            || !msgs.isEmpty || log.hasNextCommitted || !readStates.isEmpty
            || (config.plantedBug == .applyPastCommit && log.lastIndex > log.applied)
    }

    /// What the runtime must persist, send and apply; nil when there is nothing.
    /// Hand the value back with `advance(_:)` before asking again.
    public func ready() -> Ready? {
        guard hasReady else { return nil }
        let hard = hardState
        var r = Ready(
            softState: softState != prevSoft ? softState : nil,
            hardState: hard != prevHard ? hard : nil,
            entries: log.unstable,
            snapshot: log.pendingSnapshot,
            committedEntries: log.pendingSnapshot == nil ? entriesToApply() : [],
            earlyMessages: [],
            messages: msgs,
            readStates: readStates)
        r.hardStateChangedVoteOrTerm = hard.term != prevHard.term || hard.vote != prevHard.vote
        if role == .leader {
            r.earlyMessages = msgs.filter { ($0.type == .append || $0.type == .heartbeat) && $0.term == term }
            r.messages = msgs.filter { !(($0.type == .append || $0.type == .heartbeat) && $0.term == term) }
        }
        msgs = []
        readStates = []
        if config.incarnation != 0 {
            for i in r.messages.indices { r.messages[i].incarnation = config.incarnation }
            for i in r.earlyMessages.indices { r.earlyMessages[i].incarnation = config.incarnation }
        }
        return r
    }

    func entriesToApply() -> [Entry] {
        guard config.plantedBug == .applyPastCommit else { return log.nextCommitted(maxBytes: config.maxApplyBytes) }
        let lo = max(log.applied + 1, log.firstIndex)
        guard lo <= log.lastIndex else { return [] }
        return (try? log.slice(lo, log.lastIndex + 1, maxBytes: config.maxApplyBytes)) ?? []
    }

    /// The runtime persisted, sent and applied `ready`.
    public func advance(_ ready: Ready) {
        if let s = ready.softState { prevSoft = s }
        if let h = ready.hardState { prevHard = h }
        if let snap = ready.snapshot {
            log.stableSnapshot(index: snap.metadata.index)
            log.appliedTo(snap.metadata.index)
        }
        if let last = ready.entries.last {
            log.stableTo(index: last.index, term: last.term)
            // The leader's own entries count toward a quorum only now that they are on disk.
            if role == .leader, last.term == term, progress[id]?.maybeUpdate(last.index) == true, maybeCommit() {
                broadcastAppend()
            }
        }
        for e in ready.committedEntries {
            log.appliedTo(e.index)
            if e.kind == .confChange, let cc = ConfChange(encoded: e.data) { applyConfChange(cc) }
        }
    }

    // MARK: Introspection

    public var commitIndex: UInt64 { log.committed }
    public var appliedIndex: UInt64 { log.applied }
    public var lastIndex: UInt64 { log.lastIndex }
    public var firstIndex: UInt64 { log.firstIndex }

    /// Term of the entry at `index`, if the log still has it.
    public func term(at index: UInt64) -> UInt64? { try? log.term(index) }

    /// Entries in `lo...hi` that the log still holds (for invariant checks and tests).
    public func entries(from lo: UInt64, through hi: UInt64) -> [Entry] {
        guard lo <= hi else { return [] }
        return (try? log.slice(max(lo, log.firstIndex), hi + 1, maxBytes: .max)) ?? []
    }

    /// The leader's match index for `member` (nil when not leader or unknown).
    public func matchIndex(of member: NodeID) -> UInt64? { progress[member]?.match }
}

extension RaftNode: CustomStringConvertible {
    /// One line for logs and failing simulations: role, term, indexes and, on a leader,
    /// each follower's progress.
    public var description: String {
        var s =
            "node \(id) \(role) term \(term) vote \(vote) leader \(leader) commit \(log.committed) applied "
            + "\(log.applied) log \(log.firstIndex)...\(log.lastIndex) voters \(confState.voters.sorted()) "
            + "learners \(confState.learners.sorted())"
        if role == .leader {
            for (peer, p) in progress.sorted(by: { $0.key < $1.key }) where peer != id {
                s +=
                    " | \(peer): \(p.state) match \(p.match) next \(p.next) inflight \(p.inflight.count) probeSent "
                    + "\(p.probeSent) snap \(p.pendingSnapshot)"
            }
        }
        return s
    }
}
