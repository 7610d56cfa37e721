extension RaftNode {
    /// Pre-vote (unless disabled or this is a leadership transfer), then a real election.
    func campaign(transfer: Bool) {
        guard isPromotable else { return }
        if config.preVote && !transfer {
            reset(term: term)  // keeps term and vote: a pre-campaign changes nothing durable
            role = .preCandidate
            requestVotes(type: .preVote, term: term + 1, transfer: false)
        } else {
            startElection(transfer: transfer)
        }
    }

    func startElection(transfer: Bool = false) {
        reset(term: term + 1)
        vote = id
        role = .candidate
        requestVotes(type: .vote, term: term, transfer: transfer)
    }

    private func requestVotes(type: MessageType, term voteTerm: UInt64, transfer: Bool) {
        if poll(from: id, granted: true) { return }
        for voter in confState.voters.sorted() where voter != id {
            var m = Message(type: type, from: id, to: voter, term: voteTerm)
            m.index = log.lastIndex
            m.logTerm = log.lastTerm
            if transfer { m.context = Message.campaignTransfer }
            msgs.append(m)
        }
    }

    /// Records a vote; returns true when the outcome is decided and acted on.
    @discardableResult
    func poll(from voter: NodeID, granted: Bool) -> Bool {
        guard confState.voters.contains(voter) else { return false }
        if votes[voter] == nil { votes[voter] = granted }
        let yes = votes.values.filter { $0 }.count
        let no = votes.count - yes
        if yes >= quorum {
            if role == .preCandidate {
                startElection()  // the pre-vote was won: now the real election
                return true
            }
            becomeLeader()
            return true
        }
        if no >= quorum {
            becomeFollower(term: term, leader: 0)
            return true
        }
        return false
    }

    func handleVoteRequest(_ m: Message) {
        let responseType: MessageType = m.type == .vote ? .voteResponse : .preVoteResponse
        let canVote =
            vote == m.from
            || (vote == 0 && leader == 0)
            || (m.type == .preVote && m.term > term)
        if canVote && !isAmnesiac && log.isUpToDate(lastIndex: m.index, lastTerm: m.logTerm) {
            // Answer in the term asked about: a pre-vote's term is one we have not entered.
            msgs.append(Message(type: responseType, from: id, to: m.from, term: m.term))
            if m.type == .vote {
                electionElapsed = 0
                vote = m.from
            }
        } else {
            var r = Message(type: responseType, from: id, to: m.from, term: term)
            r.reject = true
            msgs.append(r)
        }
    }

    func stepCandidate(_ m: Message) {
        switch m.type {
        case .append:
            becomeFollower(term: m.term, leader: m.from)
            handleAppend(m)
        case .heartbeat:
            becomeFollower(term: m.term, leader: m.from)
            handleHeartbeat(m)
        case .snapshot:
            becomeFollower(term: m.term, leader: m.from)
            handleSnapshot(m)
        case .preVoteResponse where role == .preCandidate,
            .voteResponse where role == .candidate:
            // A vote from storage that forgot what it acknowledged does not count.
            guard config.plantedBug == .amnesiacVotes || confState.counts(m.from, incarnation: m.incarnation) else {
                return
            }
            poll(from: m.from, granted: !m.reject)
        default:
            break
        }
    }

    func stepFollower(_ m: Message) {
        switch m.type {
        case .append:
            electionElapsed = 0
            leader = m.from
            handleAppend(m)
        case .heartbeat:
            electionElapsed = 0
            leader = m.from
            handleHeartbeat(m)
        case .snapshot:
            electionElapsed = 0
            leader = m.from
            handleSnapshot(m)
        case .timeoutNow:
            // The leader hands over: campaign at once, past pre-vote and stickiness.
            campaign(transfer: true)
        default:
            break
        }
    }
}
