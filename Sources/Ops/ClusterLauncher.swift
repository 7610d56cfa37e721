import AuthCrypto
import Foundation
import NodeRPC

/// Runs a local cluster as child processes of this one: the nodes of a definition on
/// 127.0.0.1, each `cognate node` with its own log file, and fronts
/// (`ClusterLauncher+Children`). Before starting anything it makes sure the cluster's
/// secrets exist: the master key file and the TLS certificates, created on first start.
///
/// `@unchecked Sendable`: `children`, `failures`, `stopping` and `expectedExits` are guarded
/// by `lock`; the rest is set before any child starts.
public final class ClusterLauncher: @unchecked Sendable {
    public let config: ClusterConfig
    public let configPath: String
    public let executable: String
    public let logDirectory: String
    let lock = NSLock()
    var children: [UInt64: Process] = [:]
    var stopping = false
    var expectedExits: Set<Int32> = []
    /// When each child last started, and its exits in a row that came soon after a start.
    var startedAt: [UInt64: Date] = [:]
    var quickFailures: [UInt64: Int] = [:]
    /// A command put before `cognate node` for a node (the partition drill runs each node
    /// under `ip netns exec NAME`).
    public var nodePrefix: (UInt64) -> [String] = { _ in [] }
    /// Restart children that exit unexpectedly (`cluster up`); a drill restarts its own.
    public var supervise = false
    /// Copies the children's local-inbox lines (`cognate: code …`) to this process's
    /// output as well as their logs (`cluster up`).
    public var echoCodes = false
    /// Start nodes and fronts with `--dev-inbox` (`cluster up`, when `devInboxRefusal` is nil).
    public var devInbox = false
    /// Told once, with the reason, when a child keeps failing and supervision gives up.
    public var onGiveUp: (@Sendable (String) -> Void)?

    /// `data` moves every node's data directory, the TLS files and the master key under it
    /// (and writes the adjusted definition there). `nodes` keeps only the first N nodes of
    /// the definition, or, when N is more than it lists and they are all on loopback, adds
    /// nodes on the next ports (`extended(_:to:source:)`); the shard count stays the
    /// definition's.
    public init(
        configPath: String, data: String?, nodes: Int?, executable: String,
        adjust: ((inout ClusterConfig) -> Void)? = nil
    ) throws {
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
        if data != nil {
            config.tls = ClusterConfig.TLSFiles(dir: "\(dataRoot)/tls")
            for i in config.nodes.indices {
                config.nodes[i].cert = nil
                config.nodes[i].key = nil
            }
            config.master_key_file = "\(dataRoot)/master.key"
        }
        if data != nil || nodes != nil || adjust != nil {
            for i in config.nodes.indices { config.nodes[i].data = "\(dataRoot)/node\(config.nodes[i].id)" }
            if config.nodes.count > listed { try Self.refuseGrowing(config.nodes, listed: listed, dataRoot: dataRoot) }
            try PrivateFiles.makeDirectory(dataRoot)
            path = "\(dataRoot)/cluster.toml"
            try PrivateFiles.write(Array(config.renderTOML().utf8), to: path, mode: 0o644)
        }
        self.config = config
        self.configPath = path
        self.executable = executable
        self.logDirectory = dataRoot
        try PrivateFiles.makeDirectory(dataRoot)
    }

    /// Creates what the cluster's processes need and does not have yet: the master key file
    /// (0600) and the CA and certificates. Returns the files it created.
    @discardableResult
    public func prepareSecrets() throws -> [String] {
        var created: [String] = []
        if let keyFile = config.master_key_file, !FileManager.default.fileExists(atPath: keyFile) {
            var rng = SystemRandomNumberGenerator()
            try PrivateFiles.write(Array(MasterKeys.generate(using: &rng).render().utf8), to: keyFile)
            created.append(keyFile)
        }
        created += try ClusterCertificates.create(for: config).files
        return created
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
            [
                try HostPort(n.peer, field: "peer of node \(n.id)"),
                try HostPort(n.admin, field: "admin of node \(n.id)"),
            ]
        }
        guard listedAddresses.allSatisfy({ $0.host.hasPrefix("127.") }) else {
            throw ClusterConfig.Invalid(
                description:
                    "--nodes \(count) is more than the \(config.nodes.count) nodes of \(source), which are not all "
                    + "on 127.0.0.1: "
                    + "list every node (its host, ports and data directory) in the definition instead")
        }
        guard let last = config.nodes.max(by: { $0.id < $1.id }) else { return config }
        let peer = try HostPort(last.peer, field: "peer of node \(last.id)")
        let admin = try HostPort(last.admin, field: "admin of node \(last.id)")
        var extended = config
        for step in 1...(count - config.nodes.count) {
            let id = last.id + UInt64(step)
            var p = peer
            var a = admin
            p.port += step
            a.port += step
            extended.nodes.append(.init(id: id, peer: p.description, admin: a.description, data: ".cognate/node\(id)"))
        }
        var taken = Set<String>()
        if let front = config.front { taken.insert(front) }
        for n in extended.nodes {
            for address in [n.peer, n.admin] {
                guard taken.insert(address).inserted, let port = Int(address.split(separator: ":").last ?? ""),
                    port <= 65535
                else {
                    throw ClusterConfig.Invalid(
                        description:
                            "--nodes \(count): the added nodes' ports (after node \(last.id)'s \(last.peer) and "
                            + "\(last.admin)) "
                            + "run into \(address), which is already used; list the nodes in the definition instead")
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
        func hasData(_ n: ClusterConfig.NodeEntry) -> Bool {
            FileManager.default.fileExists(atPath: "\(n.data)/data.mdb")
        }
        let old = nodes.filter(hasData)
        let new = nodes.dropFirst(listed).filter { !hasData($0) }
        guard !old.isEmpty, let first = new.first else { return }
        throw ClusterConfig.Invalid(
            description:
                "\(dataRoot) holds data of node(s) \(old.map { "\($0.id)" }.joined(separator: ", ")) but none of node "
                + "\(first.id): a node joins a running cluster only through Raft membership changes. List it in the "
                + "definition with `join = true`, start the cluster, then `cognate cluster add-node --id \(first.id)` "
                + "and `cognate cluster rebalance`; or use a new --data directory"
        )
    }

    public func logPath(node: UInt64) -> String { "\(logDirectory)/node\(node).log" }

    /// Refuses to start when an address a child would listen on is taken: another cluster
    /// on the same ports would otherwise answer in its place, and look like this one.
    public func checkAddressesFree(fronts: [HostPort]) throws {
        var wanted: [(String, String)] = []
        for n in config.nodes {
            wanted += [(n.peer, "node \(n.id)'s peer and client address"), (n.admin, "node \(n.id)'s admin address")]
        }
        for (i, f) in fronts.enumerated() { wanted.append((f.description, "front \(i + 1)'s address")) }
        for (address, what) in wanted where Self.inUse(try HostPort(address, field: what)) {
            throw ClusterConfig.Invalid(
                description:
                    "\(address), \(what), is already in use (another cluster running? stop it, or use a definition "
                    + "with other ports)"
            )
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
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
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

    /// Waits until every shard reports a leader; returns the statuses.
    public func waitForLeaders(timeout: Duration = .seconds(60)) async throws -> [NodeStatus] {
        let client = try NodeClient(config: config)
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
        throw ClusterConfig.Invalid(
            description:
                "not every shard had a leader within \(timeout) (\(last?.missing ?? "no poll finished")); "
                + "see the node logs in \(logDirectory)")
    }
}
