/// The leader's view of one follower.
struct Progress {
    enum State {
        /// Matching is unknown: one append at a time until one is accepted.
        case probe
        /// Streaming appends optimistically, at most `maxInflight` unacknowledged.
        case replicate
        /// Waiting for the follower to install the snapshot at `pendingSnapshot`.
        case snapshot
    }

    var match: UInt64 = 0
    var next: UInt64
    var state: State = .probe
    /// In probe state: an append is out and we wait for its answer or the next heartbeat.
    var probeSent = false
    /// The leader's count of heartbeat rounds when the last probe went out: a heartbeat
    /// response frees a new probe only if a round was sent after it.
    var probeRound: UInt64 = 0
    var pendingSnapshot: UInt64 = 0
    /// Heard from since the last check-quorum round.
    var recentActive = false
    var isLearner: Bool
    /// Last indexes of the appends sent and not yet acknowledged, oldest first.
    var inflight: [UInt64] = []

    init(next: UInt64, isLearner: Bool) {
        self.next = next
        self.isLearner = isLearner
    }

    mutating func becomeProbe() {
        if state == .snapshot {
            let snap = pendingSnapshot
            state = .probe
            next = max(match + 1, snap + 1)
        } else {
            state = .probe
            next = match + 1
        }
        probeSent = false
        pendingSnapshot = 0
        inflight.removeAll()
    }

    mutating func becomeReplicate() {
        state = .replicate
        next = match + 1
        probeSent = false
        inflight.removeAll()
    }

    mutating func becomeSnapshot(_ index: UInt64) {
        state = .snapshot
        pendingSnapshot = index
        probeSent = false
        inflight.removeAll()
    }

    /// The follower acknowledged up to `n`; returns whether that was news.
    mutating func maybeUpdate(_ n: UInt64) -> Bool {
        var updated = false
        if match < n {
            match = n
            updated = true
            probeSent = false
        }
        next = max(next, n + 1)
        inflight.removeAll { $0 <= n }
        return updated
    }

    /// A rejection of the append after `rejected`; moves `next` back using the follower's
    /// hint. Returns false for a stale rejection.
    mutating func maybeDecrease(rejected: UInt64, matchHint: UInt64) -> Bool {
        if state == .replicate {
            // Only a rejection of something after what we know matches is news.
            if rejected <= match { return false }
            next = match + 1
            return true
        }
        // In probe, only the rejection of the append we sent last is news.
        if next - 1 != rejected { return false }
        next = max(min(rejected, matchHint + 1), 1)
        probeSent = false
        return true
    }

    func isPaused(maxInflight: Int) -> Bool {
        switch state {
        case .probe: probeSent
        case .replicate: inflight.count >= maxInflight
        case .snapshot: true
        }
    }

    /// Records an append whose entries end at `last`.
    mutating func sent(last: UInt64, entries: Int) {
        switch state {
        case .replicate:
            if entries > 0 {
                next = last + 1
                inflight.append(last)
            }
        case .probe:
            probeSent = true
        case .snapshot:
            break
        }
    }
}
