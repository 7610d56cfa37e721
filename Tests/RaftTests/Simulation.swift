import Raft

/// A deterministic cluster of `RaftNode`s over a faulty simulated network.
///
/// Every round: each live node may tick, due messages are delivered in random order, and
/// nodes process their `Ready` (persist to their `MemoryStorage`, send, apply) with some
/// probability, so unpersisted state builds up and a crash loses it. Faults: dropped,
/// delayed, duplicated and reordered messages, partitions, crashes and restarts, and
/// membership changes and leadership transfers. The invariants are checked as it goes;
/// `finish()` heals everything and checks that the cluster converges.
final class Simulation {
    struct Options {
        var initialNodes = 3
        var maxNodes = 7
        var dropRate = 0.05
        var duplicateRate = 0.02
        var maxDelay = 4
        /// Messages held for up to `longDelay` rounds (a stuck connection, a paused process):
        /// a deposed leader's appends arriving long after its term ended.
        var longDelayRate = 0.005
        var longDelay = 120
        var tickRate = 0.25
        var readyRate = 0.7
        var proposeRate = 0.3
        var readRate = 0.08
        var crashRate = 0.004
        /// Chance that persisting a Ready with entries fails (fsync reports an error).
        var syncFailRate = 0.0005
        var restartRate = 0.03
        var partitionRate = 0.004
        var healRate = 0.02
        var confChangeRate = 0.004
        var transferRate = 0.002
        /// Chance per round that a member's storage is wiped (its disk replaced) while the
        /// others keep theirs: it comes back under its id with a new incarnation, a founding
        /// member with the founding configuration, as a node does.
        var wipeRate = 0.001
        var compactThreshold: UInt64 = 40
        var maxEntriesPerMessage = 8
        /// Chance that a crash picks the leader rather than any node.
        var leaderCrashBias = 0.0
        var faults = true
        /// A bug planted in the core (`PlantedBug`), or in this driver: `ackBeforeSync`
        /// sends a node's answers (a follower's append acknowledgements) before its entries
        /// are durable, and the node may die in between.
        var plantedBug: PlantedBug? = nil
        var ackBeforeSync = false

        /// A mix of cluster sizes, batch sizes and fault rates drawn from the seed, so the
        /// seeds together cover gentle and violent runs.
        static func varied(seed: UInt64) -> Options {
            var rng = SeededGenerator(seed: seed ^ 0x5EED)
            var o = Options()
            o.initialNodes = [3, 3, 4, 5, 7].randomElement(using: &rng)!
            o.maxEntriesPerMessage = [1, 2, 8].randomElement(using: &rng)!
            o.dropRate = [0.02, 0.05, 0.15].randomElement(using: &rng)!
            o.crashRate = [0.002, 0.004, 0.015].randomElement(using: &rng)!
            o.restartRate = [0.03, 0.1].randomElement(using: &rng)!
            o.partitionRate = [0.002, 0.004, 0.01].randomElement(using: &rng)!
            o.maxDelay = [2, 4, 8].randomElement(using: &rng)!
            o.compactThreshold = [10, 40].randomElement(using: &rng)!
            if rng.chance(0.3) {
                // Churn: leaders die young, so terms pile up with half-replicated entries
                // (the ground Figure 8 of the paper grows on).
                o.initialNodes = 3
                o.maxEntriesPerMessage = 1
                o.crashRate = 0.05
                o.leaderCrashBias = 0.7
                o.restartRate = 0.3
            }
            return o
        }
    }

    struct Stats {
        var rounds = 0
        var messages = 0
        var proposals = 0
        var acked = 0
        var reads = 0
        var crashes = 0
        var partitions = 0
        var confChanges = 0
        var transfers = 0
        var snapshotsInstalled = 0
        var elections = 0
        var syncFailures = 0
        var wipes = 0
    }

    final class SimNode {
        var raft: RaftNode<SeededGenerator>
        /// The state machine: the payload applied at each index (no-ops and conf changes as
        /// empty), starting after `baseIndex`.
        var applied: [UInt64: [UInt8]] = [:]
        var appliedIndex: UInt64 = 0

