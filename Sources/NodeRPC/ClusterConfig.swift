import Foundation
import Sharding
import TOMLKit

/// A cluster definition: its nodes, shard count and replication factor, read from TOML.
///
/// ```toml
/// shards = 3            # user shards 1...3; shard 0 (meta) lives on every node
/// replication = 3
/// [[nodes]]
/// id = 1
/// peer = "127.0.0.1:7101"    # Raft traffic and client RPC
/// admin = "127.0.0.1:7201"   # GET /status, GET /metrics
/// data = ".cognate/node1"    # relative paths are relative to the working directory
/// [tls]
/// dir = ".cognate/tls"       # ca.pem, node<ID>.pem/.key, front.pem/.key (`cognate certs create`)
/// ```
public struct ClusterConfig: Codable, Sendable, Equatable {
    public struct NodeEntry: Codable, Sendable, Equatable {
        public var id: UInt64
        public var peer: String
        public var admin: String
        public var data: String
        /// This node's certificate and key (PEM); default `<tls.dir>/node<ID>.pem` / `.key`.
        public var cert: String?
        public var key: String?
        /// A node that joins later (`cognate cluster add-node`): it starts with no replicas
        /// and takes no part in the founding placement. Default false.
        public var join: Bool?

        public init(
            id: UInt64, peer: String, admin: String, data: String, cert: String? = nil, key: String? = nil,
            join: Bool? = nil
        ) {
            self.id = id
            self.peer = peer
            self.admin = admin
            self.data = data
            self.cert = cert
            self.key = key
            self.join = join
        }

        public var joinsLater: Bool { join ?? false }
    }

    /// Where the cluster's certificates are. Every connection between cluster processes is
    /// TLS with certificates from the cluster's CA on both ends; there is no plaintext mode.
    public struct TLSFiles: Codable, Sendable, Equatable {
        /// A directory holding the files under their default names.
        public var dir: String?
        /// The CA certificate every process trusts (default `<dir>/ca.pem`).
        public var ca: String?
        /// The CA's private key: only where certificates are issued (`cognate certs`,
        /// `cluster up`), never needed by a running process (default `<dir>/ca.key`).
        public var ca_key: String?
        /// The certificate and key fronts and tools present (role "front": client requests
        /// only; default `<dir>/front.pem` / `front.key`).
        public var front_cert: String?
        public var front_key: String?
        /// The certificate and key the operator's tools present (role "operator": every
        /// client request; default `<dir>/operator.pem` / `operator.key`). Keep them off
        /// the fronts.
        public var operator_cert: String?
        public var operator_key: String?
        /// The deliverers' key pair (X25519, hex): fronts seal outbox messages to the
        /// public key, nodes open them with the private one (default `<dir>/delivery.pub` /
        /// `delivery.key`). Fronts need only the public key.
        public var delivery_pub: String?
        public var delivery_key: String?

        public init(dir: String? = nil) { self.dir = dir }
    }

    /// Where email goes: an SMTP server (`COGNATE_SMTP_URL` overrides `smtp_url`).
    public struct EmailSettings: Codable, Sendable, Equatable {
        /// `smtp://[user:pass@]host:port` (STARTTLS when the server offers it) or
        /// `smtps://…` (TLS from the first byte).
        public var smtp_url: String?
        /// The sender when a pool names none (`EmailSendingAccount = COGNITO_DEFAULT`).
        public var from: String?
        /// `opportunistic` (default: STARTTLS when offered), `required`, or `off`.
        public var starttls: String?
        /// A CA file to trust for the server's certificate (default: the system's).
        public var ca_file: String?

        public init() {}
    }

    /// Where SMS goes: an HTTP gateway (`COGNATE_SMS_WEBHOOK_URL` overrides `webhook_url`).
    public struct SMSSettings: Codable, Sendable, Equatable {
        public var webhook_url: String?

        public init() {}
    }

