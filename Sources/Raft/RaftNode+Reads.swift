/// A ReadIndex request waiting for a quorum to confirm this leader is still the leader.
struct PendingRead {
    var index: UInt64
    var context: [UInt8]
    var acks: Set<NodeID>
}

extension RaftNode {
    /// Asks for a linearizable read point; the answer arrives as a `ReadState` with the same
    /// `context` in a later `Ready` (contexts must be unique per request). With ReadIndex a
    /// quorum confirms leadership first; with a lease the leader answers at once.
    public func readIndex(_ context: [UInt8]) throws(RaftError) {
        if config.readMode == .lease && !config.checkQuorum { throw .leaseRequiresCheckQuorum }
        guard role == .leader else { throw .notLeader(leader: leader) }
        guard progress[id] != nil else { throw .notMember }
        // Until an entry of this term commits, the commit index may lag what an earlier
        // leader acknowledged (§8): wait for the no-op.
        guard log.matchTerm(log.committed, term) else {
            readsAwaitingCommit.append(context)
            return
        }
        serveRead(context)
    }

    func serveRead(_ context: [UInt8]) {
        if quorum == 1 || config.readMode == .lease || config.plantedBug == .leaseOutlivesQuorum {
            readStates.append(ReadState(index: log.committed, context: context))
            return
        }
        pendingReads.append(PendingRead(index: log.committed, context: context, acks: [id]))
        broadcastHeartbeat(context: context)
    }

    func releaseReadsAwaitingCommit() {
        guard !readsAwaitingCommit.isEmpty, role == .leader, log.matchTerm(log.committed, term) else { return }
        let waiting = readsAwaitingCommit
        readsAwaitingCommit = []
        for context in waiting { serveRead(context) }
    }

    func acknowledgeRead(context: [UInt8], from: NodeID) {
        guard confState.voters.contains(from),
            let i = pendingReads.firstIndex(where: { $0.context == context })
        else { return }
        pendingReads[i].acks.insert(from)
        guard pendingReads[i].acks.filter({ confState.voters.contains($0) }).count >= quorum else { return }
        // A quorum confirmed leadership after every request up to this one was made.
        for read in pendingReads[...i] { readStates.append(ReadState(index: read.index, context: read.context)) }
        pendingReads.removeSubrange(...i)
    }
}
