import ArgumentParser
import Foundation
import Node
import NodeRPC
import Ops
import Sharding
import Storage
import UserPool

struct Drill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Failure drills against a cluster this command starts.",
        subcommands: [Failover.self]
    )

    struct Failover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Inject a fault per round under a mixed Cognito load; verify no acknowledged write is lost.",
            discussion: """
                Starts the definition's nodes and a front as child processes (data in a fresh \
                directory), creates a pool, and runs sign-ups, attribute updates of a few users used \
                as registers, reads of them, sign-ins and per-shard write probes. Each round injects \
                the fault into the target node: kill (SIGKILL, restarted after --fault-seconds), pause \
                (SIGSTOP, then SIGCONT) or partition (the node's link in its own network namespace is \
                cut, then restored; needs root and `ip netns`, otherwise the drill says so and skips). \
                At the end it checks that every acknowledged sign-up exists, that no acknowledged \
                attribute update was lost and that the register history is linearizable, prints a \
                table, writes drill.json, history.json and drill.svg to --out, and exits 1 on any lost \
                write, violation, or shard that took longer than --max-recovery to take writes again. \
                A failed drill keeps its temporary data and node logs; Ctrl-C or SIGTERM stops \
                everything the drill started and exits 130.
                """
        )

        @Option(help: "Cluster definition (TOML); its ports must be free.")
        var config: String = "Cluster/local.toml"

        @Option(help: "Rounds (one fault each).")
        var rounds: Int = 10

        @Option(help: "kill, pause or partition.")
        var fault: String = "kill"

        @Option(
            help: ArgumentHelp(
                "leader (of the round's shard), follower (of it) or random.",
                discussion:
                    "A follower is chosen among those leading the fewest shards; in a three-node cluster each node "
                    + "leads one, so the fault also moves that shard's lead."
            ))
        var target: String = "leader"

        @Option(help: "Seconds each fault lasts.")
        var faultSeconds: Double = 3

        @Option(help: "Seconds after healing before the next round.")
        var settleSeconds: Double = 2

        @Option(help: "Seconds within which every shard must take writes again after a fault.")
        var maxRecovery: Double = 2

        @Option(
            help: ArgumentHelp(
                "Data directory for the drill's cluster (default: a fresh one under /tmp, removed afterwards unless "
                    + "the drill fails).")
        )
        var data: String?

        @Option(help: "Directory for drill.json, history.json and drill.svg.")
        var out: String?

        @Option(help: "Seed of the random target choice.")
        var seed: UInt64?

        @Flag(help: "Print the report as JSON.")
        var json = false

        @Flag(help: .hidden)
        var plantLostWrite = false

        @Option(
            help: ArgumentHelp(
                "rounds (--rounds faults) or replace.",
                discussion:
                    "replace: the leader of shard 1 is killed for good and its data deleted; a spare node (the "
                    + "definition's `join = true` node, or one added on the next ports) joins each shard it held "
                    + "as a learner, catches up and becomes a voter; the dead node is removed; then another node is "
                    + "killed for --fault-seconds and restarted. Reports how long each shard ran with fewer than "
                    + "three live replicas."
            ))
        var scenario: String = "rounds"

        func validate() throws {
            guard (1...1000).contains(rounds) else { throw ValidationError("--rounds must be in 1...1000") }
            guard FailoverDrill.Fault(rawValue: fault) != nil else {
                throw ValidationError("--fault must be kill, pause or partition")
            }
            guard FailoverDrill.Target(rawValue: target) != nil else {
                throw ValidationError("--target must be leader, follower or random")
            }
            guard faultSeconds > 0, faultSeconds <= 60, settleSeconds >= 0, settleSeconds <= 60 else {
                throw ValidationError("--fault-seconds and --settle-seconds must be in 0...60")
            }
            guard ["rounds", "replace"].contains(scenario) else {
                throw ValidationError("--scenario must be rounds or replace")
            }
            guard scenario == "rounds" || fault == "kill" else {
                throw ValidationError("--scenario replace kills nodes; it takes no --fault")
            }
        }

        /// The drill's options from the flags (validated in `validate`).
        var options: FailoverDrill.Options {
            var options = FailoverDrill.Options()
            options.rounds = rounds
            options.fault = FailoverDrill.Fault(rawValue: fault) ?? .kill
            options.target = FailoverDrill.Target(rawValue: target) ?? .leader
            options.faultSeconds = faultSeconds
            options.settleSeconds = settleSeconds
            options.maxRecoverySeconds = maxRecovery
            if let seed { options.seed = seed }
            return options
        }

        /// The cluster's launcher; for a partition drill, each node on its namespace's address.
        func launcher(dataRoot: String, network: PartitionNetwork?) throws -> ClusterLauncher {
            try ClusterLauncher(configPath: config, data: dataRoot, nodes: nil, executable: currentExecutable()) {
                [scenario] c in
                if scenario == "replace", !c.nodes.contains(where: \.joinsLater), let last = c.nodes.last,
                    var peer = try? HostPort(last.peer), var admin = try? HostPort(last.admin)
                {
                    // The spare that replaces the dead node: on the next ports, joining later.
                    peer.port += 1
                    admin.port += 1
                    c.nodes.append(
                        .init(
                            id: c.nodes.map(\.id).max()! + 1, peer: peer.description, admin: admin.description,
                            data: last.data, join: true))
                }
                guard network != nil else { return }
                for i in c.nodes.indices {
                    let address = PartitionNetwork.address(c.nodes[i].id)
                    c.nodes[i].peer = "\(address):\((try? HostPort(c.nodes[i].peer).port) ?? 7100 + Int(c.nodes[i].id))"
                    c.nodes[i].admin =
                        "\(address):\((try? HostPort(c.nodes[i].admin).port) ?? 7200 + Int(c.nodes[i].id))"
                }
            }
        }

        /// drill.json, history.json and drill.svg under --out; the report on standard output.
        func publish(_ report: FailoverDrill.Report, of drill: FailoverDrill) throws {
            if let out {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try encoder.encode(report).write(to: URL(fileURLWithPath: "\(out)/drill.json"))
                try encoder.encode(drill.registerHistory()).write(to: URL(fileURLWithPath: "\(out)/history.json"))
                try DrillChart.svg(report, timeline: drill.timeline()).write(
                    toFile: "\(out)/drill.svg", atomically: true, encoding: .utf8)
            }
            if json {
                try printJSON(report)
            } else {
                print(Self.table(report))
                if let out { print("wrote \(out)/drill.json, \(out)/history.json, \(out)/drill.svg") }
            }
            fflush(nil)
        }

        func run() async throws {
            let options = self.options
            let definition = try ClusterConfig.load(path: config)
            var network: PartitionNetwork?
            if options.fault == .partition {
                if let why = PartitionNetwork.unavailableReason() {
                    print("cognate drill: skipping the partition fault: \(why)")
                    return
                }
                guard definition.nodes.allSatisfy({ $0.id < 254 }) else {
                    throw ValidationError("the partition drill needs node ids below 254")
                }
                network = PartitionNetwork(nodes: definition.nodes.map(\.id))
            }
            // Caught from here on: Ctrl-C or SIGTERM stops what the drill started (see below).
            let signals = TerminationSignals()
            let dataRoot = data ?? NSTemporaryDirectory() + "cognate-drill-\(getpid())"
            if data == nil { try? FileManager.default.removeItem(atPath: dataRoot) }
            let launcher = try launcher(dataRoot: dataRoot, network: network)
            guard let key = launcher.config.admin_keys?.first?.split(separator: ":", maxSplits: 1).map(String.init),
                key.count == 2
            else {
                throw ValidationError("the definition has no admin_keys; the drill needs one to create its pool")
            }
            if let network {
                try network.setUp()
                launcher.nodePrefix = { network.prefix($0) }
            }
            // A temporary data directory goes at the end, unless the nodes ran and the drill
            // failed or stopped on an error: then it stays, with the node logs, and the drill
            // says where.
            var keep = false
            defer {
                network?.tearDown()
                if data == nil {
                    if keep {
                        FileHandle.standardError.write(
                            Data("cognate drill: kept the data and node logs in \(dataRoot)\n".utf8))
                    } else {
                        try? FileManager.default.removeItem(atPath: dataRoot)
                    }
                }
            }
            // Interrupted, the drill has no verdict: it stops its nodes and front, removes its
            // namespaces (and a temporary data directory) and exits 130.
            signals.onSignal { [data, network] in
                launcher.stopAll()
                network?.tearDown()
                if data == nil { try? FileManager.default.removeItem(atPath: dataRoot) }
                FileHandle.standardError.write(
                    Data("cognate drill: interrupted; every process it started is stopped\n".utf8))
                Glibc.exit(130)
            }
            let front = try launcher.frontAddresses(1)[0]
            try launcher.checkAddressesFree(fronts: [front])
            try launcher.prepareSecrets()
            try launcher.startAll()
            let report: FailoverDrill.Report
            let drill: FailoverDrill
            do {
                _ = try await launcher.waitForLeaders()
                try launcher.startFront(index: 0, address: front)
                try await launcher.waitForFronts([front])
                drill = try FailoverDrill(
                    launcher: launcher, endpoint: "http://\(front)", accessKey: key[0], secretKey: key[1],
                    region: launcher.config.region ?? "us-east-1", options: options, network: network)
                let say: @Sendable (String) -> Void = { line in
                    FileHandle.standardError.write(Data("cognate drill: \(line)\n".utf8))
                }
                print(
                    scenario == "replace"
                        ? "cognate drill: replace a dead node, \(launcher.config.nodes.count) nodes (spare "
                            + "\(launcher.config.nodes.filter(\.joinsLater).map(\.id)) joins later), front "
                            + "http://\(front), data \(dataRoot)"
                        : "cognate drill: \(rounds) round(s) of \(fault), target \(target), "
                            + "\(launcher.config.nodes.count) nodes, front http://\(front), data \(dataRoot)"
                )
                fflush(nil)
                if scenario == "replace" {
                    report = try await drill.runReplace(log: say)
                } else {
                    let plant: ((String, String) throws -> Void)? =
                        plantLostWrite
                        ? { pool, user in try Self.forget(user: user, pool: pool, config: launcher.config) } : nil
                    report = try await drill.run(log: say, plant: plant)
                }
            } catch {
                launcher.stopAll()
                keep = true
                throw error
            }
            launcher.stopAll()
            await drill.close()

            try publish(report, of: drill)
            if !report.passed {
                keep = true
                throw ExitCode(1)
            }
        }

        static func table(_ r: FailoverDrill.Report) -> String {
            func ms(_ s: Double?) -> String { s.map { String(format: "%.0f ms", $0 * 1000) } ?? "never" }
            var rows = [
                [
                    "round", "fault", "node", "led shards", "new leaders (shard→node)", "writes again after",
                    "slowest client op", "client error window", "failed ops",
                ]
            ]
            for x in r.rounds {
                rows.append([
                    "\(x.round)", x.fault.rawValue, "\(x.target)",
                    x.ledShards.map(String.init).joined(separator: ",").ifEmpty("-"),
                    x.newLeaders.sorted { $0.key < $1.key }.map { "\($0.key)→\($0.value)" }.joined(separator: " ")
                        .ifEmpty("-"),
                    ms(x.recoverySeconds), ms(x.slowestOperationSeconds), ms(x.errorWindowSeconds),
                    "\(x.failedOperations)",
                ])
            }
            let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max()! }
            var lines = rows.map { row in
                row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                    .joined(separator: "  ")
            }
            let recoveries = r.rounds.compactMap(\.recoverySeconds)
            for x in r.rounds { if let note = x.note { lines.append("round \(x.round): node \(x.target) \(note)") } }
            if let steps = r.steps {
                lines.append("")
                lines.append("steps:")
                lines += steps.map { "  \($0)" }
            }
            if let under = r.underReplicatedSeconds {
                lines.append(
                    "ran with fewer than three live replicas (kill → replacement voter): "
                        + (under.isEmpty
                            ? "no shard"
                            : under.sorted { $0.key < $1.key }.map { "shard \($0.key) \(ms($0.value))" }.joined(
                                separator: ", ")))
            }
            lines.append("")
            lines.append(
                "operations: "
                    + r.operations.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                    + String(format: " in %.1f s", r.seconds) + "; errors: "
                    + (r.errors.isEmpty
                        ? "none"
                        : r.errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
            if let worst = recoveries.max() {
                lines.append("slowest recovery \(ms(worst)), median \(ms(recoveries.sorted()[recoveries.count / 2]))")
            }
            lines.append(
                "acknowledged sign-ups \(r.acknowledgedSignUps) (missing \(r.missingSignUps.count); "
                    + "\(r.unknownSignUps) with an unknown outcome, not required)"
            )
            lines.append(
                "register operations \(r.registerOperations): lost updates \(r.lostUpdates.count), linearizability "
                    + "violations \(r.violations.count)"
            )
            lines.append("sign-ins refused with the right password: \(r.signInsRefused)")
            lines.append(
                r.passed
                    ? "PASSED: no acknowledged write lost, history linearizable, every shard took writes within the "
                        + "limit"
                    : "FAILED:")
            lines += r.failures.map { "  - \($0)" }
            return lines.joined(separator: "\n")
        }

        /// Deletes a user's record from every node's storage, the nodes being stopped: a lost
        /// write planted behind the cluster's back, for testing the drill's checks.
        static func forget(user: String, pool: String, config: ClusterConfig) throws {
            let shard = UserPoolKeys.userShard(pool: pool, canonical: user, userShards: config.placement.shards)
            let key = UserPoolKeys.userRecordKey(shard: shard, pool: pool, canonical: user)
            for n in config.nodes {
                let env = try Environment(path: n.data, options: .init(mapSize: 256 << 20))
                let table = try env.openTable("sm_data")
                _ = try env.write { txn in try txn.delete(key, in: table) }
            }
        }
    }
}

extension String {
    func ifEmpty(_ replacement: String) -> String { isEmpty ? replacement : self }
}