    public var name: String?
    public var shards: Int
    public var replication: Int
    public var nodes: [NodeEntry]
    /// Milliseconds per Raft tick.
    public var tick_ms: Int?
    public var election_ticks: Int?
    public var heartbeat_ticks: Int?
    /// Applied entries kept in a shard's log before it is compacted.
    public var snapshot_threshold: Int?
    /// Seconds an applied entry stays in a shard's log at most (default 3600): a delivered
    /// message's sealed payload, like every write, is gone from the log by then however
    /// few writes followed it.
    public var log_max_age_seconds: Int?
    /// Region in pool ids (`<region>_<id>`).
    public var region: String?
    /// Pool prefix domains are served at `<prefix>.auth.<region>.<domain_suffix>` (default
    /// `localhost`, which browsers resolve to this machine).
    public var domain_suffix: String?
    /// Access keys for SigV4 admin calls (`id:secret`).
    public var admin_keys: [String]?
    /// The front's listen address and public URL.
    public var front: String?
    public var public_url: String?
    /// The cluster's master keys (a file `cognate keys create` writes, one `id:hex` per line,
    /// the newest last): they seal pool signing keys, challenges and refresh tokens, and
    /// every front of a cluster needs the same file (or COGNATE_MASTER_KEY).
    public var master_key_file: String?
    public var tls: TLSFiles?
    /// Lets clients use the raw key-value harness (`cognate kv`, node tests). Off by
    /// default: on a user-pool cluster nobody needs it.
    public var kv_harness: Bool?
    /// Seconds of the first sign-in lockout (after 5 failures; doubles after each further
    /// one, up to 15 minutes). Cognito's is 1.
    public var lockout_base_seconds: Int?
    public var email: EmailSettings?
    public var sms: SMSSettings?
    /// Messages with no configured channel are kept in a local inbox (printed by the node
    /// and readable at the front's `/_cognate/inbox`) instead of failing. For local use
    /// only: `Cluster/local.toml` sets it.
    public var dev_inbox: Bool?

    public var tickMilliseconds: Int { tick_ms ?? 50 }
    public var electionTicks: Int { election_ticks ?? 10 }
    public var heartbeatTicks: Int { heartbeat_ticks ?? 1 }
    public var snapshotThreshold: Int { snapshot_threshold ?? 10_000 }
    public var logMaxAgeSeconds: Int { log_max_age_seconds ?? 3600 }
    public var kvHarnessEnabled: Bool { kv_harness ?? false }
    public var devInboxEnabled: Bool { dev_inbox ?? false }

    private func tlsPath(_ explicit: String?, _ name: String) -> String {
        explicit ?? "\(tls?.dir ?? ".")/\(name)"
    }

    public var caCertificatePath: String { tlsPath(tls?.ca, "ca.pem") }
    public var caKeyPath: String { tlsPath(tls?.ca_key, "ca.key") }
    public var frontCertificatePath: String { tlsPath(tls?.front_cert, "front.pem") }
    public var frontKeyPath: String { tlsPath(tls?.front_key, "front.key") }
    public var operatorCertificatePath: String { tlsPath(tls?.operator_cert, "operator.pem") }
    public var operatorKeyPath: String { tlsPath(tls?.operator_key, "operator.key") }
    public var deliveryPublicKeyPath: String { tlsPath(tls?.delivery_pub, "delivery.pub") }
    public var deliveryKeyPath: String { tlsPath(tls?.delivery_key, "delivery.key") }
    public func certificatePath(node: NodeEntry) -> String { tlsPath(node.cert, "node\(node.id).pem") }
    public func keyPath(node: NodeEntry) -> String { tlsPath(node.key, "node\(node.id).key") }

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Where the commands look for a definition when none is named.
    public static let defaultPath = "Cluster/local.toml"

    /// Whether `path` is the default one and not present here, so `load` uses the copy of
    /// `Cluster/local.toml` built into the binary (a cluster starts from any directory).
    public static func usesEmbeddedDefault(_ path: String) -> Bool {
        path == defaultPath && !FileManager.default.fileExists(atPath: path)
    }

