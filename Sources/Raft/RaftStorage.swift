/// Why the log could not answer.
public enum RaftStorageError: Error, Sendable, Equatable {
    /// The index is at or below the last compaction: ask for the snapshot instead.
    case compacted
    /// The index is beyond the last entry.
    case unavailable
    /// A snapshot is being produced; try again later.
    case snapshotTemporarilyUnavailable
}

/// The stable log as the runtime stores it. The core only reads through this protocol;
/// writes happen in the runtime when it persists a `Ready`.
///
/// Indexes: entries `firstIndex()...lastIndex()` are available; `firstIndex() - 1` is the
/// index of the latest snapshot, whose term `term(firstIndex() - 1)` must still answer.
public protocol RaftStorage: AnyObject {
    func initialState() -> (HardState, ConfState)
    /// Entries in `lo..<hi`, stopping early once `maxBytes` is reached (always at least one).
    func entries(_ lo: UInt64, _ hi: UInt64, maxBytes: Int) throws(RaftStorageError) -> [Entry]
    func term(_ index: UInt64) throws(RaftStorageError) -> UInt64
    func firstIndex() -> UInt64
    func lastIndex() -> UInt64
    func snapshot() throws(RaftStorageError) -> Snapshot
}

/// An in-memory `RaftStorage` for tests and the simulator. What it holds is what "survived
/// the crash": the simulator keeps it across a node's restart and drops everything else.
public final class MemoryStorage: RaftStorage {
    public private(set) var hardState = HardState()
    private var snap = Snapshot()
    /// `ents[0]` is a dummy entry at the snapshot's index and term.
    private var ents: [Entry] = [Entry(term: 0, index: 0)]

    /// An empty log for a member that joins an existing group (it learns the
    /// configuration from the leader's snapshot).
    public init() {}

    /// A new group's initial log: a snapshot at index 1, term 1 holding the founding
    /// configuration. A member added later starts empty, so the leader must send it that
    /// snapshot, and with it the configuration no entry in the log spells out.
    public init(bootstrap voters: Set<NodeID>) {
        precondition(!voters.isEmpty, "a group needs a voter")
        snap.metadata = SnapshotMetadata(index: 1, term: 1, confState: ConfState(voters: voters))
        ents = [Entry(term: 1, index: 1)]
        hardState = HardState(term: 1, vote: 0, commit: 1)
    }

    public func initialState() -> (HardState, ConfState) { (hardState, snap.metadata.confState) }

    public func setHardState(_ state: HardState) { hardState = state }

    private var offset: UInt64 { ents[0].index }

    public func firstIndex() -> UInt64 { offset + 1 }
    public func lastIndex() -> UInt64 { offset + UInt64(ents.count) - 1 }

    public func term(_ index: UInt64) throws(RaftStorageError) -> UInt64 {
        if index < offset { throw .compacted }
        if index > lastIndex() { throw .unavailable }
        return ents[Int(index - offset)].term
    }

    public func entries(_ lo: UInt64, _ hi: UInt64, maxBytes: Int) throws(RaftStorageError) -> [Entry] {
        if lo <= offset { throw .compacted }
        if hi > lastIndex() + 1 { throw .unavailable }
        var out: [Entry] = []
        var bytes = 0
        for i in lo..<hi {
            let e = ents[Int(i - offset)]
            bytes += e.size
            if !out.isEmpty && bytes > maxBytes { break }
            out.append(e)
        }
        return out
    }

    public func snapshot() throws(RaftStorageError) -> Snapshot { snap }

    /// Appends entries, replacing any that conflict (a new leader's log wins from their index).
    public func append(_ entries: [Entry]) {
        // Entries already compacted away are committed and cannot differ; skip them.
        let keep = entries.drop { $0.index <= offset }
        guard let start = keep.first?.index else { return }
        precondition(start <= lastIndex() + 1, "gap in the log: appending \(start) after \(lastIndex())")
        ents.removeSubrange(Int(start - offset)...)
        ents.append(contentsOf: keep)
    }

    /// Replaces everything with `snapshot` (a follower installing its leader's snapshot).
    public func applySnapshot(_ snapshot: Snapshot) {
        guard snapshot.metadata.index > snap.metadata.index else { return }
        snap = snapshot
        ents = [Entry(term: snapshot.metadata.term, index: snapshot.metadata.index)]
    }

    /// Records a snapshot of the state machine at `index` (≤ applied) and drops the log
    /// before it.
    public func createSnapshot(index: UInt64, confState: ConfState, data: [UInt8]) throws(RaftStorageError) {
        guard index > snap.metadata.index else { return }
        guard index <= lastIndex() else { throw .unavailable }
        snap = Snapshot(metadata: .init(index: index, term: try term(index), confState: confState), data: data)
        compact(to: index)
    }

    /// Drops entries before `index`, keeping `index` as the new dummy.
    public func compact(to index: UInt64) {
        guard index > offset, index <= lastIndex() else { return }
        ents.removeSubrange(0..<Int(index - offset))
    }
}
