import ArgumentParser
import Foundation
import NodeRPC
import Ops

struct Cluster: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a local cluster; change which nodes hold which shards while it serves.",
        subcommands: [Up.self, AddNode.self, RemoveNode.self, MoveReplica.self, Rebalance.self, Reshard.self]
    )

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start the storage nodes of a cluster definition on this machine and wait for leaders.",
            discussion: """
                Starts one `cognate node` child process per node of the definition (default \
                Cluster/local.toml: three nodes on 127.0.0.1) and --fronts Cognito API fronts (the \
                first on the definition's `front` address, 127.0.0.1:9229), waits until every shard \
                has a leader and every front answers, prints the endpoint, the admin credentials and \
                an AWS CLI example, and runs until Ctrl-C or SIGTERM, which stop everything cleanly. \
                Data stays in the data directories, so running it again resumes.
                """
        )

        @Option(help: "Cluster definition (TOML).")
        var config: String = "Cluster/local.toml"

        @Option(
            help: ArgumentHelp(
                "Storage nodes: the first N of the definition, or, past its last node on 127.0.0.1, more on the next "
                    + "ports.",
                discussion:
                    "Adding nodes to a data directory that already holds a smaller cluster is refused (that needs "
                    + "Raft membership changes)."
            ))
        var nodes: Int?

        @Option(help: "Cognito API fronts to start (0: storage nodes only).")
        var fronts: Int = 1

        @Option(help: "Put every node's data (and logs) under this directory.")
        var data: String?

        func run() async throws {
            if ClusterConfig.usesEmbeddedDefault(config) {
                print(
                    "cognate: no \(config) in this directory; using the copy built into the binary (three nodes on "
                        + "127.0.0.1)"
                )
            }
            // Caught from here on, so Ctrl-C during start-up stops what has started.
            let signals = TerminationSignals()
            let launcher = try ClusterLauncher(
                configPath: config, data: data, nodes: nodes, executable: currentExecutable())
            let fronts = try launcher.frontAddresses(self.fronts)
            if launcher.config.devInboxEnabled {
                let environment = ProcessInfo.processInfo.environment
                if let why = launcher.config.devInboxRefusal(frontListen: fronts.first, environment: environment) {
                    print("cognate: the local inbox (dev_inbox) stays off: \(why)")
                } else {
                    launcher.devInbox = true
                    launcher.echoCodes = true
                }
            }
            try launcher.checkAddressesFree(fronts: fronts)
            for file in try launcher.prepareSecrets() { print("cognate: created \(file)") }
            launcher.supervise = true
            let gaveUp = GiveUp()
            launcher.onGiveUp = { reason in gaveUp.fire(reason) }
            let statuses: [NodeStatus]
            do {
                statuses = try await signals.cancelling {
                    try launcher.startAll()
                    let statuses = try await launcher.waitForLeaders()
                    try Task.checkCancellation()
                    for (i, a) in fronts.enumerated() { try launcher.startFront(index: i, address: a) }
                    try await launcher.waitForFronts(fronts)
                    return statuses
                }
            } catch {
                launcher.stopAll()
                if signals.received {
                    print("cognate: stopped during start-up; every process it had started is stopped")
                    return
                }
                throw error
            }
            print("cognate: \(launcher.config.nodes.count) node(s) up, every shard has a leader\n")
            print(StatusTable.render(statuses))
            print("")
            for n in launcher.config.nodes {
                print(
                    "node \(n.id): peers and clients on \(n.peer), status http://\(n.admin)/status, data \(n.data), "
                        + "log \(launcher.logPath(node: n.id))"
                )
            }
            print(
                """

                Every connection between these processes is mutual TLS (certificates in \
                \(launcher.config.tls?.dir ?? "the definition's [tls] files")).
                Shard status: \(currentExecutable()) status --config \(launcher.configPath)
                """)
            if let endpoint = fronts.first {
                let keys =
                    (launcher.config.admin_keys ?? []).first?.split(separator: ":", maxSplits: 1).map(String.init) ?? []
                let region = launcher.config.region ?? "us-east-1"
                print(
                    "\nCognito API endpoint: http://\(endpoint)"
                        + (fronts.count > 1
                            ? " (and \(fronts.dropFirst().map { "http://\($0)" }.joined(separator: ", ")))" : ""))
                if keys.count == 2 {
                    print(
                        """
                        Admin credentials (SigV4): access key \(keys[0]), secret \(keys[1]), region \(region)

                        Try it with the AWS CLI:
                          AWS_ACCESS_KEY_ID=\(keys[0]) AWS_SECRET_ACCESS_KEY=\(keys[1]) aws cognito-idp \
                          create-user-pool --pool-name demo --region \(region) --endpoint-url http://\(endpoint)
                        """)
                } else {
                    print(
                        "No admin_keys in the definition: set COGNATE_ADMIN_KEYS=id:secret before starting to use "
                            + "admin operations."
                    )
                }
            }
            print("\nCtrl-C stops the cluster.")
            fflush(nil)
            let reason = await gaveUp.wait(orSignal: signals)
            print("cognate: stopping \(launcher.config.nodes.count) node(s)")
            launcher.stopAll()
            if let reason {
                print("cognate: cluster stopped: \(reason)")
                throw ExitCode(1)
            }
            print("cognate: cluster stopped")
        }
    }
}