    public static func load(path: String) throws -> ClusterConfig {
        if usesEmbeddedDefault(path) { return try parse(embeddedLocal, source: "the embedded \(defaultPath)") }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw Invalid(description: "cannot read cluster definition \(path): \(error.localizedDescription)")
        }
        return try parse(text, source: path)
    }

    public static func parse(_ text: String, source: String = "cluster definition") throws -> ClusterConfig {
        let config: ClusterConfig
        do {
            config = try TOMLDecoder().decode(ClusterConfig.self, from: text)
        } catch {
            throw Invalid(description: "\(source): \(error)")
        }
        try config.validate(source: source)
        return config
    }

    /// Throws `Invalid`, naming `source`, for a definition no cluster can run.
    public func validate(source: String) throws {
        func fail(_ why: String) -> Invalid { Invalid(description: "\(source): \(why)") }
        guard !nodes.isEmpty else { throw fail("no [[nodes]]") }
        guard Set(nodes.map(\.id)).count == nodes.count else { throw fail("node ids must be unique") }
        guard nodes.allSatisfy({ $0.id > 0 }) else { throw fail("node ids must be positive") }
        guard Set(nodes.map(\.peer)).count == nodes.count else { throw fail("peer addresses must be unique") }
        guard (1...1024).contains(shards) else { throw fail("shards must be 1...1024") }
        let founders = nodes.filter { !$0.joinsLater }.count
        guard (1...max(1, founders)).contains(replication), founders > 0 else {
            throw fail("replication must be 1...\(founders) (the count of nodes without `join = true`)")
        }
        for n in nodes {
            _ = try HostPort(n.peer, field: "peer of node \(n.id)")
            _ = try HostPort(n.admin, field: "admin of node \(n.id)")
        }
        guard tickMilliseconds >= 1, electionTicks > heartbeatTicks, heartbeatTicks >= 1 else {
            throw fail("need tick_ms ≥ 1 and election_ticks > heartbeat_ticks ≥ 1")
        }
        guard snapshotThreshold >= 2 else { throw fail("snapshot_threshold must be at least 2") }
        guard (1...31_536_000).contains(logMaxAgeSeconds) else {
            throw fail("log_max_age_seconds must be 1...31536000 (a year)")
        }
        guard let tls else {
            throw fail(
                "no [tls] table: cluster traffic is always mutually authenticated TLS. Add `[tls] dir = \"…\"` and "
                    + "create the certificates with `cognate certs create --config FILE`")
        }
        let named =
            tls.ca != nil && tls.front_cert != nil && tls.front_key != nil
            && nodes.allSatisfy { $0.cert != nil && $0.key != nil }
        guard tls.dir != nil || named else {
            throw fail("[tls] needs `dir`, or `ca`, `front_cert`, `front_key` and every node's `cert` and `key`")
        }
    }

    public func node(_ id: UInt64) -> NodeEntry? { nodes.first { $0.id == id } }

    /// Where the founding nodes (those without `join = true`) hold each shard when the
    /// cluster is first started. Afterwards each shard's members are Raft state, changed by
    /// `cognate cluster add-node / remove-node / move-replica / rebalance`.
    public var placement: Placement {
        Placement(nodes: nodes.filter { !$0.joinsLater }.map(\.id), shards: shards, replication: replication)
    }
}

/// "host:port", checked.
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(_ text: String, field: String = "address") throws {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (1...65535).contains(port), colon != text.startIndex
        else { throw ClusterConfig.Invalid(description: "\(field): \"\(text)\" is not host:port") }
        self.host = String(text[..<colon])
        self.port = port
    }

    public var description: String { "\(host):\(port)" }
}

extension ClusterConfig {
    /// `Cluster/local.toml` as built into the binary (a test keeps the two the same).
    public static let embeddedLocal = """
        # The embedded default: three storage nodes and a front on 127.0.0.1.
        # Data directories are relative to the working directory (`cognate cluster up --data` moves them).
        name = "local"
        region = "us-east-1"
        shards = 3              # user shards 1...3; shard 0 (meta) is on every node
        replication = 3
        tick_ms = 50            # election after 10–20 ticks without a leader, heartbeats every tick
        election_ticks = 10
        heartbeat_ticks = 1
        snapshot_threshold = 10000
        front = "127.0.0.1:9229"
        public_url = "http://127.0.0.1:9229"
        admin_keys = ["cognate:cognate-local-secret"]
        # Seals pool signing keys, challenges and refresh tokens; `cluster up` creates it (0600).
        master_key_file = ".cognate/master.key"
        # Codes and invitations with no channel configured (no [email] smtp_url / COGNATE_SMTP_URL,
        # no [sms] webhook_url / COGNATE_SMS_WEBHOOK_URL) go to a local inbox: printed by the node
        # that delivers them and listed at http://127.0.0.1:9229/_cognate/inbox. Local use only.
        dev_inbox = true

        # Mutual TLS between every cluster process; `cluster up` creates the CA and certificates.
        [tls]
        dir = ".cognate/tls"

        [[nodes]]
        id = 1
        peer = "127.0.0.1:7101"
        admin = "127.0.0.1:7201"
        data = ".cognate/node1"

        [[nodes]]
        id = 2
        peer = "127.0.0.1:7102"
        admin = "127.0.0.1:7202"
        data = ".cognate/node2"

        [[nodes]]
        id = 3
        peer = "127.0.0.1:7103"
        admin = "127.0.0.1:7203"
        data = ".cognate/node3"

        """
}
