extension RaftNode {
    // MARK: Leader

    func tickLeader() {
        heartbeatElapsed += 1
        electionElapsed += 1
        if electionElapsed >= config.electionTick {
            electionElapsed = 0
            if config.checkQuorum {
                // Step down without word from a quorum in a whole election timeout: another
                // leader may already serve the majority side of a partition.
                let active = confState.voters.filter { $0 == id || progress[$0]?.recentActive == true }
                for key in progress.keys where key != id { progress[key]?.recentActive = false }
                if active.count < quorum && config.plantedBug != .leaseOutlivesQuorum {
                    becomeFollower(term: term, leader: 0)
                    return
                }
            }
            if leadTransferee != 0 { leadTransferee = 0 }  // the transfer timed out
        }
        guard role == .leader else { return }
        maybeRecordIncarnation(of: id, config.incarnation)
        if heartbeatElapsed >= config.heartbeatTick {
            heartbeatElapsed = 0
            broadcastHeartbeat(context: pendingReads.last?.context ?? [])
        }
    }

    /// Appends entries of this leader's term to its own log. They count toward a quorum for
    /// this node only once `advance(_:)` reports them persisted.
    func appendEntries(_ entries: [Entry]) {
        log.append(entries)
    }

    /// Proposes application data; returns the index it will have if committed.
    @discardableResult
    public func propose(_ data: [UInt8]) throws(RaftError) -> UInt64 {
        try checkLeaderForProposal()
        guard log.lastIndex - log.committed < UInt64(max(1, config.maxUncommittedEntries)) else {
            throw .uncommittedBacklog
        }
        let index = log.lastIndex + 1
        appendEntries([Entry(term: term, index: index, kind: .normal, data: data)])
        broadcastAppend()
        return index
    }

    func checkLeaderForProposal() throws(RaftError) {
        guard role == .leader else { throw .notLeader(leader: leader) }
        guard progress[id] != nil else { throw .notMember }
        guard leadTransferee == 0 else { throw .transferInProgress }
    }

    /// Commits the highest index a quorum of voters holds, if it is of this term.
    func maybeCommit() -> Bool {
        let matches = confState.voters.map { progress[$0]?.match ?? 0 }.sorted(by: >)
        guard matches.count >= quorum else { return false }
        let candidate = matches[quorum - 1]
        // Figure 8: counting replicas commits only entries of the current term; earlier
        // ones commit with them.
        let sameTerm = log.matchTerm(candidate, term) || config.plantedBug == .commitEarlierTermByCounting
        guard candidate > log.committed, sameTerm else { return false }
        log.commitTo(candidate)
        releaseReadsAwaitingCommit()
        return true
    }

    func broadcastAppend() {
        for member in progress.keys.sorted() where member != id { sendAppend(to: member) }
    }

    func broadcastHeartbeat(context: [UInt8]) {
        heartbeatRounds += 1
        for member in progress.keys.sorted() where member != id {
            var m = Message(type: .heartbeat, from: id, to: member, term: term)
            // Never tell a follower to commit past what it is known to hold.
            m.commit = min(progress[member]!.match, log.committed)
            m.context = context
            msgs.append(m)
        }
    }

    /// Sends the next batch to `to` unless its window is full; a snapshot if the entries it
    /// needs are compacted. Returns whether anything was sent.
    @discardableResult
    func sendAppend(to: NodeID, sendIfEmpty: Bool = true) -> Bool {
        guard var pr = progress[to], !pr.isPaused(maxInflight: config.maxInflight) else { return false }
        let prevIndex = pr.next - 1
        let prevTerm = try? log.term(prevIndex)
        let entries = try? log.slice(
            pr.next, log.lastIndex + 1, maxBytes: config.maxBytesPerMessage, maxCount: config.maxEntriesPerMessage)
        guard let prevTerm, let entries else {
            guard let snap = try? log.snapshot(), !snap.isEmpty else { return false }
            var m = Message(type: .snapshot, from: id, to: to, term: term)
            m.snapshot = snap
            msgs.append(m)
            pr.becomeSnapshot(snap.metadata.index)
            progress[to] = pr
            return true
        }
        if entries.isEmpty && !sendIfEmpty { return false }
        var m = Message(type: .append, from: id, to: to, term: term)
        m.index = prevIndex
        m.logTerm = prevTerm
        m.entries = entries
        m.commit = log.committed
        msgs.append(m)
        pr.sent(last: prevIndex + UInt64(entries.count), entries: entries.count)
        if pr.state == .probe { pr.probeRound = heartbeatRounds }
        progress[to] = pr
        return true
    }

