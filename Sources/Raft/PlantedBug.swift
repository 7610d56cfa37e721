/// Realistic consensus bugs, switched on only by the tests that show the simulator's checks
/// catch each of them (`Tests/RaftTests/PlantedBugTests.swift`). A check that catches none
/// of them is not a check. `RaftConfig.plantedBug` is nil everywhere else.
public enum PlantedBug: String, Sendable, CaseIterable {
    /// The vote is not made durable: after a restart a node can vote twice in one term.
    case forgetVoteOnRestart
    /// Figure 8: a leader commits an entry of an earlier term by counting its replicas.
    case commitEarlierTermByCounting
    /// Entries are handed out for applying through the last index, past the commit index.
    case applyPastCommit
    /// A follower takes appends from a deposed leader (an earlier term) and overwrites what
    /// conflicts, committed entries included.
    case truncateCommitted
    /// A lease read served after the lease ran out: reads are answered at once from the
    /// leader's commit index, and losing touch with a quorum does not end the lease (the
    /// check-quorum step-down is skipped), so a leader cut off from the majority goes on
    /// answering while another leader takes writes.
    case leaseOutlivesQuorum
    /// A member whose storage was wiped (it came back with another incarnation) still
    /// votes, and candidates count its votes: it forgot what it acknowledged.
    case amnesiacVotes
}
