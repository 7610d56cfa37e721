import Foundation
import NodeRPC
import Sharding
import UserPool

/// `cognate drill failover`: a mixed Cognito load against a cluster this process started,
/// one fault per round, then a verdict on what the clients were told.
///
/// The load: sign-ups (each acknowledged one must exist at the end), attribute updates of a
/// few users used as registers (`nickname` written by writers, read back by readers with
/// AdminGetUser, checked for linearizability), and sign-ins. Probes write to one user per
/// shard every 50 ms; a round's recovery time is from the fault to the first probe started
/// after it that each shard acknowledges.
public final class FailoverDrill: @unchecked Sendable {
    public enum Fault: String, CaseIterable, Codable, Sendable { case kill, pause, partition }
    public enum Target: String, CaseIterable, Codable, Sendable { case leader, follower, random }

    public struct Options: Sendable {
        public var rounds = 10
        public var fault = Fault.kill
        public var target = Target.leader
        /// How long each fault lasts before the node is restarted / resumed / reconnected.
        public var faultSeconds = 3.0
        /// Time after healing, before the next round, for the node to catch up.
        public var settleSeconds = 2.0
        /// A shard must acknowledge a write within this long after every fault.
        public var maxRecoverySeconds = 2.0
        public var registers = 4
        public var writers = 3
        public var readers = 3
        public var signUpWorkers = 2
        public var signInWorkers = 1
        /// Pause between one worker's operations.
        public var pace = 0.02
        public var requestTimeout = 8.0
        public var seed: UInt64 = UInt64(Date().timeIntervalSince1970)
        public init() {}
    }

    public struct Round: Codable, Sendable {
        public var round: Int
        public var fault: Fault
        public var target: UInt64
        /// Shards the target led when the fault began.
        public var ledShards: [UInt32]
        public var faultAt: Double
        public var healAt: Double
        /// Per user shard: seconds from the fault to the first acknowledged probe started after it.
        public var recovery: [String: Double] = [:]
        /// The slowest shard's recovery (nil: some shard never acknowledged a write).
        public var recoverySeconds: Double?
        /// Leaders of the shards the target led, once the fault was on (before healing).
        public var newLeaders: [String: UInt64] = [:]
        /// First to last failed client operation that ended between this fault and the next.
        public var errorWindowSeconds: Double = 0
        public var failedOperations: Int = 0
        /// The longest client operation that ended in this round (failover shows as latency
        /// when the front retries on the new leader within its deadline).
        public var slowestOperationSeconds: Double = 0
    }

    public struct Report: Codable, Sendable {
        public var fault: Fault
        public var target: Target
        public var rounds: [Round]
        public var seconds: Double
        public var operations: [String: Int]
        public var errors: [String: Int]
        public var acknowledgedSignUps: Int
        public var unknownSignUps: Int
        public var missingSignUps: [String]
        public var registerOperations: Int
        public var lostUpdates: [String]
        public var violations: [String]
        public var signInsRefused: Int
        public var slowRounds: [Int]
        public var failures: [String]
        public var passed: Bool { failures.isEmpty }
    }

    /// What happened to one client operation, for the timeline.
    struct Outcome: Sendable {
        var start: Double
        var end: Double
        var ok: Bool
        var type: String
    }

    let launcher: ClusterLauncher
    let endpoint: String
    let options: Options
    let network: PartitionNetwork?
    let client: CognitoHTTPClient
    let nodes: NodeClient
    let started = ContinuousClock.now

    private let lock = NSLock()
    private var running = true
    private var history: [RegisterOperation] = []
    private var acknowledged: [String] = []
    private var unknownSignUps = 0
    private var refused = 0
    private var outcomes: [Outcome] = []
    private var counts: [String: Int] = [:]
    private var errors: [String: Int] = [:]
    private var probes: [UInt32: [(invoke: Double, complete: Double)]] = [:]
    private var probesInFlight = 0

    public init(launcher: ClusterLauncher, endpoint: String, accessKey: String, secretKey: String, region: String,
                options: Options, network: PartitionNetwork?) throws {
        self.launcher = launcher
        self.endpoint = endpoint
        self.options = options
        self.network = network
        client = try CognitoHTTPClient(endpoint: endpoint, region: region, accessKey: accessKey, secretKey: secretKey, timeout: options.requestTimeout)
        nodes = try NodeClient(config: launcher.config)
    }

