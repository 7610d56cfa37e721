import Benchmark
import Raft

/// The consensus core's own cost per entry: a 3-node group in memory with zero network
/// latency, no disk and no serialization. Each iteration proposes a batch at the leader and
/// runs the group until every entry is committed and applied on all three nodes.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.throughput, .wallClock], maxDuration: .seconds(3))

    for batch in [1, 16, 256] {
        Benchmark("3-node in-memory group, \(batch) proposals per round", configuration: .init(scalingFactor: .one)) { benchmark in
            let group = InMemoryGroup(size: 3)
            let payload = [UInt8](repeating: 0x42, count: 128)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                for _ in 0..<batch { _ = try? group.leader.propose(payload) }
                group.run()
            }
            benchmark.stopMeasurement()
            precondition(group.applied.allSatisfy { $0 >= benchmark.scaledIterations.count * batch }, "every proposal applied")
        }
    }
}

/// Drives `RaftNode`s against `MemoryStorage` with instant delivery.
final class InMemoryGroup {
    struct Rng: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    var nodes: [RaftNode<Rng>] = []
    var storages: [MemoryStorage] = []
    var applied: [Int]
    var inbox: [Message] = []

    init(size: Int) {
        let voters = Set((1...size).map { NodeID($0) })
        applied = Array(repeating: 0, count: size)
        for id in 1...size {
            var config = RaftConfig(id: NodeID(id))
            config.maxEntriesPerMessage = 512
            config.maxInflight = 256
            let storage = MemoryStorage(bootstrap: voters)
            storages.append(storage)
            nodes.append(RaftNode(config: config, storage: storage, random: Rng(state: UInt64(id))))
        }
        nodes[0].campaign()
        run()
        precondition(nodes[0].role == .leader, "node 1 leads")
    }

    var leader: RaftNode<Rng> { nodes[0] }

    /// Persists, delivers and applies until the group is quiet.
    func run() {
        var busy = true
        while busy {
            busy = false
            for (i, node) in nodes.enumerated() {
                while let rd = node.ready() {
                    busy = true
                    if let hs = rd.hardState { storages[i].setHardState(hs) }
                    storages[i].append(rd.entries)
                    inbox.append(contentsOf: rd.earlyMessages)
                    inbox.append(contentsOf: rd.messages)
                    applied[i] += rd.committedEntries.filter { !$0.data.isEmpty }.count
                    node.advance(rd)
                    if node.appliedIndex > storages[i].firstIndex() + 10_000 {
                        storages[i].compact(to: node.appliedIndex - 1000)
                    }
                }
            }
            let messages = inbox
            inbox.removeAll(keepingCapacity: true)
            for m in messages {
                busy = true
                nodes[Int(m.to) - 1].step(m)
            }
        }
    }
}