        init(raft: RaftNode<SeededGenerator>) { self.raft = raft }
    }

    struct InFlight {
        var deliverAt: Int
        var message: Message
    }

    let seed: UInt64
    var options: Options
    var rng: SeededGenerator
    /// Failed writes draw from their own generator, so adding them left every other
    /// decision of a seed as it was.
    var diskRng: SeededGenerator
    /// Wiped disks and incarnations draw from theirs, likewise.
    var wipeRng: SeededGenerator
    var now = 0
    var nodes: [NodeID: SimNode] = [:]
    var storages: [NodeID: MemoryStorage] = [:]
    var crashed: Set<NodeID> = []
    var removed: Set<NodeID> = []
    var nextNodeID: NodeID
    /// Each member's storage incarnation: drawn when its storage is made, again when wiped.
    var incarnations: [NodeID: UInt64] = [:]
    let founders: Set<NodeID>
    var network: [InFlight] = []
    var partition: Set<NodeID>? = nil
    var stats = Stats()
    var violations: [String] = []

    /// Every entry any node applied: index → (term, data). Committed by definition.
    var committed: [UInt64: (term: UInt64, data: [UInt8])] = [:]
    var leaderOfTerm: [UInt64: NodeID] = [:]
    var highestAcked: UInt64 = 0
    var ackedProposals: [UInt64: [UInt8]] = [:]
    /// Read context → the highest acknowledged index when the read was asked.
    var pendingReads: [[UInt8]: UInt64] = [:]
    var nextProposal: UInt64 = 1

    init(seed: UInt64, options: Options = .init()) {
        self.seed = seed
        self.options = options
        rng = SeededGenerator(seed: seed)
        diskRng = SeededGenerator(seed: seed ^ 0xD15C_FA11)
        wipeRng = SeededGenerator(seed: seed ^ 0x0A7E_5151)
        let count = options.initialNodes
        let voters = Set((1...count).map { NodeID($0) })
        founders = voters
        nextNodeID = NodeID(count + 1)
        for id in voters.sorted() {
            storages[id] = MemoryStorage(bootstrap: voters)
            incarnations[id] = wipeRng.next() | 1
            start(id)
        }
    }

    func config(_ id: NodeID) -> RaftConfig {
        var c = RaftConfig(id: id)
        c.electionTick = 10
        c.heartbeatTick = 1
        c.maxEntriesPerMessage = options.maxEntriesPerMessage
        c.maxInflight = 4
        c.maxBytesPerMessage = 4096
        // Reordered pipelined appends send followers back to probing, so a leader's log can
        // outgrow what they catch up with in the final healing; as in a real node, a leader
        // with this much uncommitted refuses proposals.
        c.maxUncommittedEntries = 128
        c.plantedBug = options.plantedBug
        c.incarnation = incarnations[id] ?? 0
        return c
    }

    /// Starts (or restarts) `id` from its storage; volatile state starts empty.
    func start(_ id: NodeID) {
        let storage = storages[id]!
        var nodeRng = SeededGenerator(seed: rng.next())
        _ = nodeRng.next()
        let node = SimNode(raft: RaftNode(config: config(id), storage: storage, random: nodeRng))
        // The state machine comes back from the snapshot; later entries are re-applied.
        if let snap = try? storage.snapshot(), !snap.isEmpty {
            node.applied = decode(snap.data)
            node.appliedIndex = snap.metadata.index
        }
        nodes[id] = node
        crashed.remove(id)
    }

    // MARK: Running

    func run(rounds: Int) {
        for _ in 0..<rounds {
            round()
            if !violations.isEmpty { return }
        }
    }

    func round() {
        now += 1
        stats.rounds += 1
        if options.faults { injectFaults() }
        clientActions()
        for id in nodes.keys.sorted() where rng.chance(options.tickRate) { nodes[id]!.raft.tick() }
        deliver()
        for id in nodes.keys.sorted() where rng.chance(options.readyRate) { processReady(id) }
        checkLogMatching()
        checkCommittedPrefix()
    }

