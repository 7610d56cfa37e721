import Foundation
import NodeRPC

/// `cognate drill failover --scenario replace`: a machine dies for good and is replaced,
/// under the same load and with the same verdict as the fault rounds.
extension FailoverDrill {
    /// Kills the leader of shard 1 for good and deletes its data; adds the definition's
    /// spare node (`join = true`) to shard 0 and, as a learner caught up then a voter, to
    /// every user shard the dead node held; removes the dead node from each; then kills
    /// another node for `faultSeconds` and restarts it. Two rounds: the replacement, the
    /// second kill.
    public func runReplace(log: @escaping @Sendable (String) -> Void) async throws -> Report {
        guard let spare = launcher.config.nodes.first(where: \.joinsLater)?.id else {
            throw DrillError("the definition has no spare node (`join = true`) to replace the dead one with")
        }
        let s = try await setUp(log: log)
        let steps = StepLog(clock: { [self] in now() }, log: log)
        let membership = ClusterMembership(config: launcher.config, client: nodes) { steps.add($0) }
        var rounds: [Round] = []
        var underReplicated: [String: Double] = [:]
        var failure: String?
        var victim: UInt64 = 0
        let loadStart = now()
        await withTaskGroup(of: Void.self) { group in
            startLoad(in: &group, s)
            do {
                try await Task.sleep(for: .seconds(2))  // load before the first fault
                let before = await leaders()
                victim = before[1] ?? launcher.config.placement.replicas(of: 1)[0]
                let held = try await membership.userShardViews(count: membership.userShardCount()).filter {
                    ClusterMembership.members($0.value).contains(victim)
                }
                .keys.sorted()
                let killAt = now()
                launcher.signal(node: victim, SIGKILL)
                if let data = launcher.config.node(victim)?.data { try FileManager.default.removeItem(atPath: data) }
                steps.add("node \(victim) killed for good, its data deleted (it held user shards \(held))")
                try await Task.sleep(for: .seconds(options.faultSeconds))
                try await membership.addNode(spare, shards: [])
                for shard in held {
                    try await membership.addMember(shard, spare)
                    underReplicated["\(shard)"] = now() - killAt
                }
                for shard in held { try await membership.removeMember(shard, victim) }
                try await membership.removeMember(0, victim)
                rounds.append(
                    Round(
                        round: 1, fault: .kill, target: victim,
                        ledShards: before.filter { $0.value == victim }.map(\.key).sorted(),
                        faultAt: killAt, healAt: now(), note: "killed for good; replaced by node \(spare)"))
                try await Task.sleep(for: .seconds(options.settleSeconds))

                let now2 = await leaders()
                guard
                    let second = now2.filter({ $0.key != 0 && $0.value != spare }).map(\.value).min()
                        ?? launcher.config.placement.nodes.first(where: { $0 != victim })
                else { throw DrillError("no node other than the dead one and the spare to kill") }
                let killAt2 = now()
                launcher.signal(node: second, SIGKILL)
                steps.add(
                    "node \(second) killed (leader of shards \(now2.filter { $0.value == second }.map(\.key).sorted()))"
                )
                try await Task.sleep(for: .seconds(options.faultSeconds))
                let during = await leaders()
                try launcher.start(node: second)
                let healAt2 = now()
                steps.add("node \(second) restarted")
                if let missing = await waitCaughtUp(second, timeout: 30, without: [victim]) {
                    steps.add("the cluster had not settled 30 s after the restart (\(missing))")
                }
                let led2 = now2.filter { $0.value == second }.map(\.key).sorted()
                var newLeaders: [String: UInt64] = [:]
                for sh in led2 { if let l = during[sh] { newLeaders["\(sh)"] = l } }
                rounds.append(
                    Round(
                        round: 2, fault: .kill, target: second, ledShards: led2, faultAt: killAt2, healAt: healAt2,
                        newLeaders: newLeaders, note: "killed, restarted after \(options.faultSeconds) s"))
                try await Task.sleep(for: .seconds(options.settleSeconds))
            } catch {
                let why = "the replacement stopped: \(error)"
                failure = why
                steps.add(why)
            }
            lock.withLock { running = false }
        }
        let loadEnd = now()
        log("load stopped after \(String(format: "%.1f", loadEnd - loadStart)) s; verifying")
        measure(&rounds, loadEnd: loadEnd)
        _ = await waitCaughtUp(spare, timeout: 60, without: [victim])
        let (missing, unverifiable) = await verifySignUps(s)
        var report = await verdict(
            s, rounds: rounds, seconds: loadEnd - loadStart, missing: missing, unverifiable: unverifiable)
        if let failure { report.failures.insert(failure, at: 0) }
        report.underReplicatedSeconds = underReplicated
        report.steps = steps.lines
        return report
    }
}

/// The replacement's steps, each with the drill's clock, printed as they happen.
///
/// `@unchecked Sendable`: `lines` is guarded by `lock`.
final class StepLog: @unchecked Sendable {
    private let lock = NSLock()
    private var kept: [String] = []
    let clock: @Sendable () -> Double
    let log: @Sendable (String) -> Void

    init(clock: @escaping @Sendable () -> Double, log: @escaping @Sendable (String) -> Void) {
        self.clock = clock
        self.log = log
    }

    func add(_ line: String) {
        let stamped = String(format: "%7.2f s  ", clock()) + line
        lock.withLock { kept.append(stamped) }
        log(stamped)
    }

    var lines: [String] { lock.withLock { kept } }
}
