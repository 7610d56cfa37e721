import Raft

/// A fault-free cluster for scenario tests: messages are delivered in order until the
/// cluster is quiet, except across links cut with `isolate` or `drop`.
final class TestCluster {
    var nodes: [NodeID: RaftNode<SeededGenerator>] = [:]
    var storages: [NodeID: MemoryStorage] = [:]
    var applied: [NodeID: [Entry]] = [:]
    var readStates: [NodeID: [ReadState]] = [:]
    var queue: [Message] = []
    var isolated: Set<NodeID> = []
    /// Message types to drop everywhere (for pinning down one rule at a time).
    var dropTypes: Set<MessageType> = []
    var sent: [Message] = []
    let configure: (inout RaftConfig) -> Void

    init(voters: [NodeID], seed: UInt64 = 1, configure: @escaping (inout RaftConfig) -> Void = { _ in }) {
        self.configure = configure
        for id in voters { add(id, storage: MemoryStorage(bootstrap: Set(voters)), seed: seed &+ id) }
    }

    func add(_ id: NodeID, storage: MemoryStorage = MemoryStorage(), seed: UInt64 = 99) {
        var config = RaftConfig(id: id)
        configure(&config)
        storages[id] = storage
        nodes[id] = RaftNode(config: config, storage: storage, random: SeededGenerator(seed: seed &+ id))
        applied[id] = applied[id] ?? []
    }

    /// Rebuilds `id` from its storage, as after a crash.
    func restart(_ id: NodeID) {
        var config = RaftConfig(id: id)
        configure(&config)
        config.applied = applied[id]?.last?.index ?? 0
        nodes[id] = RaftNode(config: config, storage: storages[id]!, random: SeededGenerator(seed: 7 &+ id))
    }

    subscript(_ id: NodeID) -> RaftNode<SeededGenerator> { nodes[id]! }

    /// Persists, queues the messages of and applies every node's Ready.
    func processReadies() {
        for id in nodes.keys.sorted() {
            guard let node = nodes[id], let storage = storages[id] else { continue }
            while let rd = node.ready() {
                if let hs = rd.hardState { storage.setHardState(hs) }
                if let snap = rd.snapshot { storage.applySnapshot(snap) }
                storage.append(rd.entries)
                sent += rd.earlyMessages + rd.messages
                queue += rd.earlyMessages + rd.messages
                applied[id, default: []] += rd.committedEntries
                readStates[id, default: []] += rd.readStates
                node.advance(rd)
            }
        }
    }

    /// Delivers until nothing is left to say.
    func stabilize(maxRounds: Int = 1000) {
        for _ in 0..<maxRounds {
            processReadies()
            if queue.isEmpty { return }
            let batch = queue
            queue = []
            for m in batch where !isolated.contains(m.from) && !isolated.contains(m.to) && !dropTypes.contains(m.type) {
                if m.type == .snapshot, let sender = nodes[m.from] {
                    nodes[m.to]?.step(m)
                    sender.reportSnapshot(to: m.to, success: nodes[m.to] != nil)
                } else {
                    nodes[m.to]?.step(m)
                }
            }
        }
    }

    func tick(_ id: NodeID, _ times: Int = 1) {
        for _ in 0..<times { nodes[id]?.tick() }
    }

    func tickAll(_ times: Int = 1) {
        for _ in 0..<times {
            for id in nodes.keys.sorted() { nodes[id]!.tick() }
            stabilize()
        }
    }

    /// Makes `id` leader by campaigning and delivering.
    func elect(_ id: NodeID) {
        nodes[id]!.campaign()
        stabilize()
    }

    var leaders: [NodeID] { nodes.keys.sorted().filter { nodes[$0]!.role == .leader } }

    /// Normal data applied by `id`, as strings.
    func appliedData(_ id: NodeID) -> [String] {
        applied[id, default: []].filter { $0.kind == .normal && !$0.data.isEmpty }.map { String(decoding: $0.data, as: UTF8.self) }
    }

    /// Removes and returns the queued messages matching `type` (to step them by hand).
    func take(_ type: MessageType) -> [Message] {
        processReadies()
        let taken = queue.filter { $0.type == type }
        queue.removeAll { $0.type == type }
        return taken
    }
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
