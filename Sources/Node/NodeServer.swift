import Foundation
import Logging
import Metrics
import NIOCore
import NIOPosix
import NodeRPC
import Prometheus
import Sharding

/// A whole storage node: the runtime, its peer transport and its admin endpoint.
public final class NodeServer<SM: ReplicatedStateMachine>: Sendable {
    public let runtime: NodeRuntime<SM>
    let transport: PeerTransport
    let admin: AdminServer
    let group: MultiThreadedEventLoopGroup
    let entry: ClusterConfig.NodeEntry
    let logger: Logger
    let failure = FailureSignal()

    public init(
        config: ClusterConfig, nodeId: UInt64, stateMachine: SM, registry: PrometheusCollectorRegistry, logger: Logger,
        dataDirectory: String? = nil, limits: ConnectionLimits = ConnectionLimits()
    ) throws {
        guard let entry = config.node(nodeId) else {
            throw ClusterConfig.Invalid(
                description: "node \(nodeId) is not in the cluster definition (ids: \(config.nodes.map(\.id)))")
        }
        self.entry = entry
        self.logger = logger
        let tls = try ClusterTLS.load(config, node: nodeId)
        if tls.isPlaintext {
            logger.warning(
                "\(ClusterTLS.plaintextVariable) is set: no TLS and no peer authentication (benchmarks only)")
        }
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let runtime = try NodeRuntime(
            nodeId: nodeId, config: config, dataDirectory: dataDirectory ?? entry.data, stateMachine: stateMachine,
            logger: logger)
        self.runtime = runtime
        var peers: [UInt64: HostPort] = [:]
        for (id, address) in runtime.addressBook { peers[id] = try? HostPort(address.peer) }
        for n in config.nodes { peers[n.id] = try HostPort(n.peer) }
        for id in runtime.deniedNodes { peers[id] = nil }
        transport = PeerTransport(
            nodeId: nodeId, peers: peers, group: group, tls: tls,
            handlers: .init(
                raft: { _, batch in runtime.submit(.peerMessages(batch)) },
                snapshot: { shard, m in runtime.submit(.snapshot(shard, m)) },
                request: { identity, request, respond in
                    Self.serve(request, from: identity, runtime: runtime, respond: respond)
                },
                unreachable: { peer in runtime.submit(.unreachable(peer)) }),
            metrics: runtime.metrics, logger: logger, limits: limits)
        admin = AdminServer(registry: registry, limits: limits) { reply in
            runtime.status { s in
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                reply((try? encoder.encode(s)) ?? Data())
            }
        }
        let transport = self.transport
        runtime.send = { peer, frame, done in transport.send(to: peer, frame, done: done) }
        runtime.onPeerAddress = { id, address in
            if let peer = try? HostPort(address.peer) { transport.addPeer(id, peer) }
        }
        runtime.onPeerDenied = { id in transport.deny(id) }
        let failure = self.failure
        runtime.onFailure = { reason in failure.fire(reason) }
    }

    private static func serve(
        _ request: ClientRequest, from identity: ClusterIdentity?, runtime: NodeRuntime<SM>,
        respond: @escaping @Sendable (ClientResponse) -> Void
    ) {
        let reply: @Sendable (ClientResponse.Body) -> Void = {
            respond(ClientResponse(correlation: request.correlation, body: $0))
        }
        if let refusal = refusal(of: request.body, from: identity, stateMachine: runtime.stateMachine) {
            runtime.metrics.refusedRequests.increment()
            return reply(.invalid(refusal))
        }
        switch request.body {
        case .propose(let shard, let id, let command):
            runtime.submit(.propose(shard: shard, requestId: id, command: command, reply: reply))
        case .read(let shard, let r):
            runtime.submit(.read(shard: shard, request: r, reply: reply))
        case .localRead(let shard, let r):
            runtime.submit(.localRead(shard: shard, request: r, reply: reply))
        case .backup(let shard, let index, let offset):
            runtime.submit(.backup(shard: shard, index: index, offset: offset, reply: reply))
        case .membership(let shard, let step):
            runtime.submit(.membership(shard: shard, step: step, reply: reply))
        case .reserve(let shard, let r):
            runtime.submit(.reserve(shard: shard, request: r, reply: reply))
        case .release(let shard, let ticket):
            runtime.submit(.release(shard: shard, ticket: ticket, reply: reply))
        case .claim(let boot, let id):
            runtime.submit(.claim(boot: boot, id: id, reply: reply))
        case .status:
            runtime.status { s in reply(.ok((try? JSONEncoder().encode(s)).map(Array.init) ?? [])) }
        }
    }

    /// Why `identity` may not send `body` (nil: it may). Nodes and the operator's tools may
    /// send anything; a front only the state machine's client commands and reads, and
    /// status: never a membership step, a backup copy, or an operator's command (a reshard's
    /// steps, the key-value harness).
    static func refusal(of body: ClientRequest.Body, from identity: ClusterIdentity?, stateMachine: SM) -> String? {
        guard case .front(let name) = identity else { return nil }
        let allowed: Bool
        switch body {
        case .propose(_, _, let command): allowed = stateMachine.access(command: command) == .client
        case .read(_, let r), .localRead(_, let r), .reserve(_, let r):
            allowed = stateMachine.access(read: r) == .client
        case .status, .release, .claim: allowed = true
        case .backup, .membership: allowed = false
        }
        return allowed ? nil : "front \(name)'s certificate may not send this request (it needs the operator's)"
    }

    /// Starts serving; returns once the node listens on its peer and admin addresses.
    public func start() async throws {
        runtime.start(on: group.next())
        try await transport.bind(try HostPort(entry.peer))
        _ = try await admin.bind(try HostPort(entry.admin), group: group)
        let serving =
            "node \(runtime.nodeId) serving peers and clients (mutual TLS) on \(entry.peer), admin on "
            + "\(entry.admin), data in \(entry.data)"
        logger.info("\(serving)")
    }

    /// Calls `action` with the reason once storage has failed and the runtime stopped (at
    /// once if it already has; never otherwise).
    public func whenFailed(_ action: @escaping @Sendable (String) -> Void) { failure.whenFired(action) }

    /// Stops taking work, finishes the current cycle durably, closes connections.
    public func shutdown() async {
        transport.close()
        runtime.stop()
        try? await group.shutdownGracefully()
    }
}

/// A reason given once, to every action registered before or after.
///
/// `@unchecked Sendable`: `reason` and `actions` are guarded by `lock`.
final class FailureSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var reason: String?
    private var actions: [@Sendable (String) -> Void] = []

    func fire(_ reason: String) {
        let run = lock.withLock { () -> [@Sendable (String) -> Void] in
            guard self.reason == nil else { return [] }
            self.reason = reason
            defer { actions = [] }
            return actions
        }
        for a in run { a(reason) }
    }

    func whenFired(_ action: @escaping @Sendable (String) -> Void) {
        let now = lock.withLock { () -> String? in
            if let reason { return reason }
            actions.append(action)
            return nil
        }
        if let now { action(now) }
    }
}
