/// The log as the core sees it: the stable part in `RaftStorage` plus the unstable tail
/// (and possibly an incoming snapshot) that the next `Ready` asks the runtime to persist.
struct RaftLog {
    let storage: any RaftStorage
    /// Entries not yet persisted, starting at `unstableOffset`.
    var unstable: [Entry] = []
    var unstableOffset: UInt64
    /// A snapshot received from the leader and not yet persisted.
    var pendingSnapshot: Snapshot?
    var committed: UInt64
    var applied: UInt64
    let maxBytesPerMessage: Int

    init(storage: any RaftStorage, applied: UInt64, maxBytesPerMessage: Int) {
        self.storage = storage
        self.maxBytesPerMessage = maxBytesPerMessage
        unstableOffset = storage.lastIndex() + 1
        committed = storage.firstIndex() - 1
        self.applied = max(applied, storage.firstIndex() - 1)
    }

    var firstIndex: UInt64 {
        if let s = pendingSnapshot { return s.metadata.index + 1 }
        return storage.firstIndex()
    }

    var lastIndex: UInt64 {
        if !unstable.isEmpty { return unstableOffset + UInt64(unstable.count) - 1 }
        if let s = pendingSnapshot { return s.metadata.index }
        return storage.lastIndex()
    }

    var lastTerm: UInt64 { (try? term(lastIndex)) ?? 0 }

    func term(_ index: UInt64) throws(RaftStorageError) -> UInt64 {
        if index >= unstableOffset, index < unstableOffset + UInt64(unstable.count) {
            return unstable[Int(index - unstableOffset)].term
        }
        if let s = pendingSnapshot {
            if index == s.metadata.index { return s.metadata.term }
            if index < s.metadata.index { throw .compacted }
        }
        if index > lastIndex { throw .unavailable }
        return try storage.term(index)
    }

    func matchTerm(_ index: UInt64, _ term: UInt64) -> Bool {
        (try? self.term(index)) == term
    }

    /// Whether a candidate whose log ends at (lastTerm, lastIndex) is at least as current.
    func isUpToDate(lastIndex: UInt64, lastTerm: UInt64) -> Bool {
        lastTerm > self.lastTerm || (lastTerm == self.lastTerm && lastIndex >= self.lastIndex)
    }

    /// Entries in `lo..<hi` bounded by `maxBytes` (at least one).
    func slice(_ lo: UInt64, _ hi: UInt64, maxBytes: Int, maxCount: Int = .max) throws(RaftStorageError) -> [Entry] {
        guard lo < hi else { return [] }
        if lo < firstIndex { throw .compacted }
        var out: [Entry] = []
        if lo < unstableOffset {
            out = try storage.entries(lo, min(hi, unstableOffset), maxBytes: maxBytes)
            if UInt64(out.count) < min(hi, unstableOffset) - lo { return Array(out.prefix(maxCount)) }
        }
        var bytes = out.reduce(0) { $0 + $1.size }
        var i = max(lo, unstableOffset)
        while i < hi && out.count < maxCount {
            let e = unstable[Int(i - unstableOffset)]
            bytes += e.size
            if !out.isEmpty && bytes > maxBytes { break }
            out.append(e)
            i += 1
        }
        return Array(out.prefix(maxCount))
    }

    mutating func append(_ entries: [Entry]) {
        guard let first = entries.first else { return }
        let after = first.index
        precondition(after > committed, "appending at \(after) would overwrite committed \(committed)")
        if after == unstableOffset + UInt64(unstable.count) {
            unstable.append(contentsOf: entries)
        } else if after <= unstableOffset {
            // Replaces part of the stable log too: the runtime's append truncates it.
            unstableOffset = after
            unstable = entries
        } else {
            unstable.removeSubrange(Int(after - unstableOffset)...)
            unstable.append(contentsOf: entries)
        }
    }

    /// Appends `entries` over whatever they conflict with, committed or not (only the planted
    /// `truncateCommitted` does this); the commit index stays, within the new log.
    mutating func overwrite(_ entries: [Entry]) {
        guard let first = entries.first, first.index > firstIndex else { return }
        let keep = committed
        committed = min(committed, first.index - 1)
        append(entries)
        committed = min(keep, lastIndex)
    }

    /// Appends what a leader sent after (prevIndex, prevTerm), keeping entries that already
    /// match and truncating at the first conflict. Returns the new last index, or nil when
    /// the log does not contain (prevIndex, prevTerm).
    mutating func maybeAppend(prevIndex: UInt64, prevTerm: UInt64, commit: UInt64, entries: [Entry]) -> UInt64? {
        guard matchTerm(prevIndex, prevTerm) else { return nil }
        let newLast = prevIndex + UInt64(entries.count)
        if let conflict = entries.first(where: { !matchTerm($0.index, $0.term) }) {
            precondition(conflict.index > committed, "conflict at committed index \(conflict.index)")
            append(Array(entries[Int(conflict.index - prevIndex - 1)...]))
        }
        commitTo(min(commit, newLast))
        return newLast
    }

    mutating func commitTo(_ index: UInt64) {
        if index > committed {
            precondition(index <= lastIndex, "commit \(index) beyond last index \(lastIndex)")
            committed = index
        }
    }

    /// Committed entries not yet handed out for applying.
    func nextCommitted(maxBytes: Int) -> [Entry] {
        let lo = max(applied + 1, firstIndex)
        guard committed + 1 > lo else { return [] }
        return (try? slice(lo, committed + 1, maxBytes: maxBytes)) ?? []
    }

    var hasNextCommitted: Bool { committed > max(applied, firstIndex - 1) }

    /// The runtime persisted entries through (index, term).
    mutating func stableTo(index: UInt64, term: UInt64) {
        guard index >= unstableOffset, matchTerm(index, term) else { return }
        let n = Int(index - unstableOffset) + 1
        guard n <= unstable.count, unstable[n - 1].term == term else { return }
        unstable.removeFirst(n)
        unstableOffset = index + 1
    }

    mutating func stableSnapshot(index: UInt64) {
        if pendingSnapshot?.metadata.index == index { pendingSnapshot = nil }
    }

    /// Installs a leader's snapshot: the log becomes the snapshot and nothing else.
    mutating func restore(_ snapshot: Snapshot) {
        pendingSnapshot = snapshot
        committed = snapshot.metadata.index
        unstable = []
        unstableOffset = snapshot.metadata.index + 1
    }

    mutating func appliedTo(_ index: UInt64) {
        if index > applied { applied = index }
    }

    /// The latest snapshot the log can offer a lagging follower.
    func snapshot() throws(RaftStorageError) -> Snapshot {
        if let s = pendingSnapshot { return s }
        return try storage.snapshot()
    }
}
