import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Node

/// Runs a local cluster as child processes of this one: the nodes of a definition on
/// 127.0.0.1, each `cognate node` with its own log file.
public final class ClusterLauncher: @unchecked Sendable {
    public let config: ClusterConfig
    public let configPath: String
    public let executable: String
    public let logDirectory: String
    private var children: [UInt64: Process] = [:]
    private let lock = NSLock()
    private var stopping = false
    private var expectedExits: Set<Int32> = []
    /// A command put before `cognate node` for a node (the partition drill runs each node
    /// under `ip netns exec NAME`).
    public var nodePrefix: (UInt64) -> [String] = { _ in [] }

    /// `data` moves every node's data directory under it (and writes the adjusted
    /// definition there). `nodes` keeps only the first N nodes of the definition, or, when N
    /// is more than it lists and they are all on loopback, adds nodes on the next ports
    /// (`extended(_:to:source:)`); the shard count stays the definition's.
    public init(configPath: String, data: String?, nodes: Int?, executable: String,
                adjust: ((inout ClusterConfig) -> Void)? = nil) throws {
        var config = try ClusterConfig.load(path: configPath)
        var path = configPath
        let listed = config.nodes.count
        if let nodes {
            guard nodes >= 1 else { throw ClusterConfig.Invalid(description: "--nodes must be at least 1") }
            if nodes <= listed {
                config.nodes = Array(config.nodes.prefix(nodes))
                config.replication = min(config.replication, nodes)
            } else {
                config = try Self.extended(config, to: nodes, source: configPath)
            }
        }
        let dataRoot = data ?? ".cognate"
        adjust?(&config)
        if data != nil || nodes != nil || adjust != nil {
            for i in config.nodes.indices { config.nodes[i].data = "\(dataRoot)/node\(config.nodes[i].id)" }
            if config.nodes.count > listed { try Self.refuseGrowing(config.nodes, listed: listed, dataRoot: dataRoot) }
            try FileManager.default.createDirectory(atPath: dataRoot, withIntermediateDirectories: true)
            path = "\(dataRoot)/cluster.toml"
            try Self.render(config).write(toFile: path, atomically: true, encoding: .utf8)
        }
        self.config = config
        self.configPath = path
        self.executable = executable
        self.logDirectory = dataRoot
        try FileManager.default.createDirectory(atPath: dataRoot, withIntermediateDirectories: true)
    }

    /// Largest `--nodes` a loopback definition is extended to.
    public static let maxNodes = 64

    /// `config` with nodes added up to `count`: each new node takes the next id and the next
    /// peer and admin ports after the last listed node's, on its host. Only for definitions
    /// whose nodes are all on 127.0.0.0/8 (a laptop); a definition of real hosts must list
    /// every node.
    static func extended(_ config: ClusterConfig, to count: Int, source: String) throws -> ClusterConfig {
        guard count <= maxNodes else {
            throw ClusterConfig.Invalid(description: "--nodes must be 1...\(maxNodes)")
        }
        let listedAddresses = try config.nodes.flatMap { n in
            [try HostPort(n.peer, field: "peer of node \(n.id)"), try HostPort(n.admin, field: "admin of node \(n.id)")]
        }
        guard listedAddresses.allSatisfy({ $0.host.hasPrefix("127.") }) else {
            throw ClusterConfig.Invalid(description:
                "--nodes \(count) is more than the \(config.nodes.count) nodes of \(source), which are not all on 127.0.0.1: "
                + "list every node (its host, ports and data directory) in the definition instead")
        }
        guard let last = config.nodes.max(by: { $0.id < $1.id }) else { return config }
        let peer = try HostPort(last.peer, field: "peer of node \(last.id)")
        let admin = try HostPort(last.admin, field: "admin of node \(last.id)")
        var extended = config
        for step in 1...(count - config.nodes.count) {
            let id = last.id + UInt64(step)
            var p = peer, a = admin
            p.port += step
            a.port += step
            extended.nodes.append(.init(id: id, peer: p.description, admin: a.description, data: ".cognate/node\(id)"))
        }
        var taken = Set<String>()
        if let front = config.front { taken.insert(front) }
        for n in extended.nodes {
            for address in [n.peer, n.admin] {
                guard taken.insert(address).inserted, let port = Int(address.split(separator: ":").last ?? ""), port <= 65535 else {
                    throw ClusterConfig.Invalid(description:
                        "--nodes \(count): the added nodes' ports (after node \(last.id)'s \(last.peer) and \(last.admin)) run into \(address), "
                        + "which is already used; list the nodes in the definition instead")
                }
            }
        }
        try extended.validate(source: source)
        return extended
    }