    func deliver() {
        var due: [InFlight] = []
        network.removeAll { item in
            if item.deliverAt <= now {
                due.append(item)
                return true
            }
            return false
        }
        due.shuffle(using: &rng)
        for item in due {
            let m = item.message
            guard let node = nodes[m.to], !cut(m.from, m.to) else {
                lost(m, unreachable: true)
                continue
            }
            stats.messages += 1
            node.raft.step(m)
            // The transport reports a snapshot it delivered in full.
            if m.type == .snapshot, let sender = nodes[m.from] { sender.raft.reportSnapshot(to: m.to, success: true) }
        }
    }

    func cut(_ a: NodeID, _ b: NodeID) -> Bool {
        guard let side = partition else { return false }
        return side.contains(a) != side.contains(b)
    }

    /// A message that never arrived; the transport tells the sender about snapshots.
    func lost(_ m: Message, unreachable: Bool = false) {
        guard let sender = nodes[m.from] else { return }
        if m.type == .snapshot { sender.raft.reportSnapshot(to: m.to, success: false) }
        // A transport notices a peer it cannot reach (not a single dropped packet).
        if unreachable { sender.raft.reportUnreachable(m.to) }
    }

    func send(_ m: Message) {
        if options.faults && rng.chance(options.dropRate) {
            lost(m)
            return
        }
        var delay = 1 + Int.random(in: 0..<options.maxDelay, using: &rng)
        if options.faults && rng.chance(options.longDelayRate) { delay += Int.random(in: 0..<options.longDelay, using: &rng) }
        network.append(InFlight(deliverAt: now + delay, message: m))
        if options.faults && rng.chance(options.duplicateRate) {
            network.append(InFlight(deliverAt: now + delay + Int.random(in: 0...options.maxDelay, using: &rng), message: m))
        }
    }

    func processReady(_ id: NodeID) {
        guard let node = nodes[id], let storage = storages[id] else { return }
        while let rd = node.raft.ready() {
            if let soft = rd.softState, soft.role == .leader { becameLeader(id, node) }
            // A leader's appends may leave before its own disk write …
            for m in rd.earlyMessages { send(m) }
            if options.faults && !rd.earlyMessages.isEmpty && !rd.entries.isEmpty && rng.chance(options.crashRate) {
                // … and the node may die before that write happens.
                nodes[id] = nil
                crashed.insert(id)
                stats.crashes += 1
                return
            }
            if options.ackBeforeSync && !rd.messages.isEmpty && !rd.entries.isEmpty {
                // The planted driver bug: answers leave before the write is durable …
                for m in rd.messages { send(m) }
                if rng.chance(0.05) {
                    nodes[id] = nil
                    crashed.insert(id)
                    stats.crashes += 1
                    return
                }
            }
            if options.faults && rd.snapshot == nil && !rd.entries.isEmpty && diskRng.chance(options.syncFailRate) {
                // The write fails, as a failing fsync reports: the node stops without
                // answering or applying (it must not go on). What reached the disk is the
                // whole record or none of it (a torn record fails its checksum and is dropped).
                if diskRng.chance(0.5) {
                    if let hs = rd.hardState { storage.setHardState(hs) }
                    storage.append(rd.entries)
                }
                nodes[id] = nil
                crashed.insert(id)
                stats.crashes += 1
                stats.syncFailures += 1
                return
            }
            // Persist …
            if let hs = rd.hardState { storage.setHardState(hs) }
            if let snap = rd.snapshot {
                storage.applySnapshot(snap)
                node.applied = decode(snap.data)
                node.appliedIndex = snap.metadata.index
                stats.snapshotsInstalled += 1
                for (i, data) in node.applied { checkApplied(id, index: i, term: nil, data: data) }
            }
            storage.append(rd.entries)
            // … then send …
            if !(options.ackBeforeSync && !rd.entries.isEmpty) { for m in rd.messages { send(m) } }
            // … then apply.
            for e in rd.committedEntries { apply(id, node, e) }
            for rs in rd.readStates { checkRead(id, rs) }
            node.raft.advance(rd)
            if node.raft.appliedIndex >= storage.firstIndex() + options.compactThreshold {
                try? storage.createSnapshot(
                    index: node.raft.appliedIndex, confState: node.raft.confState, data: encode(node.applied))
                // The state machine keeps only what the snapshot holds; trim nothing here.
            }
        }
    }

