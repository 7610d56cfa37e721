import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NodeRPC
import Raft
import Sharding

/// Mutual TLS between nodes and from clients, on the node's peer address.
///
/// One connection per peer pair carries every shard's messages: the node with the lower id
/// dials (and redials with backoff), the other accepts. Who is at the other end is what
/// its certificate names (`ClusterIdentity`): a node may send Raft messages, snapshots and
/// client requests, but only as itself; a front or tool may send client requests only.
/// A peer whose unsent bytes pass `limits.pendingBytesPerPeer` gets its frames dropped
/// (Raft retransmits) rather than growing memory; connections, frames and snapshot
/// reassembly are bounded by `limits`.
///
/// `@unchecked Sendable`: `links` and `assemblyBytes` are guarded by `lock`; channels are
/// thread-safe.
public final class PeerTransport: @unchecked Sendable {
    public struct Handlers: Sendable {
        var raft: @Sendable (_ from: UInt64, _ batch: [(UInt32, Raft.Message)]) -> Void
        var snapshot: @Sendable (_ shard: UInt32, _ message: Raft.Message) -> Void
        var request:
            @Sendable (
                _ from: ClusterIdentity?, _ request: ClientRequest,
                _ respond: @escaping @Sendable (ClientResponse) -> Void
            ) -> Void
        var unreachable: @Sendable (_ peer: UInt64) -> Void
    }

    final class Link {
        var channel: Channel?
        var pendingBytes = 0
        var dialing = false
        var backoff: TimeAmount = .milliseconds(50)
    }

    let nodeId: UInt64
    let group: EventLoopGroup
    let logger: Logger
    /// Every node this one may talk to: the definition's, then those membership changes
    /// add (`addPeer`). Guarded by `lock`.
    private var peerAddresses: [UInt64: HostPort]
    let handlers: Handlers
    let metrics: NodeMetrics
    let tls: ClusterTLS
    let limits: ConnectionLimits
    private let lock = NIOLock()
    private var links: [UInt64: Link] = [:]
    private var serverChannel: Channel?
    private var closing = false
    /// Snapshot bytes being reassembled on every connection together.
    private var assemblyBytes = 0
    /// Nodes removed from the cluster. Guarded by `lock`.
    private var denied: Set<UInt64> = []
    /// The peer port's admission (set once, when it binds).
    private(set) var gate: ConnectionGate?

    init(
        nodeId: UInt64, peers: [UInt64: HostPort], group: EventLoopGroup, tls: ClusterTLS, handlers: Handlers,
        metrics: NodeMetrics, logger: Logger, limits: ConnectionLimits = ConnectionLimits()
    ) {
        self.nodeId = nodeId
        self.peerAddresses = peers
        self.group = group
        self.tls = tls
        self.handlers = handlers
        self.metrics = metrics
        self.logger = logger
        self.limits = limits
        for id in peers.keys where id != nodeId { links[id] = Link() }
    }

