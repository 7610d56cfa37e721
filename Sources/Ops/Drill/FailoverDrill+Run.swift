import CognitoModel
import Foundation
import NodeRPC
import Sharding
import UserPool

/// The drill: rounds of faults under load, then what each round measured, then the verdict.
extension FailoverDrill {
    /// Runs the rounds under load, then verifies. `plant` (tests only) is called with the
    /// nodes stopped and one acknowledged sign-up, to delete it behind the cluster's back.
    public func run(
        log: @escaping @Sendable (String) -> Void,
        plant: ((_ pool: String, _ username: String) throws -> Void)? = nil
    ) async throws -> Report {
        let s = try await setUp(log: log)
        var rounds: [Round] = []
        let loadStart = now()
        await withTaskGroup(of: Void.self) { group in
            startLoad(in: &group, s)
            try? await Task.sleep(for: .seconds(2))  // load before the first fault
            var rng = SplitMixRandom(seed: options.seed)
            for index in 0..<options.rounds {
                rounds.append(await round(index, rng: &rng, log: log))
            }
            lock.withLock { running = false }
        }
        let loadEnd = now()
        log("load stopped after \(String(format: "%.1f", loadEnd - loadStart)) s; verifying")
        measure(&rounds, loadEnd: loadEnd)

        var planted: String?
        if let plant, let victim = lock.withLock({ acknowledged.last }) {
            log("planting a lost write: deleting acknowledged user \(victim) from every node's storage")
            for n in launcher.config.nodes { launcher.signal(node: n.id, SIGTERM) }
            try plant(s.pool, victim)
            for n in launcher.config.nodes { try launcher.start(node: n.id) }
            planted = victim
        }
        _ = try await launcher.waitForLeaders(timeout: .seconds(60))
        let (missing, unverifiable) = await verifySignUps(s)
        if let planted, missing.contains(planted) { log("the planted lost write (\(planted)) was detected") }
        return await verdict(
            s, rounds: rounds, seconds: loadEnd - loadStart, missing: missing, unverifiable: unverifiable)
    }

    /// The load's workers and the prober, until `running` turns false.
    func startLoad(in group: inout TaskGroup<Void>, _ s: Setup) {
        for w in 0..<options.writers { group.addTask { await self.writer(w, s) } }
        for r in 0..<options.readers { group.addTask { await self.reader(r, s) } }
        for w in 0..<options.signUpWorkers { group.addTask { await self.signUpWorker(w, s) } }
        for w in 0..<options.signInWorkers { group.addTask { await self.signInWorker(w, s) } }
        group.addTask { await self.prober(s) }
    }

    /// The node a round faults: the shard's leader, a follower, or any node.
    func target(
        of shard: UInt32, round index: Int, leaders before: [UInt32: UInt64], rng: inout SplitMixRandom
    )
        -> UInt64
    {
        let replicas = launcher.config.placement.replicas(of: shard)
        let leader = before[shard] ?? replicas[0]
        switch options.target {
        case .leader:
            return leader
        case .follower:
            // A follower of this shard, preferring those that lead the fewest shards (none,
            // where there are more nodes than shards; in a three-node cluster every node
            // leads one).
            let followers = replicas.filter { $0 != leader }
            let shardsLed = { (node: UInt64) in before.values.filter { $0 == node }.count }
            let fewest = followers.map(shardsLed).min()
            let least = followers.filter { shardsLed($0) == fewest }
            return least.isEmpty ? leader : least[index % least.count]
        case .random:
            return launcher.config.nodes[Int(rng.next() % UInt64(launcher.config.nodes.count))].id
        }
    }

    /// One round: fault a node, hold the fault, heal it, wait for it to catch up.
    func round(_ index: Int, rng: inout SplitMixRandom, log: @Sendable (String) -> Void) async -> Round {
        let userShards = launcher.config.placement.allShards.filter { $0 != 0 }
        let before = await leaders()
        let shard = userShards[index % userShards.count]
        let target = target(of: shard, round: index, leaders: before, rng: &rng)
        let led = before.filter { $0.value == target }.map(\.key).sorted()
        let faultAt = now()
        do {
            try inject(options.fault, on: target)
        } catch {
            log("round \(index + 1): could not inject \(options.fault): \(error)")
        }
        let leads =
            led.isEmpty ? "leader of no shard" : "leader of shards \(led.map(String.init).joined(separator: ","))"
        let leader = before[shard] ?? launcher.config.placement.replicas(of: shard)[0]
        let role = target == leader ? leads : "follower of shard \(shard); \(leads)"
        log("round \(index + 1)/\(options.rounds): \(options.fault) node \(target) (\(role))")
        try? await Task.sleep(for: .seconds(options.faultSeconds))
        let during = await leaders()
        var newLeaders: [String: UInt64] = [:]
        for sh in led { if let l = during[sh] { newLeaders["\(sh)"] = l } }
        do { try heal(options.fault, on: target) } catch { log("round \(index + 1): could not heal: \(error)") }
        let healAt = now()
        if let missing = await waitCaughtUp(target, timeout: 20) {
            log("round \(index + 1): the cluster had not settled 20 s after healing (\(missing)); going on")
        }
        try? await Task.sleep(for: .seconds(options.settleSeconds))
        return Round(
            round: index + 1, fault: options.fault, target: target, ledShards: led, faultAt: faultAt, healAt: healAt,
            newLeaders: newLeaders)
    }

