/// Identifies a member of a Raft group. 0 means "none".
public typealias NodeID = UInt64

/// What an entry carries.
public enum EntryKind: UInt8, Sendable, Hashable {
    /// Application data; empty data is the leader's no-op at the start of its term.
    case normal = 0
    /// A `ConfChange`, encoded with `ConfChange.encoded`.
    case confChange = 1
}

/// One log entry.
public struct Entry: Sendable, Hashable {
    public var term: UInt64
    public var index: UInt64
    public var kind: EntryKind
    public var data: [UInt8]

    public init(term: UInt64, index: UInt64, kind: EntryKind = .normal, data: [UInt8] = []) {
        self.term = term
        self.index = index
        self.kind = kind
        self.data = data
    }

    /// Bytes counted against `RaftConfig.maxBytesPerMessage`.
    var size: Int { data.count + 24 }
}

/// What must be on disk before any message that depends on it is sent.
public struct HardState: Sendable, Hashable {
    public var term: UInt64
    public var vote: NodeID
    public var commit: UInt64

    public init(term: UInt64 = 0, vote: NodeID = 0, commit: UInt64 = 0) {
        self.term = term
        self.vote = vote
        self.commit = commit
    }
}

/// The members of a group: voters decide elections and commitment, learners only follow.
///
/// `incarnations` records, per member, the incarnation of the storage it answered from (a
/// random id a node's data directory gets when it is created): a member that comes back
/// with forgotten storage answers with another one, and its votes do not count (a voter
/// must never forget what it acknowledged). Such a voter is demoted to a learner
/// (`demoted`) until it has the log again, then made a voter by the leader.
public struct ConfState: Sendable, Hashable {
    public var voters: Set<NodeID>
    public var learners: Set<NodeID>
    public var incarnations: [NodeID: UInt64]
    public var demoted: Set<NodeID>

    public init(
        voters: Set<NodeID> = [], learners: Set<NodeID> = [], incarnations: [NodeID: UInt64] = [:],
        demoted: Set<NodeID> = []
    ) {
        self.voters = voters
        self.learners = learners
        self.incarnations = incarnations
        self.demoted = demoted
    }

    public var members: Set<NodeID> { voters.union(learners) }

    /// The configuration after `change` applies (as `RaftNode` applies it).
    public func applying(_ change: ConfChange) -> ConfState {
        var next = self
        switch change.kind {
        case .addLearner:
            if !next.members.contains(change.node) { next.learners.insert(change.node) }
        case .addVoter:
            next.learners.remove(change.node)
            next.voters.insert(change.node)
            next.demoted.remove(change.node)
        case .remove:
            next.voters.remove(change.node)
            next.learners.remove(change.node)
            next.incarnations[change.node] = nil
            next.demoted.remove(change.node)
        case .incarnation:
            guard next.members.contains(change.node), let incarnation = change.incarnation else { break }
            if let recorded = next.incarnations[change.node], recorded != incarnation,
                next.voters.contains(change.node), next.voters.count > 1
            {
                // It forgot what it acknowledged: a learner until it has the log again.
                next.voters.remove(change.node)
                next.learners.insert(change.node)
                next.demoted.insert(change.node)
            }
            next.incarnations[change.node] = incarnation
        }
        return next
    }

    /// Whether `node`'s answers, made from storage of `incarnation`, count: yes unless a
    /// different incarnation is recorded for it.
    public func counts(_ node: NodeID, incarnation: UInt64) -> Bool {
        incarnations[node].map { $0 == incarnation } ?? true
    }
}

public struct SnapshotMetadata: Sendable, Hashable {
    public var index: UInt64
    public var term: UInt64
    public var confState: ConfState

    public init(index: UInt64 = 0, term: UInt64 = 0, confState: ConfState = .init()) {
        self.index = index
        self.term = term
        self.confState = confState
    }
}

/// The state machine as of `metadata.index`. The core treats `data` as opaque; streaming
/// it in chunks is the runtime's job.
public struct Snapshot: Sendable, Hashable {
    public var metadata: SnapshotMetadata
    public var data: [UInt8]

    public init(metadata: SnapshotMetadata = .init(), data: [UInt8] = []) {
        self.metadata = metadata
        self.data = data
    }