    func apply(_ id: NodeID, _ node: SimNode, _ e: Entry) {
        guard e.index > node.appliedIndex else { return }
        if e.index != node.appliedIndex + 1 {
            violations.append("node \(id) applied index \(e.index) after \(node.appliedIndex) (gap)")
        }
        let payload = e.kind == .normal ? e.data : [0xCC] + e.data
        node.applied[e.index] = payload
        node.appliedIndex = e.index
        checkApplied(id, index: e.index, term: e.term, data: payload)
        if node.raft.role == .leader && e.kind == .normal && !e.data.isEmpty && ackedProposals[e.index] == nil {
            // The leader answers the client now: the write is acknowledged.
            ackedProposals[e.index] = e.data
            highestAcked = max(highestAcked, e.index)
            stats.acked += 1
        }
        if e.kind == .confChange, let cc = ConfChange(encoded: e.data), cc.kind == .remove,
            node.raft.role == .leader || id == cc.node
        {
            decommission(cc.node)
        }
    }

    /// An operator stops a node once its removal is committed.
    func decommission(_ id: NodeID) {
        guard !removed.contains(id) else { return }
        removed.insert(id)
        nodes[id] = nil
        crashed.remove(id)
    }

    // MARK: Client and fault actions

    func leaderNode() -> (NodeID, SimNode)? {
        nodes.filter { $0.value.raft.role == .leader }.max { $0.value.raft.term < $1.value.raft.term }
    }

    func clientActions() {
        guard let (_, leader) = leaderNode() else { return }
        if rng.chance(options.proposeRate) {
            let payload = withUnsafeBytes(of: nextProposal.bigEndian, Array.init)
            nextProposal += 1
            if (try? leader.raft.propose(payload)) != nil { stats.proposals += 1 }
        }
        if rng.chance(options.readRate) {
            let context = Array("read-\(now)-\(rng.next())".utf8)
            // Half the reads go to any node that believes it leads, as a client with a stale
            // view would send them: a deposed leader must not answer.
            let leaders = nodes.keys.sorted().filter { nodes[$0]!.raft.role == .leader }
            let target = rng.chance(0.5) ? leaders.randomElement(using: &rng).map { nodes[$0]! } ?? leader : leader
            if (try? target.raft.readIndex(context)) != nil {
                pendingReads[context] = highestAcked
                stats.reads += 1
            }
        }
    }

    func injectFaults() {
        let live = nodes.keys.sorted()
        if rng.chance(options.crashRate), live.count > 1,
            let victim = rng.chance(options.leaderCrashBias) ? leaderNode()?.0 ?? live.randomElement(using: &rng) : live.randomElement(using: &rng)
        {
            // Everything not persisted is lost: the node object and its unsent Ready.
            nodes[victim] = nil
            crashed.insert(victim)
            stats.crashes += 1
        }
        if rng.chance(options.restartRate), let back = crashed.sorted().randomElement(using: &rng) {
            start(back)
        }
        if wipeRng.chance(options.wipeRate) { wipe() }
        if partition == nil && rng.chance(options.partitionRate) {
            let all = storages.keys.sorted().shuffled(using: &rng)
            partition = Set(all.prefix(Int.random(in: 1...max(1, all.count / 2), using: &rng)))
            stats.partitions += 1
        } else if partition != nil && rng.chance(options.healRate) {
            partition = nil
        }
        if rng.chance(options.confChangeRate), let (_, leader) = leaderNode() { changeMembership(leader) }
        if rng.chance(options.transferRate), let (lid, leader) = leaderNode(),
            let target = leader.raft.confState.voters.filter({ $0 != lid }).sorted().randomElement(using: &rng)
        {
            if (try? leader.raft.transferLeadership(to: target)) != nil { stats.transfers += 1 }
        }
    }