    /// Each round's recovery (per shard: the first acknowledged probe started after the
    /// fault) and its error window, from the probes and outcomes recorded under load.
    func measure(_ rounds: inout [Round], loadEnd: Double) {
        let (probeLog, outcomeLog) = lock.withLock { (probes, outcomes) }
        for i in rounds.indices {
            let start = rounds[i].faultAt
            let end = i + 1 < rounds.count ? rounds[i + 1].faultAt : loadEnd
            var slowest: Double? = 0
            for shard in launcher.config.placement.allShards where shard != 0 {
                let first = probeLog[shard]?.filter { $0.invoke >= start }.map(\.complete).min()
                if let first {
                    rounds[i].recovery["\(shard)"] = first - start
                    slowest = slowest.map { max($0, first - start) }
                } else {
                    slowest = nil
                }
            }
            rounds[i].recoverySeconds = slowest
            let inRound = outcomeLog.filter { $0.end >= start && $0.end < end }
            rounds[i].slowestOperationSeconds = inRound.map { $0.end - $0.start }.max() ?? 0
            let failed = inRound.filter { !$0.ok }.map(\.end)
            rounds[i].failedOperations = failed.count
            if let a = failed.min(), let b = failed.max() { rounds[i].errorWindowSeconds = b - a }
        }
    }

    /// Every acknowledged sign-up, read back: those the cluster says do not exist, and those
    /// it could not answer for.
    func verifySignUps(_ s: Setup) async -> (missing: [String], unverifiable: [String]) {
        var missing: [String] = []
        var unverifiable: [String] = []
        let signUps = lock.withLock { acknowledged }
        for name in signUps {
            var answer: Error?
            for _ in 0..<5 {
                do {
                    _ = try await client.call(
                        AdminGetUserOperation.self, AdminGetUserRequest(userPoolId: s.pool, username: name))
                    answer = nil
                    break
                } catch {
                    answer = error
                    if (error as? CognitoHTTPClient.CallError)?.type == "UserNotFoundException" { break }
                    try? await Task.sleep(for: .milliseconds(500))
                }
            }
            if let e = answer as? CognitoHTTPClient.CallError, e.type == "UserNotFoundException" {
                missing.append(name)
            } else if let answer {
                unverifiable.append("\(name): \(answer)")
            }
        }
        return (missing, unverifiable)
    }

    /// A final read of every register, the checks of the history, and the report.
    func verdict(
        _ s: Setup, rounds: [Round], seconds: Double, missing: [String], unverifiable: [String]
    ) async -> Report {
        var unverifiable = unverifiable
        for k in 0..<options.registers {
            do {
                try await readRegister("reg-\(k)", client: 999, s)
            } catch {
                unverifiable.append("final read of reg-\(k): \(error)")
            }
        }
        let ops = lock.withLock { history }
        let initial = Dictionary(uniqueKeysWithValues: (0..<options.registers).map { ("reg-\($0)", Self.initial) })
        let lost = Self.lostUpdates(ops, initial: initial)
        let violations = RegisterChecker.check(ops, initial: initial)

        var failures: [String] = []
        if !missing.isEmpty {
            failures.append(
                "\(missing.count) acknowledged sign-up(s) missing: \(missing.prefix(10).joined(separator: ", "))")
        }
        if !unverifiable.isEmpty {
            failures.append(
                "\(unverifiable.count) check(s) could not be made: \(unverifiable.prefix(3).joined(separator: "; "))")
        }
        failures += lost.map { "lost update: \($0)" }
        failures += violations.map { "linearizability: \($0)" }
        let refusedCount = lock.withLock { refused }
        if refusedCount > 0 { failures.append("\(refusedCount) sign-in(s) with the right password were refused") }
        let slow = rounds.filter { ($0.recoverySeconds ?? .infinity) > options.maxRecoverySeconds }.map(\.round)
        if !slow.isEmpty {
            failures.append(
                "round(s) \(slow.map(String.init).joined(separator: ", ")): a shard took longer than "
                    + "\(options.maxRecoverySeconds) s to acknowledge a write")
        }
        return lock.withLock {
            Report(
                fault: options.fault, target: options.target, rounds: rounds, seconds: seconds, operations: counts,
                errors: errors, acknowledgedSignUps: acknowledged.count, unknownSignUps: unknownSignUps,
                missingSignUps: missing, registerOperations: ops.count, lostUpdates: lost,
                violations: violations.map(\.description), signInsRefused: refused, slowRounds: slow,
                failures: failures)
        }
    }
}
