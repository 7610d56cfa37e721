import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Raft

/// TCP between nodes and from clients, on the node's peer address.
///
/// One connection per peer pair carries every shard's messages: the node with the lower id
/// dials (and redials with backoff), the other accepts and recognises the peer by its hello.
/// Clients connect to the same port and speak requests. A peer whose unsent bytes pass
/// `maxPendingBytes` gets its frames dropped (Raft retransmits) rather than growing memory.
///
/// `@unchecked Sendable`: `links` is guarded by `lock`; channels are thread-safe.
public final class PeerTransport: @unchecked Sendable {
    public struct Handlers: Sendable {
        var raft: @Sendable (_ from: UInt64, _ batch: [(UInt32, Raft.Message)]) -> Void
        var snapshot: @Sendable (_ shard: UInt32, _ message: Raft.Message) -> Void
        var request: @Sendable (_ request: ClientRequest, _ respond: @escaping @Sendable (ClientResponse) -> Void) -> Void
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
    let peers: [UInt64: HostPort]
    let handlers: Handlers
    let metrics: NodeMetrics
    let maxPendingBytes: Int
    private let lock = NIOLock()
    private var links: [UInt64: Link] = [:]
    private var serverChannel: Channel?
    private var closing = false

    init(
        nodeId: UInt64, peers: [UInt64: HostPort], group: EventLoopGroup, handlers: Handlers, metrics: NodeMetrics,
        logger: Logger, maxPendingBytes: Int = 64 << 20
    ) {
        self.nodeId = nodeId
        self.peers = peers
        self.group = group
        self.handlers = handlers
        self.metrics = metrics
        self.logger = logger
        self.maxPendingBytes = maxPendingBytes
        for id in peers.keys where id != nodeId { links[id] = Link() }
    }

    func pipeline(_ channel: Channel) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
            try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(FrameEncoder()))
            try channel.pipeline.syncOperations.addHandler(ConnectionHandler(transport: self))
        }
    }

    public func bind(_ address: HostPort) async throws {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in pipeline(channel) }
            .bind(host: address.host, port: address.port).get()
        lock.withLock { serverChannel = channel }
        for id in peers.keys where id > nodeId { dial(id) }
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
        guard let address = peers[peer] else { return }
        let go = lock.withLock { () -> Bool in
            guard !closing, let link = links[peer], link.channel == nil, !link.dialing else { return false }
            link.dialing = true
            return true
        }
        guard go else { return }
        ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(2))
            .channelInitializer { [self] channel in pipeline(channel) }
            .connect(host: address.host, port: address.port)
            .whenComplete { [self] result in
                switch result {
                case .success(let channel):
                    var hello = BinaryWriter()
                    hello.u64(nodeId)
                    channel.writeAndFlush(Frame(kind: .hello, payload: hello.bytes), promise: nil)
                    register(peer, channel, dialed: true)
                case .failure:
                    let delay = lock.withLock { () -> TimeAmount in
                        let link = links[peer]!
                        link.dialing = false
                        let d = link.backoff
                        link.backoff = min(link.backoff * 2, .seconds(2))
                        return d
                    }
                    group.next().scheduleTask(in: delay) { [self] in dial(peer) }
                }
            }
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
            guard let link = links[peer], let channel = link.channel, link.pendingBytes + size <= maxPendingBytes else { return nil }
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

    /// Reassembles snapshot chunks per (connection, shard).
    final class Assembler {
        var parts: [UInt32: [[UInt8]]] = [:]
    }

    /// Per-connection: routes frames, answers client requests, closes on garbage.
    final class ConnectionHandler: ChannelInboundHandler {
        typealias InboundIn = Frame
        typealias OutboundOut = Frame
        let transport: PeerTransport
        var peer: UInt64?
        let assembler = Assembler()

        init(transport: PeerTransport) { self.transport = transport }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            transport.metrics.bytesIn.increment(by: frame.payload.count + 6)
            do {
                try route(frame, context: context)
            } catch {
                transport.logger.error("closing connection from \(context.remoteAddress?.description ?? "?"): malformed \(frame.kind) frame: \(error)")
                context.close(promise: nil)
            }
        }

        private func route(_ frame: Frame, context: ChannelHandlerContext) throws {
            switch frame.kind {
            case .hello:
                var r = BinaryReader(frame.payload)
                let id = try r.u64()
                guard transport.peers[id] != nil, id != transport.nodeId else {
                    throw FrameError(description: "hello from unknown node \(id)")
                }
                peer = id
                transport.register(id, context.channel, dialed: false)
            case .raft:
                let batch = try RaftBatch.decode(frame.payload)
                guard let from = peer ?? batch.first.map({ $0.1.from }), batch.allSatisfy({ $0.1.from == from && $0.1.to == transport.nodeId }) else {
                    throw FrameError(description: "raft messages not addressed from this peer to this node")
                }
                transport.handlers.raft(from, batch)
            case .snapshotChunk:
                let chunk = try SnapshotChunk(decoding: frame.payload)
                guard chunk.message.to == transport.nodeId else { throw FrameError(description: "snapshot for another node") }
                var parts = chunk.chunk == 0 ? [] : assembler.parts[chunk.shard] ?? []
                guard parts.count == Int(chunk.chunk) else { throw FrameError(description: "snapshot chunk out of order") }
                parts.append(chunk.data)
                if parts.count == Int(chunk.chunks) {
                    assembler.parts[chunk.shard] = nil
                    var m = chunk.message
                    m.snapshot = Raft.Snapshot(metadata: chunk.metadata, data: Array(parts.joined()))
                    transport.handlers.snapshot(chunk.shard, m)
                } else {
                    assembler.parts[chunk.shard] = parts
                }
            case .request:
                let request = try ClientRequest(decoding: frame.payload)
                let channel = context.channel
                transport.handlers.request(request) { response in
                    channel.writeAndFlush(Frame(kind: .response, payload: response.encode()), promise: nil)
                }
            case .response:
                throw FrameError(description: "a node does not take responses")
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            transport.logger.error("closing connection from \(context.remoteAddress?.description ?? "?"): \(error)")
            context.close(promise: nil)
        }
    }
}

