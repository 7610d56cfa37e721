import NIOConcurrencyHelpers
import NIOCore

/// What one listening port lets its connections use, so that a flood of connections or of
/// bytes costs bounded memory and the port keeps serving.
public struct ConnectionLimits: Sendable {
    /// Open connections at once; more are closed as they are accepted.
    public var connections = 1024
    /// Time from accepting a connection to a finished TLS handshake with an admitted
    /// certificate.
    public var handshakeTimeout: TimeAmount = .seconds(5)
    /// A node connection that reads nothing for this long is closed (peers send heartbeats
    /// every tick).
    public var nodeIdleTimeout: TimeAmount = .seconds(30)
    /// A front's or tool's connection that reads nothing for this long is closed (a client
    /// opens a new one when it next calls).
    public var clientIdleTimeout: TimeAmount = .seconds(300)
    /// The largest frame a node may send (Raft appends are capped at 4 MiB, snapshot chunks
    /// at 1 MiB).
    public var nodeFrameBytes = Frame.maxSize
    /// The largest frame a front or tool may send: a request for one API call.
    public var clientFrameBytes = 2 << 20
    /// Snapshot bytes one connection may hold while reassembling, and all together.
    public var snapshotAssemblyPerConnection = 1 << 30
    public var snapshotAssemblyTotal = 2 << 30
    /// Bytes queued for one peer before its frames are dropped.
    public var pendingBytesPerPeer = 64 << 20

    public init() {}
}

/// On a server channel: counts the open connections it accepts and closes those past
/// `limit` at once.
///
/// `@unchecked Sendable`: `open` is guarded by `lock` (accepted channels close on any loop).
public final class ConnectionCounter: ChannelInboundHandler, @unchecked Sendable {
    public typealias InboundIn = Channel
    public typealias InboundOut = Channel

    let limit: Int
    let refused: @Sendable (Int) -> Void
    private let lock = NIOLock()
    private var open = 0

    public init(limit: Int, refused: @escaping @Sendable (Int) -> Void) {
        self.limit = limit
        self.refused = refused
    }

    public var count: Int { lock.withLock { open } }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let child = unwrapInboundIn(data)
        let admitted = lock.withLock { () -> Bool in
            guard open < limit else { return false }
            open += 1
            return true
        }
        guard admitted else {
            refused(limit)
            child.close(promise: nil)
            return
        }
        child.closeFuture.whenComplete { [self] _ in lock.withLock { open -= 1 } }
        context.fireChannelRead(data)
    }
}