    public func bind(_ address: HostPort) async throws {
        let gate = ConnectionGate(
            .init(
                unauthenticated: limits.unauthenticated, perAddress: limits.unauthenticatedPerAddress,
                authenticated: limits.connections)
        ) { [logger] why in logger.warning("refused a connection on \(address): \(why)") }
        self.gate = gate
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ConnectionGate.Acceptor(gate))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try tls.secureAccepted(channel, handshakeTimeout: limits.handshakeTimeout) { identity in
                        switch identity {
                        case .node(let id): self.isPeer(id)
                        case .front, .operator: true
                        }
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        ConnectionGate.Promoter(gate: gate, ticket: gate.ticket(for: channel)))
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(transport: self, expecting: nil))
                }
            }
            .bind(host: address.host, port: address.port).get()
        let ids = lock.withLock { () -> [UInt64] in
            serverChannel = channel
            return Array(peerAddresses.keys)
        }
        for id in ids where id > nodeId { dial(id) }
    }

    func isPeer(_ id: UInt64) -> Bool { lock.withLock { peerAddresses[id] != nil && !denied.contains(id) } }

    /// A node removed from the cluster: no longer dialled, its certificate refused from now
    /// on, what it sends dropped; its link is closed a little later, so the last messages
    /// the group sent it (the heartbeat that tells it of its removal) still reach it.
    func deny(_ id: UInt64) {
        let channel = lock.withLock { () -> Channel? in
            denied.insert(id)
            peerAddresses[id] = nil
            return links.removeValue(forKey: id)?.channel
        }
        channel?.eventLoop.scheduleTask(in: .seconds(2)) { channel?.close(promise: nil) }
    }

    func isDenied(_ id: UInt64) -> Bool { lock.withLock { denied.contains(id) } }

    /// A node learned from a membership change: it may connect, and (as for every peer with
    /// a higher id) this node dials it. A changed address takes effect at the next dial.
    func addPeer(_ id: UInt64, _ address: HostPort) {
        guard id != nodeId else { return }
        let isNew = lock.withLock { () -> Bool in
            guard !denied.contains(id) else { return false }
            let isNew = peerAddresses[id] == nil
            peerAddresses[id] = address
            if links[id] == nil { links[id] = Link() }
            return isNew && serverChannel != nil
        }
        if isNew && id > nodeId { dial(id) }
    }

    public func close() {
        let (server, channels) = lock.withLock { () -> (Channel?, [Channel]) in
            closing = true
            return (serverChannel, links.values.compactMap(\.channel))
        }
        server?.close(promise: nil)
        for c in channels { c.close(promise: nil) }
    }

    private func dial(_ peer: UInt64) {
        guard let address = lock.withLock({ peerAddresses[peer] }) else { return }
        let go = lock.withLock { () -> Bool in
            guard !closing, let link = links[peer], link.channel == nil, !link.dialing else { return false }
            link.dialing = true
            return true
        }
        guard go else { return }
        ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(2))
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try tls.secureDialed(channel, expecting: .node(peer), handshakeTimeout: limits.handshakeTimeout)
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(transport: self, expecting: peer))
                }
            }
            .connect(host: address.host, port: address.port)
            .whenComplete { [self] result in
                switch result {
                case .success(let channel):
                    var hello = BinaryWriter()
                    hello.u64(nodeId)
                    channel.writeAndFlush(Frame(kind: .hello, payload: hello.bytes), promise: nil)
                    // Registered once the handshake shows the peer is that node; a
                    // connection closed before then (refused certificate, timeout) is a
                    // failed dial.
                    channel.closeFuture.whenComplete { [self] _ in
                        let registered = lock.withLock { links[peer]?.channel === channel }
                        if !registered { dialFailed(peer) }
                    }
                case .failure:
                    dialFailed(peer)
                }
            }
    }

    private func dialFailed(_ peer: UInt64) {
        let delay = lock.withLock { () -> TimeAmount? in
            guard let link = links[peer], link.dialing else { return nil }
            link.dialing = false
            let d = link.backoff
            link.backoff = min(link.backoff * 2, .seconds(2))
            return d
        }
        guard let delay else { return }
        group.next().scheduleTask(in: delay) { [self] in dial(peer) }
    }

    func register(_ peer: UInt64, _ channel: Channel, dialed: Bool) {
        let old = lock.withLock { () -> Channel? in
            guard let link = links[peer] else { return nil }
            let old = link.channel
            link.channel = channel
            link.dialing = false
            link.pendingBytes = 0
            if dialed { link.backoff = .milliseconds(50) }
            return old
        }
        if let old, old !== channel { old.close(promise: nil) }
        logger.info("connected to node \(peer)")
        channel.closeFuture.whenComplete { [self] _ in
            let redial = lock.withLock { () -> Bool in
                guard let link = links[peer], link.channel === channel else { return false }
                link.channel = nil
                return !closing
            }
            guard redial else { return }
            logger.info("connection to node \(peer) closed")
            handlers.unreachable(peer)
            if peer > nodeId { group.next().scheduleTask(in: .milliseconds(50)) { [self] in dial(peer) } }
        }
    }

    /// Queues `frame` for `peer`; false (and the frame dropped) when there is no connection
    /// or too much is already queued.
    @discardableResult
    func send(to peer: UInt64, _ frame: Frame, done: (@Sendable (Bool) -> Void)? = nil) -> Bool {
        let size = frame.payload.count + 6
        let channel = lock.withLock { () -> Channel? in
            guard let link = links[peer], let channel = link.channel,
                link.pendingBytes + size <= limits.pendingBytesPerPeer
            else { return nil }
            link.pendingBytes += size
            return channel
        }
        guard let channel else {
            metrics.droppedFrames.increment()
            done?(false)
            return false
        }
        metrics.bytesOut.increment(by: size)
        let promise = channel.eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenComplete { [self] result in
            lock.withLock { if let link = links[peer], link.channel === channel { link.pendingBytes -= size } }
            if case .success = result { done?(true) } else { done?(false) }
        }
        channel.writeAndFlush(frame, promise: promise)
        return true
    }

    /// Takes `bytes` more of the node-wide snapshot reassembly budget; false when it is spent.
    func reserveAssembly(_ bytes: Int) -> Bool {
        lock.withLock {
            guard assemblyBytes + bytes <= limits.snapshotAssemblyTotal else { return false }
            assemblyBytes += bytes
            return true
        }
    }

    func releaseAssembly(_ bytes: Int) {
        lock.withLock { assemblyBytes -= bytes }
    }
}
