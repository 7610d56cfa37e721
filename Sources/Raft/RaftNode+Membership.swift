extension RaftNode {
    /// Proposes one membership step. It takes effect on each member when applied; the
    /// next may be proposed once this one is applied.
    @discardableResult
    public func proposeConfChange(_ change: ConfChange) throws(RaftError) -> UInt64 {
        try checkLeaderForProposal()
        guard pendingConfIndex <= log.applied else { throw .confChangeInProgress }
        guard change.context.count <= ConfChange.maxContext else {
            throw .invalidConfChange("context of \(change.context.count) bytes (at most \(ConfChange.maxContext))")
        }
        switch change.kind {
        case .addLearner:
            guard !confState.members.contains(change.node) else {
                throw .invalidConfChange("\(change.node) is already a member")
            }
        case .addVoter:
            guard !confState.voters.contains(change.node) else {
                throw .invalidConfChange("\(change.node) is already a voter")
            }
        case .remove:
            guard confState.members.contains(change.node) else {
                throw .invalidConfChange("\(change.node) is not a member")
            }
            guard !(confState.voters == [change.node]) else { throw .invalidConfChange("cannot remove the last voter") }
        case .incarnation:
            guard confState.members.contains(change.node), change.incarnation != nil else {
                throw .invalidConfChange("an incarnation is recorded for a member, as 8 bytes")
            }
        }
        let index = log.lastIndex + 1
        appendEntries([Entry(term: term, index: index, kind: .confChange, data: change.encoded)])
        pendingConfIndex = index
        broadcastAppend()
        return index
    }

    func applyConfChange(_ change: ConfChange) {
        switch change.kind {
        case .addLearner:
            guard !confState.members.contains(change.node) else { return }
            confState.learners.insert(change.node)
            if role == .leader && progress[change.node] == nil {
                progress[change.node] = Progress(next: log.lastIndex + 1, isLearner: true)
            }
        case .addVoter:
            confState.learners.remove(change.node)
            confState.voters.insert(change.node)
            confState.demoted.remove(change.node)
            if role == .leader {
                if progress[change.node] == nil {
                    progress[change.node] = Progress(next: log.lastIndex + 1, isLearner: false)
                } else {
                    progress[change.node]?.isLearner = false
                }
            }
        case .incarnation:
            let wasVoter = confState.voters.contains(change.node)
            confState = confState.applying(change)
            if wasVoter && !confState.voters.contains(change.node) {
                // Demoted: its votes and acknowledgements no longer count toward a quorum.
                progress[change.node]?.isLearner = true
            }
        case .remove:
            confState.voters.remove(change.node)
            confState.learners.remove(change.node)
            confState.incarnations[change.node] = nil
            confState.demoted.remove(change.node)
            if role == .leader {
                // A last heartbeat lets the removed member commit (and so apply) its own
                // removal as far as it holds the log, so it learns it is out and may drop
                // its replica; nothing is sent to it after this.
                if change.node != id, let pr = progress[change.node], pr.match > 0 {
                    var m = Message(type: .heartbeat, from: id, to: change.node, term: term)
                    m.commit = min(pr.match, log.committed)
                    msgs.append(m)
                }
                progress[change.node] = nil
                if leadTransferee == change.node { leadTransferee = 0 }
            }
        }
        guard role == .leader else { return }
        if !confState.voters.contains(id) {
            // A leader removed from the voters hands over by stepping down; the others
            // elect a successor after their election timeout.
            becomeFollower(term: term, leader: 0)
            return
        }
        // The quorum changed: something may now be committed.
        if maybeCommit() { broadcastAppend() }
    }

    /// The leader records the incarnation a member answers from when its group does not
    /// have it yet, or has another (the member's storage was created again: it is demoted
    /// until it has the log). One change at a time, like every membership change.
    func maybeRecordIncarnation(of member: NodeID, _ incarnation: UInt64) {
        guard role == .leader, incarnation != 0, confState.members.contains(member),
            confState.incarnations[member] != incarnation, pendingConfIndex <= log.applied, leadTransferee == 0
        else { return }
        _ = try? proposeConfChange(.incarnation(member, incarnation))
    }

    /// A demoted member that has the log again (up to the commit index) is made a voter.
    func maybePromoteDemoted(_ member: NodeID) {
        guard role == .leader, confState.demoted.contains(member), confState.learners.contains(member),
            let match = progress[member]?.match, match >= log.committed, pendingConfIndex <= log.applied,
            leadTransferee == 0
        else { return }
        _ = try? proposeConfChange(ConfChange(.addVoter, member))
    }

    /// Hands leadership to `target` once it has caught up (§3.10: TimeoutNow). Proposals
    /// are refused until it completes or an election timeout passes.
    public func transferLeadership(to target: NodeID) throws(RaftError) {
        guard role == .leader else { throw .notLeader(leader: leader) }
        guard target != id, confState.voters.contains(target) else {
            throw .invalidConfChange("\(target) is not another voter")
        }
        if leadTransferee == target { return }
        leadTransferee = target
        electionElapsed = 0
        if progress[target]?.match == log.lastIndex {
            msgs.append(Message(type: .timeoutNow, from: id, to: target, term: term))
        } else {
            sendAppend(to: target)
        }
    }
}
