import NIOConcurrencyHelpers
import NIOCore

/// What one listening port lets its connections use, so that a flood of connections or of
/// bytes costs bounded memory and the port keeps serving.
public struct ConnectionLimits: Sendable {
    /// Authenticated connections (a cluster certificate checked) open at once; past it a
    /// newly identified one is closed.
    public var connections = 1024
    /// Connections still in their handshake, at once: what anybody who can reach the port
    /// can hold, kept apart from `connections` so a flood of them never takes the places of
    /// peers and fronts.
    public var unauthenticated = 256
    /// Connections still in their handshake from one address.
    public var unauthenticatedPerAddress = 32
    /// Time from accepting a connection to a finished TLS handshake with an admitted
    /// certificate (a handshake takes milliseconds; a slow link, well under a second).
    public var handshakeTimeout: TimeAmount = .seconds(3)
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

/// Admission on a port whose connections authenticate: a connection is admitted into the
/// handshake pool (`unauthenticated`, at most `perAddress` from one address) and moved into
/// the authenticated pool (`authenticated`) when its certificate is checked; each pool
/// closes what does not fit. A flood of connections that never authenticate fills only the
/// first pool, and only up to its cap per address, so peers and fronts always have room.
///
/// `@unchecked Sendable`: the counts are guarded by `lock`.
public final class ConnectionGate: @unchecked Sendable {
    public struct Limits: Sendable {
        public var unauthenticated: Int
        public var perAddress: Int
        public var authenticated: Int

        public init(unauthenticated: Int, perAddress: Int, authenticated: Int) {
            self.unauthenticated = unauthenticated
            self.perAddress = perAddress
            self.authenticated = authenticated
        }
    }

    /// Why a connection was closed at the gate.
    public enum Refusal: Error, Sendable, CustomStringConvertible {
        case handshakes(Int)
        case fromAddress(String, Int)
        case authenticated(Int)

        public var description: String {
            switch self {
            case .handshakes(let n): "already \(n) connections in their handshake, the limit"
            case .fromAddress(let a, let n): "already \(n) connections in their handshake from \(a), the limit"
            case .authenticated(let n): "already \(n) authenticated connections open, the limit"
            }
        }
    }

    let limits: Limits
    let refused: @Sendable (Refusal) -> Void
    private let lock = NIOLock()
    private var handshaking = 0
    private var byAddress: [String: Int] = [:]
    private var authenticated = 0
    private var tickets: [ObjectIdentifier: Ticket] = [:]

    public init(_ limits: Limits, refused: @escaping @Sendable (Refusal) -> Void) {
        self.limits = limits
        self.refused = refused
    }

    /// One admitted connection's place in the gate.
    public final class Ticket: @unchecked Sendable {
        // @unchecked: `state` is guarded by the gate's lock.
        enum State { case handshaking, authenticated, closed }
        let address: String
        var state = State.handshaking
        init(address: String) { self.address = address }
    }

    public var counts: (handshaking: Int, authenticated: Int) { lock.withLock { (handshaking, authenticated) } }

    /// Admits an accepted connection into the handshake pool, or refuses it.
    func admit(_ channel: Channel) -> Ticket? {
        let address = channel.remoteAddress?.ipAddress ?? "?"
        let outcome = lock.withLock { () -> Result<Ticket, Refusal> in
            guard handshaking < limits.unauthenticated else { return .failure(.handshakes(limits.unauthenticated)) }
            guard byAddress[address, default: 0] < limits.perAddress else {
                return .failure(.fromAddress(address, limits.perAddress))
            }
            handshaking += 1
            byAddress[address, default: 0] += 1
            let ticket = Ticket(address: address)
            tickets[ObjectIdentifier(channel)] = ticket
            return .success(ticket)
        }
        switch outcome {
        case .success(let ticket):
            channel.closeFuture.whenComplete { [self] _ in release(ticket, channel) }
            return ticket
        case .failure(let why):
            refused(why)
            return nil
        }
    }

    /// The ticket of an admitted connection (taken by its pipeline once).
    public func ticket(for channel: Channel) -> Ticket? {
        lock.withLock { tickets.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Moves a connection whose certificate was checked into the authenticated pool; false
    /// (and the caller closes it) when that pool is full.
    public func authenticate(_ ticket: Ticket) -> Bool {
        let ok = lock.withLock { () -> Bool in
            guard ticket.state == .handshaking else { return ticket.state == .authenticated }
            leaveHandshake(ticket)
            guard authenticated < limits.authenticated else {
                ticket.state = .closed
                return false
            }
            authenticated += 1
            ticket.state = .authenticated
            return true
        }
        if !ok { refused(.authenticated(limits.authenticated)) }
        return ok
    }

    private func release(_ ticket: Ticket, _ channel: Channel) {
        lock.withLock {
            tickets.removeValue(forKey: ObjectIdentifier(channel))
            switch ticket.state {
            case .handshaking: leaveHandshake(ticket)
            case .authenticated: authenticated -= 1
            case .closed: break
            }
            ticket.state = .closed
        }
    }

    /// Under `lock`.
    private func leaveHandshake(_ ticket: Ticket) {
        handshaking -= 1
        let left = byAddress[ticket.address, default: 1] - 1
        byAddress[ticket.address] = left > 0 ? left : nil
    }

    /// On the server channel: admits each accepted connection or closes it at once.
    public final class Acceptor: ChannelInboundHandler, Sendable {
        public typealias InboundIn = Channel
        public typealias InboundOut = Channel
        let gate: ConnectionGate

        public init(_ gate: ConnectionGate) { self.gate = gate }

        public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let child = unwrapInboundIn(data)
            guard gate.admit(child) != nil else { return child.close(promise: nil) }
            context.fireChannelRead(data)
        }
    }

    /// In an accepted connection's pipeline, after the identity check: moves the connection
    /// into the authenticated pool when its peer is identified (closes it if that is full).
    public final class Promoter: ChannelInboundHandler, RemovableChannelHandler {
        public typealias InboundIn = NIOAny
        let gate: ConnectionGate
        let ticket: ConnectionGate.Ticket?

        public init(gate: ConnectionGate, ticket: ConnectionGate.Ticket?) {
            self.gate = gate
            self.ticket = ticket
        }

        public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if event is IdentityCheck.Identified, let ticket, !gate.authenticate(ticket) {
                return context.close(promise: nil)
            }
            context.fireUserInboundEventTriggered(event)
        }
    }
}
