import ArgumentParser
import AuthCrypto
import Delivery
import Dispatch
import Foundation
import Logging
import Metrics
import NIOPosix
import Node
import NodeRPC
import Prometheus
import Sharding

/// `cognate node --config FILE --id ID`: one storage node, until SIGTERM or SIGINT.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run one storage node of a cluster definition.",
        discussion: """
            Hosts the replicas the definition places on this node, listens for peers and clients \
            on its peer address and serves GET /status and GET /metrics on its admin address. \
            SIGTERM or SIGINT stops it after the current durable commit.
            """
    )

    @Option(help: "Cluster definition (TOML).")
    var config: String = "Cluster/local.toml"

    @Option(help: "This node's id in the definition.")
    var id: UInt64

    @Option(
        help: ArgumentHelp(
            "Peer address (host:port) of a node the definition does not list, or instead of its entry's.",
            discussion:
                "A node not in the definition needs --peer, --admin and --data; it starts with no replicas, like "
                + "a `join = true` entry, until `cognate cluster add-node --id ID --peer … --admin …`."))
    var peer: String?

    @Option(help: "Admin address (host:port) for GET /status and /metrics, with --peer.")
    var admin: String?

    @Option(help: "Data directory (default: the node's `data` in the definition).")
    var data: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Flag(
        help: ArgumentHelp(
            "Deliver messages with no channel to the local inbox (what `cluster up` passes).",
            discussion:
                "Refused unless every address of the definition is loopback and no email or SMS channel is "
                + "configured: the inbox shows codes and temporary passwords to anyone who can reach the front."))
    var devInbox = false

    func run() async throws {
        // A SIGTERM while the node opens its data and replays its log still ends in a clean stop.
        let signals = TerminationSignals()
        var cluster = try ClusterConfig.load(path: config)
        if let index = cluster.nodes.firstIndex(where: { $0.id == id }) {
            if let peer { cluster.nodes[index].peer = peer }
            if let admin { cluster.nodes[index].admin = admin }
        } else {
            guard let peer, let admin, let data else {
                throw ValidationError("node \(id) is not in \(config): give its --peer, --admin and --data")
            }
            cluster.nodes.append(.init(id: id, peer: peer, admin: admin, data: data, join: true))
        }
        try cluster.validate(source: config)
        let environment = ProcessInfo.processInfo.environment
        if devInbox, let why = cluster.devInboxRefusal(frontListen: nil, environment: environment) {
            throw ValidationError("--dev-inbox: \(why)")
        }
        let registry = bootstrapObservability(logLevel: logLevel)
        let logger = Logger(label: "cognate.node.\(id)")
        // Messages queued by an apply wake this node's deliverer (made once the runtime is).
        let wake = DelivererWake()
        let server = try NodeServer(
            config: cluster, nodeId: id,
            stateMachine: CognateStateMachine(kvEnabled: cluster.kvHarnessEnabled, onEnqueue: { _ in wake.fire() }),
            registry: registry, logger: logger, dataDirectory: data)
        let deliverer = try outboxDeliverer(cluster, server.runtime, logger, devInbox: devInbox)
        wake.target = deliverer
        try await server.start()
        let delivering = Task { await deliverer.run() }
        defer { delivering.cancel() }
        let ending = NodeEnding()
        signals.onSignal { ending.finish(nil) }
        server.whenFailed { ending.finish($0) }
        if let reason = await ending.wait() {
            // Storage failed: everything acknowledged is in the write-ahead log already, and
            // a restart recovers from it. Say why, and exit without writing anything more.
            FileHandle.standardError.write(Data("cognate node \(id): \(reason)\n".utf8))
            throw ExitCode(74)
        }
        logger.info("stopping node \(id)")
        await server.shutdown()
        logger.info("node \(id) stopped")
    }
}

