/// How a `RaftNode` behaves. Times are in ticks; the runtime decides how long a tick is.
public struct RaftConfig: Sendable {
    public enum ReadMode: Sendable {
        /// ReadIndex: every read is confirmed by a heartbeat round with a quorum.
        case readIndex
        /// Leader lease: answered from the leader's commit index with no round trip, safe
        /// only while clocks run at similar rates; requires `checkQuorum`.
        case lease
    }

    public var id: NodeID
    /// Followers wait a random time in `electionTick..<2·electionTick` before campaigning.
    public var electionTick: Int = 10
    public var heartbeatTick: Int = 1
    /// At most this many bytes of entries per append (at least one entry is always sent).
    public var maxBytesPerMessage: Int = 1 << 20
    public var maxEntriesPerMessage: Int = 256
    /// Appends in flight to one follower in replicate state.
    public var maxInflight: Int = 64
    /// A leader refuses proposals (`uncommittedBacklog`) while this many of its entries are
    /// not yet committed: a leader that cannot commit (followers far behind, or gone while
    /// it has not yet noticed) does not grow its log without bound, and clients retry.
    public var maxUncommittedEntries: Int = 10_000
    /// Committed entries handed out per Ready.
    public var maxApplyBytes: Int = 16 << 20
    /// A leader steps down when it has not heard from a quorum within an election timeout;
    /// followers that heard from a leader recently refuse to vote (stickiness).
    public var checkQuorum: Bool = true
    /// Candidates first ask whether they could win, without disturbing terms.
    public var preVote: Bool = true
    public var readMode: ReadMode = .readIndex
    /// The index the state machine has applied, on restart.
    public var applied: UInt64 = 0
    /// The incarnation of this member's storage: a random id its data gets when created, and
    /// a new one when it is created again (wiped). 0: not tracked (no checks).
    public var incarnation: UInt64 = 0
    /// A bug switched on by the tests that prove the checks catch it; nil in any real use.
    public var plantedBug: PlantedBug? = nil

    public init(id: NodeID) { self.id = id }
}

/// A request the core refuses.
public enum RaftError: Error, Sendable, Equatable {
    /// Only the leader takes proposals and reads; `leader` is its id if known (0 if not).
    case notLeader(leader: NodeID)
    /// A leadership transfer is under way; proposals wait until it ends.
    case transferInProgress
    /// A membership change is still being applied; one at a time.
    case confChangeInProgress
    /// The change makes no sense for the current configuration.
    case invalidConfChange(String)
    /// Lease reads are unsafe without check-quorum.
    case leaseRequiresCheckQuorum
    /// Too many of the leader's entries are not committed yet (`maxUncommittedEntries`);
    /// retry once they are.
    case uncommittedBacklog
    /// This node is not a member (removed, or not yet added).
    case notMember
}