    func stepLeader(_ m: Message) {
        guard var pr = progress[m.from] else { return }
        // After the progress is updated: a change proposed here sends appends of its own.
        defer {
            maybeRecordIncarnation(of: m.from, m.incarnation)
            maybePromoteDemoted(m.from)
        }
        switch m.type {
        case .appendResponse:
            pr.recentActive = true
            if m.reject {
                var hint = m.rejectHint
                if m.rejectHintTerm > 0 { hint = findConflictByTerm(index: m.rejectHint, term: m.rejectHintTerm) }
                if pr.maybeDecrease(rejected: m.index, matchHint: hint) {
                    if pr.state == .replicate { pr.becomeProbe() }
                    progress[m.from] = pr
                    sendAppend(to: m.from)
                } else {
                    progress[m.from] = pr
                }
                return
            }
            // A follower acknowledges only what was sent to it: never past the leader's log.
            guard m.index <= log.lastIndex else { return }
            let wasPaused = pr.isPaused(maxInflight: config.maxInflight)
            guard pr.maybeUpdate(m.index) else {
                progress[m.from] = pr
                return
            }
            switch pr.state {
            case .probe: pr.becomeReplicate()
            case .snapshot where pr.match >= pr.pendingSnapshot: pr.becomeReplicate()
            default: break
            }
            progress[m.from] = pr
            if maybeCommit() {
                broadcastAppend()
            } else if wasPaused {
                sendAppend(to: m.from)
            }
            // Pipelining: keep the window full while there is more to send.
            while sendAppend(to: m.from, sendIfEmpty: false) {}
            if m.from == leadTransferee && progress[m.from]!.match == log.lastIndex {
                msgs.append(Message(type: .timeoutNow, from: id, to: m.from, term: term))
            }
        case .heartbeatResponse:
            pr.recentActive = true
            // The probe may have been lost: send it again, but once per heartbeat round sent
            // since, not once per response. A follower back from a partition answers every
            // heartbeat queued for it at once, and each probe carries the whole backlog.
            if pr.probeRound < heartbeatRounds { pr.probeSent = false }
            // A full window may be full of appends that were lost: free one slot per
            // heartbeat so replication resumes (a gap makes the follower reject, and the
            // rejection turns it back to probing).
            if pr.state == .replicate && pr.inflight.count >= config.maxInflight { pr.inflight.removeFirst() }
            progress[m.from] = pr
            if pr.match < log.lastIndex { sendAppend(to: m.from) }
            if !m.context.isEmpty { acknowledgeRead(context: m.context, from: m.from) }
        default:
            break
        }
    }

    /// The largest index ≤ `index` whose term is ≤ `term`: where a log with `term` at
    /// `index` could first agree with ours.
    func findConflictByTerm(index: UInt64, term hintTerm: UInt64) -> UInt64 {
        var i = min(index, log.lastIndex)
        while i > 0 {
            guard let t = try? log.term(i) else { return i }
            if t <= hintTerm { return i }
            i -= 1
        }
        return 0
    }

    /// The transport could not deliver to `to`: stop streaming and probe.
    public func reportUnreachable(_ to: NodeID) {
        guard role == .leader, progress[to]?.state == .replicate else { return }
        progress[to]?.becomeProbe()
    }

    /// The runtime finished (or gave up) sending a snapshot to `to`.
    public func reportSnapshot(to: NodeID, success: Bool) {
        guard role == .leader, var pr = progress[to], pr.state == .snapshot else { return }
        if !success { pr.pendingSnapshot = 0 }
        pr.becomeProbe()
        // Wait for the follower's answer (or the next heartbeat) before probing again.
        pr.probeSent = success
        progress[to] = pr
    }

    // MARK: Follower

    func handleAppend(_ m: Message) {
        var r = Message(type: .appendResponse, from: id, to: m.from, term: term)
        if m.index < log.committed {
            r.index = log.committed
            msgs.append(r)
            return
        }
        if let last = log.maybeAppend(prevIndex: m.index, prevTerm: m.logTerm, commit: m.commit, entries: m.entries) {
            r.index = last
        } else {
            // Hint where our log could match, so the leader can skip a whole term at once.
            let hint = findConflictByTerm(index: min(m.index, log.lastIndex), term: m.logTerm)
            r.reject = true
            r.index = m.index
            r.rejectHint = hint
            r.rejectHintTerm = (try? log.term(hint)) ?? 0
        }
        msgs.append(r)
    }

    /// The planted `truncateCommitted`: a deposed leader's entries overwrite this log where
    /// they conflict, below the commit index too (which stays where it was).
    func overwriteFromStaleLeader(_ m: Message) {
        guard log.matchTerm(m.index, m.logTerm),
            let conflict = m.entries.first(where: { !log.matchTerm($0.index, $0.term) })
        else { return }
        log.overwrite(Array(m.entries[Int(conflict.index - m.index - 1)...]))
    }

    func handleHeartbeat(_ m: Message) {
        log.commitTo(min(m.commit, log.lastIndex))
        var r = Message(type: .heartbeatResponse, from: id, to: m.from, term: term)
        r.context = m.context
        msgs.append(r)
    }

    func handleSnapshot(_ m: Message) {
        guard let snap = m.snapshot else { return }
        var r = Message(type: .appendResponse, from: id, to: m.from, term: term)
        let meta = snap.metadata
        if meta.index <= log.committed {
            r.index = log.committed
        } else if log.matchTerm(meta.index, meta.term) {
            // We already hold the snapshot's last entry: just commit through it.
            log.commitTo(meta.index)
            r.index = log.lastIndex
        } else {
            log.restore(snap)
            confState = meta.confState
            r.index = log.lastIndex
        }
        msgs.append(r)
    }
}