    /// Replaces a member's storage with a new, empty one, as an operator who swaps a dead
    /// disk and starts the node again under its id would: a founding member bootstraps the
    /// founding configuration again, another starts empty. Only a member whose incarnation
    /// its group has recorded, and one at a time (with two of three forgetting, the group's
    /// acknowledged entries are gone, which no protocol can undo).
    func wipe() {
        guard let (_, leader) = leaderNode() else { return }
        let conf = leader.raft.confState
        let sound = conf.voters.filter { conf.counts($0, incarnation: incarnations[$0] ?? 0) && conf.incarnations[$0] != nil }
        guard conf.demoted.isEmpty, sound.count == conf.voters.count, conf.voters.count >= 3,
            let victim = conf.voters.sorted().randomElement(using: &wipeRng), !removed.contains(victim)
        else { return }
        nodes[victim] = nil
        storages[victim] = founders.contains(victim) ? MemoryStorage(bootstrap: founders) : MemoryStorage()
        incarnations[victim] = wipeRng.next() | 1
        stats.wipes += 1
        start(victim)
    }

    func changeMembership(_ leader: SimNode) {
        let conf = leader.raft.confState
        var change: ConfChange?
        switch Int.random(in: 0..<3, using: &rng) {
        case 0 where conf.members.count < options.maxNodes:
            let id = nextNodeID
            change = ConfChange(.addLearner, id)
        case 1:
            if let learner = conf.learners.sorted().first { change = ConfChange(.addVoter, learner) }
        default:
            if conf.voters.count > 3, let victim = conf.members.sorted().randomElement(using: &rng) {
                change = ConfChange(.remove, victim)
            }
        }
        guard let change, (try? leader.raft.proposeConfChange(change)) != nil else { return }
        stats.confChanges += 1
        if change.kind == .addLearner {
            // The operator starts the new member with an empty log; it learns the
            // configuration from the leader.
            nextNodeID += 1
            storages[change.node] = MemoryStorage()
            incarnations[change.node] = wipeRng.next() | 1
            start(change.node)
        }
    }

    // MARK: Invariants

    func becameLeader(_ id: NodeID, _ node: SimNode) {
        let term = node.raft.term
        stats.elections += 1
        if let other = leaderOfTerm[term], other != id {
            violations.append("election safety: \(other) and \(id) both leader in term \(term)")
        }
        leaderOfTerm[term] = id
        // Leader completeness: every committed entry still in the log range is in its log.
        let first = node.raft.firstIndex
        for (index, entry) in committed where index >= first {
            if entry.term != 0, node.raft.term(at: index) != entry.term {
                if environment("RAFT_SEED") != nil {
                    print("round \(now) committed[\(index)] = term \(entry.term)")
                    for nid in nodes.keys.sorted() { print(nodes[nid]!.raft) }
                }
                violations.append(
                    "leader completeness: leader \(id) of term \(term) lacks committed entry \(index) (term \(entry.term)), has term \(node.raft.term(at: index).map(String.init) ?? "none")")
                return
            }
        }
        if first > 1, let top = committed.keys.max(), top >= first - 1 {
            // Entries below `first` are in its snapshot, which only holds committed state.
        }
    }

    func checkApplied(_ id: NodeID, index: UInt64, term: UInt64?, data: [UInt8]) {
        if let seen = committed[index] {
            if seen.data != data || (term != nil && seen.term != 0 && seen.term != term!) {
                violations.append("state machine safety: node \(id) applied a different entry at index \(index)")
            }
        } else {
            committed[index] = (term ?? 0, data)
        }
    }

    func checkRead(_ id: NodeID, _ rs: ReadState) {
        guard let floor = pendingReads.removeValue(forKey: rs.context) else { return }
        if rs.index < floor {
            violations.append(
                "linearizable read: node \(id) answered a read at index \(rs.index), below write \(floor) acknowledged before the read began")
        }
    }

    /// No node's log holds, at or below its commit index, an entry other than the one
    /// committed there (checked over the last 64 committed entries of each live node).
    func checkCommittedPrefix() {
        for id in nodes.keys.sorted() {
            let raft = nodes[id]!.raft
            let hi = min(raft.commitIndex, raft.lastIndex)
            let lo = max(raft.firstIndex, hi > 64 ? hi - 64 : 1)
            guard lo <= hi else { continue }
            for e in raft.entries(from: lo, through: hi) {
                guard let seen = committed[e.index] else { continue }
                let payload = e.kind == .normal ? e.data : [0xCC] + e.data
                if seen.data != payload || (seen.term != 0 && seen.term != e.term) {
                    violations.append(
                        "committed prefix: node \(id) holds a different entry at committed index \(e.index) (term \(e.term), committed in term \(seen.term))")
                    return
                }
            }
        }
    }