    /// Refuses to add nodes to a cluster that already has data: a node joining a shard needs
    /// a Raft membership change, and a new node that took its shards' replicas from the
    /// definition instead would count votes in a group its peers do not have.
    static func refuseGrowing(_ nodes: [ClusterConfig.NodeEntry], listed: Int, dataRoot: String) throws {
        func hasData(_ n: ClusterConfig.NodeEntry) -> Bool { FileManager.default.fileExists(atPath: "\(n.data)/data.mdb") }
        let old = nodes.filter(hasData)
        let new = nodes.dropFirst(listed).filter { !hasData($0) }
        guard !old.isEmpty, let first = new.first else { return }
        throw ClusterConfig.Invalid(description:
            "UnsupportedOperationException: adding nodes to an existing cluster is not built yet: \(dataRoot) holds data of "
            + "node(s) \(old.map { "\($0.id)" }.joined(separator: ", ")) but none of node \(first.id), and a node joins a shard only "
            + "through a Raft membership change. Start with the nodes it had, or use a new --data directory")
    }

    /// A definition as TOML (what `--data` / `--nodes` write out).
    static func render(_ c: ClusterConfig) -> String {
        func q(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        var lines: [String] = []
        if let name = c.name { lines.append("name = \(q(name))") }
        if let region = c.region { lines.append("region = \(q(region))") }
        lines += ["shards = \(c.shards)", "replication = \(c.replication)", "tick_ms = \(c.tickMilliseconds)",
                  "election_ticks = \(c.electionTicks)", "heartbeat_ticks = \(c.heartbeatTicks)",
                  "snapshot_threshold = \(c.snapshotThreshold)"]
        if let f = c.front { lines.append("front = \(q(f))") }
        if let u = c.public_url { lines.append("public_url = \(q(u))") }
        if let keys = c.admin_keys { lines.append("admin_keys = [" + keys.map(q).joined(separator: ", ") + "]") }
        if let m = c.master_key { lines.append("master_key = \(q(m))") }
        if let l = c.lockout_base_seconds { lines.append("lockout_base_seconds = \(l)") }
        for n in c.nodes {
            lines += ["", "[[nodes]]", "id = \(n.id)", "peer = \(q(n.peer))", "admin = \(q(n.admin))", "data = \(q(n.data))"]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public func logPath(node: UInt64) -> String { "\(logDirectory)/node\(node).log" }

    public func start(node: UInt64) throws {
        let p = Process()
        let prefix = nodePrefix(node)
        let command = prefix + [executable, "node", "--config", configPath, "--id", "\(node)"]
        p.executableURL = URL(fileURLWithPath: command[0])
        p.arguments = Array(command.dropFirst())
        _ = FileManager.default.createFile(atPath: logPath(node: node), contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath(node: node)))
        log.seekToEndOfFile()
        p.standardOutput = log
        p.standardError = log
        p.terminationHandler = { [weak self] proc in
            guard let self else { return }
            self.lock.lock()
            let expected = self.stopping || self.children[node] !== proc || self.expectedExits.contains(proc.processIdentifier)
            self.lock.unlock()
            if !expected {
                FileHandle.standardError.write(Data("cognate: node \(node) exited with status \(proc.terminationStatus); see \(self.logPath(node: node))\n".utf8))
            }
        }
        try p.run()
        lock.lock()
        children[node] = p
        lock.unlock()
    }

    /// The process id of a running node child (nil when not running).
    public func pid(node: UInt64) -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        guard let p = children[node], p.isRunning else { return nil }
        return p.processIdentifier
    }

    /// Sends `signal` to a node child; with SIGKILL or SIGTERM, waits until it has exited.
    public func signal(node: UInt64, _ signal: Int32) {
        lock.lock()
        let p = children[node]
        lock.unlock()
        guard let p, p.isRunning else { return }
        if signal == SIGKILL || signal == SIGTERM {
            lock.lock()
            expectedExits.insert(p.processIdentifier)
            lock.unlock()
        }
        kill(p.processIdentifier, signal)
        if signal == SIGKILL || signal == SIGTERM { p.waitUntilExit() }
    }

    public func startAll() throws {
        for n in config.nodes { try start(node: n.id) }
    }

    /// Refuses to start when an address a child would listen on is taken: another cluster
    /// on the same ports would otherwise answer in its place, and look like this one.
    public func checkAddressesFree(fronts: [HostPort]) throws {
        var wanted: [(String, String)] = []
        for n in config.nodes { wanted += [(n.peer, "node \(n.id)'s peer and client address"), (n.admin, "node \(n.id)'s admin address")] }
        for (i, f) in fronts.enumerated() { wanted.append((f.description, "front \(i + 1)'s address")) }
        for (address, what) in wanted where Self.inUse(try HostPort(address, field: what)) {
            throw ClusterConfig.Invalid(
                description: "\(address), \(what), is already in use (another cluster running? stop it, or use a definition with other ports)")
        }
    }

    /// Whether a TCP listener holds `address` (an IPv4 literal; other hosts are not checked,
    /// nor are addresses this machine does not have, such as a namespace's).
    static func inUse(_ address: HostPort) -> Bool {
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = in_port_t(UInt16(address.port)).bigEndian
        guard inet_pton(AF_INET, address.host, &sin.sin_addr) == 1 else { return false }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return rc != 0 && errno == EADDRINUSE
    }

    /// Listen addresses of `count` fronts: the definition's `front`, then the next ports.
    public func frontAddresses(_ count: Int) throws -> [HostPort] {
        let first = try HostPort(config.front ?? "127.0.0.1:9229", field: "front")
        return (0..<count).map { i in
            var a = first
            a.port += i
            return a
        }
    }

    /// Starts a `cognate front` child (its id is 1000 + index in the log name).
    public func startFront(index: Int, address: HostPort) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = ["front", "--config", configPath, "--listen", address.description]
        let path = "\(logDirectory)/front\(index + 1).log"
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        log.seekToEndOfFile()
        p.standardOutput = log
        p.standardError = log
        try p.run()
        lock.lock()
        children[UInt64(1000 + index)] = p
        lock.unlock()
    }