/// What every membership command takes: the definition, and a client to its nodes.
struct MembershipOptions: ParsableArguments {
    @Option(help: "Cluster definition (TOML): the seed list of nodes and their addresses.")
    var config: String = "Cluster/local.toml"

    /// Runs `body` with the cluster's membership tool, printing each step with the time.
    func run(_ body: (ClusterMembership) async throws -> Void) async throws {
        let cluster = try ClusterConfig.load(path: config)
        let client = try NodeClient(config: cluster)
        let start = ContinuousClock.now
        let membership = ClusterMembership(config: cluster, client: client) { line in
            let d = ContinuousClock.now - start
            print(
                String(format: "[%7.1f s] ", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
                    + line)
        }
        do {
            try await body(membership)
        } catch {
            await client.close()
            throw error
        }
        await client.close()
    }
}

extension Cluster {
    struct AddNode: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-node",
            abstract: "Add a running node to the cluster: shard 0 and the --shard(s) named.",
            discussion: """
                The node must be running and start with no replicas: in the definition with \
                `join = true` (`cognate node --config FILE --id N`), or not in it at all (`cognate node \
                --config FILE --id N --peer … --admin … --data …`, and here --peer and --admin: the \
                addresses then live in the cluster's replicated state, so every node and front finds \
                it). For each shard it gets an empty replica, joins as a learner, fills from the \
                leader's snapshot and log, and becomes a voter once it has caught up. Without --shard \
                it joins only shard 0; `cognate cluster rebalance` then moves user-shard replicas \
                onto it.
                """)

        @OptionGroup var options: MembershipOptions

        @Option(help: "The node's id.")
        var id: UInt64

        @Option(name: .customLong("shard"), help: "A user shard to add it to (repeatable).")
        var shards: [UInt32] = []

        @Option(help: "Its peer address (host:port), when the definition does not list it.")
        var peer: String?

        @Option(help: "Its admin address (host:port), with --peer.")
        var admin: String?

        func validate() throws {
            guard (peer == nil) == (admin == nil) else {
                throw ValidationError("give both --peer and --admin, or neither")
            }
            for a in [peer, admin].compactMap({ $0 }) { _ = try HostPort(a, field: "--peer / --admin") }
        }