    func checkLogMatching() {
        let live = nodes.keys.sorted()
        for (i, a) in live.enumerated() {
            for b in live[(i + 1)...] {
                let na = nodes[a]!.raft, nb = nodes[b]!.raft
                // Every step, over the last 64 entries both hold (every 50 steps, all of them).
                let hi = min(na.lastIndex, nb.lastIndex)
                let window: UInt64 = now % 50 == 0 ? .max : 64
                let lo = max(na.firstIndex, nb.firstIndex, hi > window ? hi - window : 0)
                guard lo <= hi else { continue }
                let ea = na.entries(from: lo, through: hi), eb = nb.entries(from: lo, through: hi)
                guard ea.count == eb.count else { continue }
                var matched = false
                for k in stride(from: ea.count - 1, through: 0, by: -1) {
                    if ea[k].term == eb[k].term { matched = true }
                    if matched && ea[k] != eb[k] {
                        violations.append("log matching: nodes \(a) and \(b) agree on a later entry but differ at \(ea[k].index)")
                        return
                    }
                }
            }
        }
    }

    /// Heals the network, restarts crashed members, stops faults, and runs until every
    /// member has applied every committed entry (or reports that it did not).
    func finish(maxRounds: Int = 3000) {
        guard violations.isEmpty else { return }
        options.faults = false
        partition = nil
        for id in crashed.sorted() where !removed.contains(id) { start(id) }
        var target: UInt64 = 0
        for _ in 0..<maxRounds {
            options.proposeRate = 0
            options.readRate = 0
            round()
            guard violations.isEmpty else { return }
            guard let (_, leader) = leaderNode() else { continue }
            target = max(target, leader.raft.commitIndex, committed.keys.max() ?? 0)
            let members = leader.raft.confState.members
            if members.allSatisfy({ nodes[$0] != nil && nodes[$0]!.appliedIndex >= target }) && network.isEmpty {
                for (index, data) in ackedProposals {
                    for m in members where nodes[m]!.appliedIndex >= index && nodes[m]!.applied[index].map({ $0 != data }) ?? false {
                        violations.append("acknowledged write at \(index) differs on node \(m)")
                    }
                }
                return
            }
        }
        let lagging = nodes.map { "\($0.key):\($0.value.appliedIndex)" }.sorted().joined(separator: " ")
        if environment("RAFT_SEED") != nil {
            for id in nodes.keys.sorted() { print(nodes[id]!.raft) }
            print("crashed \(crashed.sorted()) removed \(removed.sorted()) network \(network.count)")
        }
        let tail = leaderNode().map { ", leader's log to \($0.1.raft.lastIndex), commit \($0.1.raft.commitIndex)" } ?? ", no leader"
        violations.append(
            "liveness: after healing, members did not all apply through \(target) and go quiet in \(maxRounds) rounds "
                + "(applied: \(lagging); \(network.count) messages in flight\(tail))")
    }
}

/// The simulator's state machine as snapshot bytes: (index, length, payload)*.
func encode(_ applied: [UInt64: [UInt8]]) -> [UInt8] {
    var out: [UInt8] = []
    for (index, data) in applied.sorted(by: { $0.key < $1.key }) {
        out += withUnsafeBytes(of: index.bigEndian, Array.init)
        out += withUnsafeBytes(of: UInt32(data.count).bigEndian, Array.init)
        out += data
    }
    return out
}

func decode(_ bytes: [UInt8]) -> [UInt64: [UInt8]] {
    var out: [UInt64: [UInt8]] = [:]
    var i = 0
    while i + 12 <= bytes.count {
        let index = bytes[i..<(i + 8)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let n = Int(bytes[(i + 8)..<(i + 12)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        out[index] = Array(bytes[(i + 12)..<(i + 12 + n)])
        i += 12 + n
    }
    return out
}