/// The deliverer of this node's led shards' outboxes, over the channels the definition (or
/// `COGNATE_SMTP_URL` / `COGNATE_SMS_WEBHOOK_URL`) names.
func outboxDeliverer<SM>(
    _ cluster: ClusterConfig, _ runtime: NodeRuntime<SM>, _ logger: Logger, devInbox: Bool
) throws
    -> OutboxDeliverer
{
    let env = ProcessInfo.processInfo.environment
    let group = MultiThreadedEventLoopGroup.singleton
    let smtpURL = env["COGNATE_SMTP_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? cluster.email?.smtp_url
    let smsURL = env["COGNATE_SMS_WEBHOOK_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? cluster.sms?.webhook_url
    let channels = Channels(
        smtp: try smtpURL.map {
            try SMTPServer(url: $0, startTLS: cluster.email?.starttls, caFile: cluster.email?.ca_file)
        },
        sms: try smsURL.map { try SMSWebhook(url: $0, group: group) },
        devInbox: devInbox, defaultFrom: cluster.email?.from,
        opener: try deliveryOpener(cluster, devInbox: devInbox))
    return OutboxDeliverer(host: RuntimeOutboxHost(runtime: runtime), channels: channels, group: group, logger: logger)
}

/// The deliverers' private key, which opens the messages fronts seal. Required, except
/// with the local inbox, whose fronts seal nothing.
func deliveryOpener(_ cluster: ClusterConfig, devInbox: Bool) throws -> DeliveryOpener? {
    let path = cluster.deliveryKeyPath
    if devInbox && !FileManager.default.fileExists(atPath: path) { return nil }
    return try DeliveryOpener(privateKey: DeliveryBox.read(path: path, what: "delivery key"))
}

/// Wakes the deliverer once it exists (the state machine is made before it).
///
/// `@unchecked Sendable`: `target` is under `lock`.
final class DelivererWake: @unchecked Sendable {
    private let lock = NSLock()
    private var deliverer: OutboxDeliverer?
    var target: OutboxDeliverer? {
        get { lock.withLock { deliverer } }
        set { lock.withLock { deliverer = newValue } }
    }
    func fire() { target?.wake() }
}

/// The node runtime as the deliverer's host.
struct RuntimeOutboxHost<SM: ReplicatedStateMachine>: OutboxHost {
    let runtime: NodeRuntime<SM>

    struct Refused: Error, CustomStringConvertible {
        var description: String
    }

    func ledShards() async -> [UInt32] { await runtime.ledShards() }

    func read(shard: UInt32, _ request: [UInt8]) async throws -> [UInt8] {
        try Self.bytes(await runtime.localRead(shard: shard, request: request))
    }

    func propose(shard: UInt32, _ command: [UInt8]) async throws -> [UInt8] {
        try Self.bytes(await runtime.propose(shard: shard, requestId: RequestID.make(), command: command))
    }

    static func bytes(_ body: ClientResponse.Body) throws -> [UInt8] {
        guard case .ok(let bytes) = body else { throw Refused(description: "\(body)") }
        return bytes
    }
}

/// SIGTERM and SIGINT, caught from the moment this is made: their default action would end
/// the process at once (a launcher's children would be left running). `wait()` returns on
/// the first one; `cancelling` runs work that the first one cancels.
final class TerminationSignals: @unchecked Sendable {
    private let lock = NSLock()
    private var fired = false
    private var waiters: [@Sendable () -> Void] = []

    init() {
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in self?.fire() }
            source.resume()
            SignalSources.keep(source)
        }
    }

    /// Whether a signal has arrived.
    var received: Bool { lock.withLock { fired } }

    private func fire() {
        let run = lock.withLock { () -> [@Sendable () -> Void] in
            if fired { return [] }
            fired = true
            defer { waiters = [] }
            return waiters
        }
        for f in run { f() }
    }

    /// Calls `action` on the first signal (at once if one has already arrived), on a
    /// dispatch queue.
    func onSignal(_ action: @escaping @Sendable () -> Void) {
        let now = lock.withLock { () -> Bool in
            if fired { return true }
            waiters.append(action)
            return false
        }
        if now { action() }
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            onSignal { continuation.resume() }
        }
    }

    /// Runs `body`, cancelled if a signal arrives first (its sleeps then throw).
    func cancelling<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await body() }
        onSignal { task.cancel() }
        return try await task.value
    }
}

/// The first of a termination signal (nil) and a storage failure (its reason).
///
/// `@unchecked Sendable`: state guarded by `lock`.
final class NodeEnding: @unchecked Sendable {
    private let lock = NSLock()
    private var result: String??
    private var waiter: CheckedContinuation<String?, Never>?

    func finish(_ reason: String?) {
        let w = lock.withLock { () -> CheckedContinuation<String?, Never>? in
            guard result == nil else { return nil }
            result = .some(reason)
            defer { waiter = nil }
            return waiter
        }
        w?.resume(returning: reason)
    }

    func wait() async -> String? {
        await withCheckedContinuation { continuation in
            let done = lock.withLock { () -> String?? in
                if let result { return .some(result) }
                waiter = continuation
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }
}

/// Keeps signal sources alive for the life of the process.
enum SignalSources {
    nonisolated(unsafe) static var sources: [DispatchSourceSignal] = []
    static func keep(_ s: DispatchSourceSignal) { sources.append(s) }
}

/// Logs to standard error at `logLevel`; metrics into a Prometheus registry, returned for
/// the process's `/metrics`.
func bootstrapObservability(logLevel: String) -> PrometheusCollectorRegistry {
    let level = Logger.Level(rawValue: logLevel) ?? .info
    LoggingSystem.bootstrap { label in
        var h = StreamLogHandler.standardError(label: label)
        h.logLevel = level
        return h
    }
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    return registry
}
