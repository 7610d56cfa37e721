/// Everything the runtime must do after the core changed, in this order:
///
/// 1. Send `earlyMessages` (a leader's appends and heartbeats) at once if it likes: a leader
///    may replicate entries before its own disk has them (Raft thesis §10.2.1), because it
///    counts itself toward a quorum only after `advance(_:)` reports them persisted.
/// 2. Persist `hardState`, `entries` (appending, and truncating any stable entries from
///    the first one's index on) and `snapshot`, durably, in one write if it can.
/// 3. Only then send `messages`. A vote or an append acknowledgement promises that its
///    state is on disk; sending first could let a crash break that promise (a node voting
///    twice in one term, or a leader counting an entry a follower no longer has).
/// 4. Install `snapshot` in the state machine, then apply `committedEntries` in order.
/// 5. Serve `readStates` once the state machine has applied their index.
/// 6. Call `advance(_:)` with this value.
public struct Ready: Sendable {
    /// Leader and role, when they changed.
    public var softState: SoftState?
    /// Term, vote and commit, when they changed.
    public var hardState: HardState?
    /// Entries to append to stable storage.
    public var entries: [Entry]
    /// A snapshot from the leader to persist and install.
    public var snapshot: Snapshot?
    /// Entries committed by a quorum, to apply to the state machine.
    public var committedEntries: [Entry]
    /// Messages that may be sent before the persist step (a leader's appends and heartbeats).
    public var earlyMessages: [Message]
    /// Messages to send once everything above is persisted.
    public var messages: [Message]
    /// Linearizable read points confirmed since the last Ready.
    public var readStates: [ReadState]

    /// Whether the persist step must fsync (false when only the commit index moved).
    public var mustSync: Bool { !entries.isEmpty || snapshot != nil || hardStateChangedVoteOrTerm }
    var hardStateChangedVoteOrTerm = false
}
