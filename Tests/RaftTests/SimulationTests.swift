import Raft
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func environment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

@Suite("deterministic fault simulation")
struct SimulationTests {
    /// RAFT_SEED=<seed> replays one seed; RAFT_SIM_SEEDS=<n> runs n seeds (CI: 500) from
    /// RAFT_SIM_FIRST (default 1; `scripts/soak` moves it on each batch);
    /// RAFT_SIM_STEPS=<rounds> per seed (default 2,000).
    @Test("no invariant breaks under drops, delays, duplicates, partitions, crashes and membership changes")
    func simulate() {
        let rounds = environment("RAFT_SIM_STEPS").flatMap(Int.init) ?? 2000
        let seeds: [UInt64]
        if let one = environment("RAFT_SEED").flatMap(UInt64.init) {
            seeds = [one]
        } else {
            let count = environment("RAFT_SIM_SEEDS").flatMap(Int.init) ?? 40
            let first = environment("RAFT_SIM_FIRST").flatMap(UInt64.init) ?? 1
            seeds = (first..<(first + UInt64(count))).map { $0 &* 0x9E37_79B9 }
        }
        var total = Simulation.Stats()
        var failures: [(UInt64, [String])] = []
        for seed in seeds {
            let sim = Simulation(seed: seed, options: .varied(seed: seed))
            sim.run(rounds: rounds)
            sim.finish()
            total.rounds += sim.stats.rounds
            total.messages += sim.stats.messages
            total.proposals += sim.stats.proposals
            total.acked += sim.stats.acked
            total.reads += sim.stats.reads
            total.crashes += sim.stats.crashes
            total.syncFailures += sim.stats.syncFailures
            total.wipes += sim.stats.wipes
            total.partitions += sim.stats.partitions
            total.confChanges += sim.stats.confChanges
            total.transfers += sim.stats.transfers
            total.snapshotsInstalled += sim.stats.snapshotsInstalled
            total.elections += sim.stats.elections
            if !sim.violations.isEmpty { failures.append((seed, sim.violations)) }
        }
        print("raft simulation: \(seeds.count) seeds, \(total.rounds) steps, \(total.messages) messages delivered, "
            + "\(total.proposals) proposals (\(total.acked) acknowledged), \(total.reads) reads, \(total.elections) elections, "
            + "\(total.crashes) crashes (\(total.syncFailures) at a failed write), \(total.wipes) wiped disks, \(total.partitions) partitions, \(total.confChanges) membership changes, "
            + "\(total.transfers) transfers, \(total.snapshotsInstalled) snapshots installed, \(failures.count) seeds with violations")
        for (seed, violations) in failures.prefix(5) {
            Issue.record("seed \(seed) (replay: RAFT_SEED=\(seed) swift test --filter SimulationTests): \(violations.first!)")
        }
        #expect(failures.isEmpty)
        #expect(total.acked > 0)
    }
}