    /// Waits until `GET /health` answers on every address.
    public func waitForFronts(_ addresses: [HostPort], timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        for a in addresses {
            while true {
                if let url = URL(string: "http://\(a)/health"), let (_, r) = try? await URLSession.shared.data(from: url),
                    (r as? HTTPURLResponse)?.statusCode == 200
                {
                    break
                }
                guard ContinuousClock.now < deadline else {
                    throw ClusterConfig.Invalid(description: "the front on \(a) did not answer /health within \(timeout); see \(logDirectory)/front*.log")
                }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// Waits until every shard reports a leader; returns the statuses.
    public func waitForLeaders(timeout: Duration = .seconds(60)) async throws -> [NodeStatus] {
        let client = NodeClient(config: config)
        let deadline = ContinuousClock.now + timeout
        var last: ClusterPoll?
        while ContinuousClock.now < deadline, !Task.isCancelled {
            let poll = await ClusterPoll.poll(config, with: client)
            last = poll
            if poll.settled { break }
            try? await Task.sleep(for: .milliseconds(200))
        }
        await client.close()
        if let last, last.settled { return last.statuses }
        try Task.checkCancellation()
        // What the last poll saw, so the logs to read are named.
        throw ClusterConfig.Invalid(description:
            "not every shard had a leader within \(timeout) (\(last?.missing ?? "no poll finished")); see the node logs in \(logDirectory)")
    }

    /// SIGTERM to every child, then wait for them.
    public func stopAll() {
        lock.lock()
        stopping = true
        let all = Array(children.values)
        lock.unlock()
        for p in all where p.isRunning {
            kill(p.processIdentifier, SIGCONT)  // a paused child could not act on SIGTERM
            p.terminate()
        }
        for p in all { p.waitUntilExit() }
    }
}

/// Renders node statuses as the per-shard table `cognate status` prints.
public enum StatusTable {
    public static func render(_ statuses: [NodeStatus]) -> String {
        var rows: [[String]] = [["shard", "node", "role", "term", "leader", "commit", "applied", "lag"]]
        let shards = Set(statuses.flatMap { $0.shards.map(\.shard) }).sorted()
        for shard in shards {
            let replicas = statuses.compactMap { s in s.shards.first { $0.shard == shard }.map { (s.node, $0) } }
            let top = replicas.map(\.1.commit).max() ?? 0
            for (node, r) in replicas.sorted(by: { $0.0 < $1.0 }) {
                rows.append(["\(shard)", "\(node)", r.role, "\(r.term)", r.leader == 0 ? "-" : "\(r.leader)", "\(r.commit)", "\(r.applied)", "\(top - r.applied)"])
            }
        }
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max()! }
        return rows.map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