    func now() -> Double {
        let d = ContinuousClock.now - started
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    var isRunning: Bool { lock.withLock { running } }

    // MARK: Set-up

    struct Setup {
        var pool: String
        var clientId: String
        var probeUsers: [UInt32: String]
    }

    static let password = "Drill-Passw0rd!"
    static let initial = "init"

    func setUp(log: (String) -> Void) async throws -> Setup {
        let p = try await client.call("CreateUserPool", ["PoolName": "cognate-drill"], signed: true)
        guard let pool = (p["UserPool"] as? [String: Any])?["Id"] as? String else { throw DrillError("CreateUserPool returned no pool id") }
        let c = try await client.call("CreateUserPoolClient", [
            "UserPoolId": pool, "ClientName": "drill", "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        ], signed: true)
        guard let clientId = (c["UserPoolClient"] as? [String: Any])?["ClientId"] as? String else { throw DrillError("CreateUserPoolClient returned no client id") }
        let shards = launcher.config.placement.shards
        var probeUsers: [UInt32: String] = [:]
        var i = 0
        while probeUsers.count < shards {
            let name = "probe-\(i)"
            let shard = UserPoolKeys.userShard(pool: pool, canonical: name, userShards: shards)
            if probeUsers[shard] == nil { probeUsers[shard] = name }
            i += 1
        }
        let users = (0..<options.registers).map { "reg-\($0)" } + (0..<max(1, options.signInWorkers)).map { "signin-\($0)" } + probeUsers.values.sorted()
        for name in users {
            _ = try await client.call("AdminCreateUser", [
                "UserPoolId": pool, "Username": name, "MessageAction": "SUPPRESS", "TemporaryPassword": "Temp-Passw0rd!",
                "UserAttributes": [["Name": "nickname", "Value": Self.initial]],
            ], signed: true)
            _ = try await client.call("AdminSetUserPassword", ["UserPoolId": pool, "Username": name, "Password": Self.password, "Permanent": true], signed: true)
        }
        log("pool \(pool): \(options.registers) registers, \(options.signInWorkers) sign-in users, a probe user on each of \(shards) shards")
        return Setup(pool: pool, clientId: clientId, probeUsers: probeUsers)
    }

    // MARK: Load

    func record(_ kind: String, began: Double, error: Error?) {
        let end = now()
        lock.withLock {
            counts[kind, default: 0] += 1
            if let error {
                let type = (error as? CognitoHTTPClient.CallError)?.type ?? "\(type(of: error))"
                errors[type, default: 0] += 1
                outcomes.append(Outcome(start: began, end: end, ok: false, type: type))
            } else {
                outcomes.append(Outcome(start: began, end: end, ok: true, type: kind))
            }
        }
    }

    static func isUnknown(_ error: Error) -> Bool {
        guard let e = error as? CognitoHTTPClient.CallError else { return true }
        return !e.isDefinite
    }

    func writer(_ w: Int, _ s: Setup) async {
        var seq = 0
        while isRunning {
            let register = "reg-\((seq + w) % options.registers)"
            let value = "w\(w)-\(seq)"
            seq += 1
            let invoke = now()
            do {
                _ = try await client.call("AdminUpdateUserAttributes", [
                    "UserPoolId": s.pool, "Username": register, "UserAttributes": [["Name": "nickname", "Value": value]],
                ], signed: true)
                let done = now()
                lock.withLock { history.append(RegisterOperation(register: register, client: w, kind: .write, value: value, invoke: invoke, complete: done)) }
                record("update", began: invoke, error: nil)
            } catch {
                if Self.isUnknown(error) {
                    lock.withLock { history.append(RegisterOperation(register: register, client: w, kind: .write, value: value, invoke: invoke, complete: nil)) }
                }
                record("update", began: invoke, error: error)
            }
            try? await Task.sleep(for: .seconds(options.pace))
        }
    }

    func readRegister(_ register: String, client id: Int, _ s: Setup) async throws {
        let invoke = now()
        let r = try await client.call("AdminGetUser", ["UserPoolId": s.pool, "Username": register], signed: true)
        let done = now()
        let attributes = r["UserAttributes"] as? [[String: Any]] ?? []
        let value = attributes.first { $0["Name"] as? String == "nickname" }?["Value"] as? String
        lock.withLock { history.append(RegisterOperation(register: register, client: id, kind: .read, value: value, invoke: invoke, complete: done)) }
    }

    func reader(_ r: Int, _ s: Setup) async {
        var seq = 0
        while isRunning {
            let register = "reg-\((seq + r) % options.registers)"
            seq += 1
            let invoke = now()
            do {
                try await readRegister(register, client: 100 + r, s)
                record("read", began: invoke, error: nil)
            } catch {
                record("read", began: invoke, error: error)
            }
            try? await Task.sleep(for: .seconds(options.pace))
        }
    }

    func signUpWorker(_ w: Int, _ s: Setup) async {
        var seq = 0
        while isRunning {
            let name = "su-\(w)-\(seq)"
            seq += 1
            let invoke = now()
            do {
                _ = try await client.call("SignUp", ["ClientId": s.clientId, "Username": name, "Password": Self.password])
                lock.withLock { acknowledged.append(name) }
                record("signup", began: invoke, error: nil)
            } catch {
                if Self.isUnknown(error) { lock.withLock { unknownSignUps += 1 } }
                record("signup", began: invoke, error: error)
            }
            try? await Task.sleep(for: .seconds(options.pace))
        }
    }

    func signInWorker(_ w: Int, _ s: Setup) async {
        while isRunning {
            let invoke = now()
            do {
                _ = try await client.call("InitiateAuth", [
                    "ClientId": s.clientId, "AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": ["USERNAME": "signin-\(w)", "PASSWORD": Self.password],
                ])
                record("signin", began: invoke, error: nil)
            } catch {
                if (error as? CognitoHTTPClient.CallError)?.type == "NotAuthorizedException" { lock.withLock { refused += 1 } }
                record("signin", began: invoke, error: error)
            }
            try? await Task.sleep(for: .seconds(options.pace))
        }
    }

    /// Starts a probe write to every shard's probe user every 50 ms, not waiting for answers.
    func prober(_ s: Setup) async {
        var seq = 0
        await withTaskGroup(of: Void.self) { group in
            while isRunning {
                seq += 1
                for (shard, user) in s.probeUsers {
                    let busy = lock.withLock { () -> Bool in
                        if probesInFlight >= 200 { return true }
                        probesInFlight += 1
                        return false
                    }
                    if busy { continue }
                    group.addTask { [seq] in
                        let invoke = self.now()
                        let ok = (try? await self.client.call("AdminUpdateUserAttributes", [
                            "UserPoolId": s.pool, "Username": user, "UserAttributes": [["Name": "nickname", "Value": "probe-\(seq)"]],
                        ], signed: true)) != nil
                        let done = self.now()
                        self.lock.withLock {
                            self.probesInFlight -= 1
                            if ok { self.probes[shard, default: []].append((invoke, done)) }
                        }
                    }
                }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    // MARK: Faults

    /// Each shard's leader by the nodes that answer within a second (the highest term wins).
    func leaders() async -> [UInt32: UInt64] {
        let statuses = await withTaskGroup(of: NodeStatus?.self) { group in
            for n in launcher.config.nodes {
                group.addTask { try? await self.nodes.status(node: n.id, timeout: .seconds(1)) }
            }
            var all: [NodeStatus] = []
            for await s in group { if let s { all.append(s) } }
            return all
        }
        var out: [UInt32: (term: UInt64, node: UInt64)] = [:]
        for st in statuses {
            for sh in st.shards where sh.role == "leader" {
                if out[sh.shard].map({ $0.term < sh.term }) ?? true { out[sh.shard] = (sh.term, st.node) }
            }
        }
        return out.mapValues(\.node)
    }

    func inject(_ fault: Fault, on node: UInt64) throws {
        switch fault {
        case .kill: launcher.signal(node: node, SIGKILL)
        case .pause: launcher.signal(node: node, SIGSTOP)
        case .partition:
            guard let network else { throw DrillError("no partition network") }
            try network.isolate(node)
        }
    }

    func heal(_ fault: Fault, on node: UInt64) throws {
        switch fault {
        case .kill: try launcher.start(node: node)
        case .pause: launcher.signal(node: node, SIGCONT)
        case .partition: try network?.heal(node)
        }
    }

    /// Waits until every node answers, every shard has a leader and `node` has applied to
    /// within 5 entries of each leader's commit; returns what was still missing when
    /// `timeout` ran out, or nil.
    func waitCaughtUp(_ node: UInt64, timeout: Double) async -> String? {
        let deadline = now() + timeout
        var missing = "no poll finished"
        while now() < deadline {
            let poll = await ClusterPoll.poll(launcher.config, with: nodes)
            let commits = poll.leaderCommits
            let behind = poll.statuses.first { $0.node == node }?.shards.filter { $0.applied + 5 < commits[$0.shard] ?? 0 }.map(\.shard) ?? []
            if poll.settled, behind.isEmpty { return nil }
            missing = [poll.missing, behind.isEmpty ? "" : "node \(node) behind on shard(s) \(behind.map(String.init).joined(separator: ", "))"]
                .filter { !$0.isEmpty }.joined(separator: "; ")
            try? await Task.sleep(for: .milliseconds(100))
        }
        return missing
    }

    // MARK: The drill

    /// Runs the rounds under load, then verifies. `plant` (tests only) is called with the
    /// nodes stopped and one acknowledged sign-up, to delete it behind the cluster's back.
    public func run(log: @escaping @Sendable (String) -> Void, plant: ((_ pool: String, _ username: String) throws -> Void)? = nil) async throws -> Report {
        let s = try await setUp(log: log)
        var rng = SplitMixRandom(seed: options.seed)
        var rounds: [Round] = []
        let loadStart = now()
        await withTaskGroup(of: Void.self) { group in
            for w in 0..<options.writers { group.addTask { await self.writer(w, s) } }
            for r in 0..<options.readers { group.addTask { await self.reader(r, s) } }
            for w in 0..<options.signUpWorkers { group.addTask { await self.signUpWorker(w, s) } }
            for w in 0..<options.signInWorkers { group.addTask { await self.signInWorker(w, s) } }
            group.addTask { await self.prober(s) }
            try? await Task.sleep(for: .seconds(2))  // load before the first fault
            let userShards = launcher.config.placement.allShards.filter { $0 != 0 }
            for index in 0..<options.rounds {
                let before = await leaders()
                let shard = userShards[index % userShards.count]
                let replicas = launcher.config.placement.replicas(of: shard)
                let leader = before[shard] ?? replicas[0]
                let target: UInt64
                switch options.target {
                case .leader: target = leader
                case .follower:
                    // A follower of this shard, preferring those that lead the fewest shards
                    // (none, where there are more nodes than shards; in a three-node cluster
                    // every node leads one).
                    let followers = replicas.filter { $0 != leader }
                    let shardsLed = { (node: UInt64) in before.values.filter { $0 == node }.count }
                    let fewest = followers.map(shardsLed).min()
                    let least = followers.filter { shardsLed($0) == fewest }
                    target = least.isEmpty ? leader : least[index % least.count]
                case .random: target = launcher.config.nodes[Int(rng.next() % UInt64(launcher.config.nodes.count))].id
                }
                let led = before.filter { $0.value == target }.map(\.key).sorted()
                let faultAt = now()
                do {
                    try inject(options.fault, on: target)
                } catch {
                    log("round \(index + 1): could not inject \(options.fault): \(error)")
                }
                let leads = led.isEmpty ? "leader of no shard" : "leader of shards \(led.map(String.init).joined(separator: ","))"
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
                rounds.append(Round(round: index + 1, fault: options.fault, target: target, ledShards: led, faultAt: faultAt, healAt: healAt, newLeaders: newLeaders))
            }
            lock.withLock { running = false }
        }
        let loadEnd = now()
        log("load stopped after \(String(format: "%.1f", loadEnd - loadStart)) s; verifying")

        // Recovery and error windows per round.
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

        var planted: String?
        if let plant, let victim = lock.withLock({ acknowledged.last }) {
            log("planting a lost write: deleting acknowledged user \(victim) from every node's storage")
            for n in launcher.config.nodes { launcher.signal(node: n.id, SIGTERM) }
            try plant(s.pool, victim)
            for n in launcher.config.nodes { try launcher.start(node: n.id) }
            planted = victim
        }
        _ = try await launcher.waitForLeaders(timeout: .seconds(60))

        // Verification: every acknowledged sign-up, a final read of every register.
        var missing: [String] = []
        var unverifiable: [String] = []
        let signUps = lock.withLock { acknowledged }
        for name in signUps {
            var answer: Error?
            for _ in 0..<5 {
                do {
                    _ = try await client.call("AdminGetUser", ["UserPoolId": s.pool, "Username": name], signed: true)
                    answer = nil
                    break
                } catch {
                    answer = error
                    if (error as? CognitoHTTPClient.CallError)?.type == "UserNotFoundException" { break }
                    try? await Task.sleep(for: .milliseconds(500))
                }
            }
            if let e = answer as? CognitoHTTPClient.CallError, e.type == "UserNotFoundException" { missing.append(name) } else if let answer { unverifiable.append("\(name): \(answer)") }
        }
        for k in 0..<options.registers {
            do { try await readRegister("reg-\(k)", client: 999, s) } catch { unverifiable.append("final read of reg-\(k): \(error)") }
        }
        let ops = lock.withLock { history }
        let initial = Dictionary(uniqueKeysWithValues: (0..<options.registers).map { ("reg-\($0)", Self.initial) })
        let lost = Self.lostUpdates(ops, initial: initial)
        let violations = RegisterChecker.check(ops, initial: initial)

        var failures: [String] = []
        if !missing.isEmpty { failures.append("\(missing.count) acknowledged sign-up(s) missing: \(missing.prefix(10).joined(separator: ", "))") }
        if !unverifiable.isEmpty { failures.append("\(unverifiable.count) check(s) could not be made: \(unverifiable.prefix(3).joined(separator: "; "))") }
        failures += lost.map { "lost update: \($0)" }
        failures += violations.map { "linearizability: \($0)" }
        let refusedCount = lock.withLock { refused }
        if refusedCount > 0 { failures.append("\(refusedCount) sign-in(s) with the right password were refused") }
        let slow = rounds.filter { ($0.recoverySeconds ?? .infinity) > options.maxRecoverySeconds }.map(\.round)
        if !slow.isEmpty { failures.append("round(s) \(slow.map(String.init).joined(separator: ", ")): a shard took longer than \(options.maxRecoverySeconds) s to acknowledge a write") }
        if let planted, missing.contains(planted) { log("the planted lost write (\(planted)) was detected") }

        return lock.withLock {
            Report(fault: options.fault, target: options.target, rounds: rounds, seconds: loadEnd - loadStart, operations: counts, errors: errors,
                   acknowledgedSignUps: acknowledged.count, unknownSignUps: unknownSignUps, missingSignUps: missing,
                   registerOperations: ops.count, lostUpdates: lost, violations: violations.map(\.description),
                   signInsRefused: refused, slowRounds: slow, failures: failures)
        }
    }

    /// An acknowledged write is lost when a register's final value was written by a write
    /// that had been answered before the acknowledged one began: nothing can order the
    /// final value after it.
    static func lostUpdates(_ ops: [RegisterOperation], initial: [String: String]) -> [String] {
        var out: [String] = []
        for register in Set(ops.map(\.register)).sorted() {
            let mine = ops.filter { $0.register == register }
            guard let final = mine.filter({ $0.kind == .read }).max(by: { $0.invoke < $1.invoke }) else { continue }
            let source = mine.first { $0.kind == .write && $0.value == final.value }
            let sourceDone: Double
            if let source {
                guard let c = source.complete else { continue }  // an unknown write may land last
                sourceDone = c
            } else if final.value == initial[register] {
                sourceDone = -.infinity
            } else {
                out.append("register \(register): the final value \(final.value ?? "(none)") was never written")
                continue
            }
            if let overwritten = mine.first(where: { $0.kind == .write && $0.complete != nil && $0.invoke > sourceDone && $0.complete! < final.invoke }) {
                out.append("register \(register): acknowledged write \"\(overwritten.value ?? "")\" (answered at \(String(format: "%.3f", overwritten.complete!)) s) is lost; "
                    + "the final value \"\(final.value ?? "")\" was written before it began")
            }
        }
        return out
    }

    /// Client operations per 250 ms (succeeded / failed), for the SVG timeline.
    public func timeline() -> [(t: Double, ok: Int, failed: Int)] {
        let all = lock.withLock { outcomes }
        guard let last = all.map(\.end).max() else { return [] }
        var buckets = [(t: Double, ok: Int, failed: Int)]((0...Int(last / 0.25)).map { (Double($0) * 0.25, 0, 0) })
        for o in all {
            let i = Int(o.end / 0.25)
            if o.ok { buckets[i].ok += 1 } else { buckets[i].failed += 1 }
        }
        return buckets
    }

    public func registerHistory() -> [RegisterOperation] { lock.withLock { history } }

    public func close() async { await nodes.close() }
}

public struct DrillError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// SplitMix64: the drill's target choice, reproducible from --seed (and the checker
/// tests' generated histories).
public struct SplitMixRandom: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The drill's SVG timeline: client operations per 250 ms, faults shaded, recovery marked.
public enum DrillChart {
    public static func svg(_ report: FailoverDrill.Report, timeline: [(t: Double, ok: Int, failed: Int)]) -> String {
        let w = 1000.0, h = 360.0, left = 60.0, right = 20.0, top = 40.0, bottom = 50.0
        let plotW = w - left - right, plotH = h - top - bottom
        let span = max(1, timeline.last.map { $0.t + 0.25 } ?? 1)
        let peak = Double(max(1, timeline.map { max($0.ok, $0.failed) }.max() ?? 1)) * 1.1
        func x(_ t: Double) -> Double { left + plotW * t / span }
        func y(_ v: Double) -> Double { top + plotH * (1 - v / peak) }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(w))" height="\(Int(h))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(f(left))" y="20" font-size="14">Failover drill (\(report.fault.rawValue), target \(report.target.rawValue)): client operations per 250 ms, succeeded (green) and failed (red); faults shaded</text>

            """
        for r in report.rounds {
            out += "<rect x=\"\(f(x(r.faultAt)))\" y=\"\(f(top))\" width=\"\(f(max(1, x(r.healAt) - x(r.faultAt))))\" height=\"\(f(plotH))\" fill=\"#fde0c5\"/>\n"
            out += "<text x=\"\(f(x(r.faultAt) + 2))\" y=\"\(f(top + 12))\">\(r.round): node \(r.target)</text>\n"
            if let rec = r.recoverySeconds {
                out += "<line x1=\"\(f(x(r.faultAt + rec)))\" y1=\"\(f(top))\" x2=\"\(f(x(r.faultAt + rec)))\" y2=\"\(f(top + plotH))\" stroke=\"#1f77b4\" stroke-dasharray=\"3,3\"/>\n"
            }
        }
        out += "<line x1=\"\(f(left))\" y1=\"\(f(top + plotH))\" x2=\"\(f(left + plotW))\" y2=\"\(f(top + plotH))\" stroke=\"black\"/>\n"
        out += "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotH))\" stroke=\"black\"/>\n"
        for k in 0...4 {
            let v = peak * Double(k) / 4
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(y(v) + 4))\" text-anchor=\"end\">\(Int(v))</text>\n"
        }
        let ticks = Int(span / 10)
        for k in 0...max(0, ticks) {
            out += "<text x=\"\(f(x(Double(k) * 10)))\" y=\"\(f(top + plotH + 16))\" text-anchor=\"middle\">\(k * 10)</text>\n"
        }
        out += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(h - 10))\" text-anchor=\"middle\">seconds (dashed blue: every shard acknowledging writes again)</text>\n"
        let ok = timeline.map { "\(f(x($0.t + 0.125))),\(f(y(Double($0.ok))))" }.joined(separator: " ")
        let bad = timeline.map { "\(f(x($0.t + 0.125))),\(f(y(Double($0.failed))))" }.joined(separator: " ")
        out += "<polyline fill=\"none\" stroke=\"#2ca02c\" stroke-width=\"1.5\" points=\"\(ok)\"/>\n"
        out += "<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.5\" points=\"\(bad)\"/>\n"
        return out + "</svg>\n"
    }
}