        func run() async throws {
            let address = peer.flatMap { p in admin.map { NodeAddress(peer: p, admin: $0) } }
            try await options.run { try await $0.addNode(id, shards: shards, address: address) }
        }
    }

    struct RemoveNode: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove-node",
            abstract: "Take a node out of the cluster, alive or dead.",
            discussion: """
                Each user-shard replica on it moves first to the live node with the fewest replicas \
                that is not already a member (added as learner, caught up, voter), with the lead handed \
                away before the node is removed; then it leaves shard 0. A dead node needs no part in \
                it: the other members hold every committed entry.
                """)

        @OptionGroup var options: MembershipOptions

        @Option(help: "The node's id.")
        var id: UInt64

        func run() async throws {
            try await options.run { try await $0.removeNode(id) }
        }
    }

    struct MoveReplica: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "move-replica",
            abstract: "Move one shard's replica from one node to another (the new one joins before the old leaves).")

        @OptionGroup var options: MembershipOptions

        @Option(help: "The shard.")
        var shard: UInt32

        @Option(help: "The node that gives up its replica.")
        var from: UInt64

        @Option(help: "The node that takes it.")
        var to: UInt64

        func run() async throws {
            try await options.run { try await $0.moveReplica(shard, from: from, to: to) }
        }
    }

    struct Rebalance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Spread user-shard replicas, then leaders, evenly over the live nodes.")

        @OptionGroup var options: MembershipOptions

        func run() async throws {
            try await options.run { try await $0.rebalance() }
        }
    }
}

extension Cluster {
    struct Reshard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Grow the user shards to --shards while the cluster serves.",
            discussion: """
                Founds the new user shards as Raft groups on the live nodes with the fewest \
                replicas, fences the old shards (writes to the records that move wait in the front, \
                reads go on), copies each moving record (users with their subs and memberships, \
                claims on unique values) to its new shard, then switches the fronts to the new count \
                (shard 0 holds it) and deletes the moved records from the old shards. Every step is \
                recorded, so running it again after an interruption goes on where it stopped. The \
                definition's `shards` stays the count the cluster was founded with.
                """)

        @OptionGroup var options: MembershipOptions

        @Option(help: "The user shards to grow to (more than now; at most 1024).")
        var shards: Int

        func validate() throws {
            guard (2...1_024).contains(shards) else { throw ValidationError("--shards must be 2...1024") }
        }

        func run() async throws {
            try await options.run { try await $0.reshard(to: shards) }
        }
    }
}

/// This binary's path, so the launcher starts the same build.
func currentExecutable() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Per-shard leader, term, commit and applied index on every node."
    )

    @Option(help: "Cluster definition (TOML).")
    var config: String = "Cluster/local.toml"

    @Flag(help: "Print JSON (one object per node).")
    var json = false

    func run() async throws {
        let cluster = try ClusterConfig.load(path: config)
        let client = try NodeClient(config: cluster)
        var statuses: [NodeStatus] = []
        var down: [UInt64] = []
        for n in cluster.nodes {
            if let s = try? await client.status(node: n.id) { statuses.append(s) } else { down.append(n.id) }
        }
        // Nodes added with addresses the definition does not hold, as the others name them.
        client.learn(from: statuses)
        for id in client.knownNodes where cluster.node(id) == nil {
            if let s = try? await client.status(node: id) { statuses.append(s) } else { down.append(id) }
        }
        await client.close()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(statuses), as: UTF8.self))
        } else {
            print(StatusTable.render(statuses))
        }
        for id in down { FileHandle.standardError.write(Data("node \(id): unreachable\n".utf8)) }
        if statuses.isEmpty { throw ExitCode(1) }
    }
}

/// The launcher's supervision giving up (a child that keeps failing), raced against a
/// termination signal.
///
/// `@unchecked Sendable`: `reason` and `waiter` are guarded by `lock`.
final class GiveUp: @unchecked Sendable {
    private let lock = NSLock()
    private var reason: String?
    private var done = false
    private var waiter: CheckedContinuation<String?, Never>?

    func fire(_ reason: String) { finish(reason) }

    private func finish(_ value: String?) {
        let w = lock.withLock { () -> CheckedContinuation<String?, Never>? in
            guard !done else { return nil }
            done = true
            reason = value
            defer { waiter = nil }
            return waiter
        }
        w?.resume(returning: value)
    }

    /// The reason supervision gave up, or nil when a signal came first.
    func wait(orSignal signals: TerminationSignals) async -> String? {
        await withCheckedContinuation { continuation in
            let finished = lock.withLock { () -> Bool in
                if done { return true }
                waiter = continuation
                return false
            }
            if finished { continuation.resume(returning: lock.withLock { reason }) }
            signals.onSignal { [self] in finish(nil) }
        }
    }
}