    public var isEmpty: Bool { metadata.index == 0 }
}

/// A single membership step.
public struct ConfChange: Sendable, Hashable {
    public enum Kind: UInt8, Sendable {
        /// Add a non-voting member that receives the log.
        case addLearner = 0
        /// Add a voter, or promote a learner to voter.
        case addVoter = 1
        /// Remove a voter or a learner.
        case remove = 2
        /// Record the incarnation a member answers from (8 bytes of context); a voter whose
        /// recorded incarnation differs is demoted to a learner.
        case incarnation = 3
    }

    /// The change that records `incarnation` for `node`.
    public static func incarnation(_ node: NodeID, _ incarnation: UInt64) -> ConfChange {
        ConfChange(.incarnation, node, context: withUnsafeBytes(of: incarnation.bigEndian, Array.init))
    }

    /// The incarnation an `.incarnation` change records (nil for any other).
    public var incarnation: UInt64? {
        guard kind == .incarnation, context.count == 8 else { return nil }
        return context.reduce(0) { $0 << 8 | UInt64($1) }
    }

    public var kind: Kind
    public var node: NodeID
    /// Opaque to the core, applied with the change by the runtime (a node's addresses).
    public var context: [UInt8]

    /// The most context a change may carry.
    public static let maxContext = 1024

    public init(_ kind: Kind, _ node: NodeID, context: [UInt8] = []) {
        self.kind = kind
        self.node = node
        self.context = context
    }

    public var encoded: [UInt8] { [kind.rawValue] + withUnsafeBytes(of: node.bigEndian, Array.init) + context }

    public init?(encoded bytes: [UInt8]) {
        guard bytes.count >= 9, bytes.count - 9 <= Self.maxContext, let kind = Kind(rawValue: bytes[0]) else {
            return nil
        }
        self.kind = kind
        self.node = bytes[1..<9].reduce(0) { $0 << 8 | NodeID($1) }
        self.context = Array(bytes[9...])
    }
}

public enum MessageType: UInt8, Sendable, Hashable {
    case preVote, preVoteResponse, vote, voteResponse
    case append, appendResponse, heartbeat, heartbeatResponse
    case snapshot, timeoutNow
}

/// A message between members. Fields not used by a type are zero or empty.
public struct Message: Sendable, Hashable {
    public var type: MessageType
    public var from: NodeID
    public var to: NodeID
    public var term: UInt64
    /// append: the term of the entry before `entries`; votes: the candidate's last term.
    public var logTerm: UInt64 = 0
    /// append: the index before `entries`; votes: the candidate's last index;
    /// appendResponse: the highest index matched, or (reject) the index rejected.
    public var index: UInt64 = 0
    public var entries: [Entry] = []
    public var commit: UInt64 = 0
    public var reject = false
    /// appendResponse rejections: the follower's guess of where its log could match, and
    /// the term at that index, so the leader skips whole terms (fast backtracking).
    public var rejectHint: UInt64 = 0
    public var rejectHintTerm: UInt64 = 0
    public var snapshot: Snapshot? = nil
    /// heartbeats: the ReadIndex round being confirmed; votes: `campaignTransfer` marks a
    /// leadership transfer, which stickiness must not refuse.
    public var context: [UInt8] = []
    /// The sender's incarnation (`RaftConfig.incarnation`), set on every message it sends.
    public var incarnation: UInt64 = 0

    public init(type: MessageType, from: NodeID = 0, to: NodeID = 0, term: UInt64 = 0) {
        self.type = type
        self.from = from
        self.to = to
        self.term = term
    }

    static let campaignTransfer: [UInt8] = Array("transfer".utf8)
}

public enum Role: Sendable, Hashable {
    case follower, preCandidate, candidate, leader
}

/// A ReadIndex result: once the state machine has applied `index`, reading it answers the
/// request identified by `context` linearizably.
public struct ReadState: Sendable, Hashable {
    public var index: UInt64
    public var context: [UInt8]
}

/// Volatile state worth telling the runtime about (not persisted).
public struct SoftState: Sendable, Hashable {
    public var leader: NodeID
    public var role: Role
}
