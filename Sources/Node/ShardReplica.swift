import NodeRPC
import Raft
import Sharding

/// What a linearizable read does once confirmed: a state-machine query, or a copy of the
/// whole state machine for a backup.
enum ReadWork {
    case query([UInt8])
    case backup
    /// A reserving read (`ReplicatedStateMachine.reserve`).
    case reserve([UInt8])
}

/// A reserving read that found every slot of its key held: it waits for a release.
struct WaitingReserve {
    var request: [UInt8]
    var reply: ShardReplica.Reply
    /// The answer if no slot comes free in time.
    var full: [UInt8]
    /// The slot clock (milliseconds) when it began to wait.
    var since: UInt64
}

/// A shard's state machine as of `metadata.index`, held for the backup reading it.
struct BackupCopy {
    var metadata: SnapshotMetadata
    var data: [UInt8]
    var sha256: [UInt8]
    /// The tick of the last chunk served: an idle copy is dropped.
    var lastUse: UInt64
}

/// One shard's replica on this node: the Raft core, its log storage, and the clients
/// waiting on it. Touched only by the runtime thread.
final class ShardReplica {
    typealias Reply = @Sendable (ClientResponse.Body) -> Void

    let shard: UInt32
    let raft: RaftNode<SystemRandomNumberGenerator>
    let storage: LMDBRaftStorage
    /// Proposals by log index, with the request id that must be found there when applied.
    var proposals: [UInt64: (requestId: [UInt8], reply: Reply)] = [:]
    /// Membership changes proposed here by log index, with the change that must be found
    /// there; answered once applied.
    var confChanges: [UInt64: (change: ConfChange, reply: Reply)] = [:]
    /// The configuration as of the entries the current transaction applies, taken by the
    /// storage once it commits.
    var appliedConf: ConfState?
    /// Reads that arrived since the last ReadIndex round: one round confirms them all.
    var pendingReads: [(work: ReadWork, reply: Reply)] = []
    /// ReadIndex rounds by context, then reads by read index once confirmed.
    var reads: [[UInt8]: [(work: ReadWork, reply: Reply)]] = [:]
    var confirmedReads: [(index: UInt64, work: ReadWork, reply: Reply)] = []
    /// The copy of the state machine a backup is reading, until it is read or idle too long.
    var backup: BackupCopy?
    /// Committed entries a follower has not applied to LMDB yet: nobody waits on them, so
    /// they ride along with the next transaction (at the latest the tick's) instead of
    /// costing a flush each. Applied before anything that reads the state machine.
    var deferred: [Entry] = []
    var wasLeader = false
    var lastLeader: UInt64 = 0
    /// The applied index at moments of the wall clock, oldest first: what was applied a log's
    /// maximum age ago is compacted (`NodeRuntime.compactByAge`).
    var appliedMarks: [(index: UInt64, at: Double)] = []
    /// What this replica holds as leader for reserving reads, in its term.
    var slots = SlotTable()
    /// Reserving reads waiting for a slot, by key, oldest first.
    var waiting: [[UInt8]: [WaitingReserve]] = [:]
    var waitingCount = 0

    init(shard: UInt32, raft: RaftNode<SystemRandomNumberGenerator>, storage: LMDBRaftStorage) {
        self.shard = shard
        self.raft = raft
        self.storage = storage
    }

    /// Leadership ended (or the node stopped): nobody here can answer the waiting clients
    /// any more. `reason` says why; a proposal's outcome is unknown to its client.
    func failWaiters(reason: String) {
        for (_, p) in proposals {
            p.reply(.unavailable("\(reason); the outcome is unknown, retry with the same request id"))
        }
        proposals = [:]
        for (_, c) in confChanges { c.reply(.unavailable("\(reason); check the shard's members before retrying")) }
        confChanges = [:]
        for (_, batch) in reads { for r in batch { r.reply(.notLeader(leader: raft.leader)) } }
        reads = [:]
        for r in pendingReads { r.reply(.notLeader(leader: raft.leader)) }
        pendingReads = []
        for r in confirmedReads { r.reply(.notLeader(leader: raft.leader)) }
        confirmedReads = []
        for (_, list) in waiting { for w in list { w.reply(.notLeader(leader: raft.leader)) } }
        waiting = [:]
        waitingCount = 0
        slots.reset(term: 0)
    }
}
