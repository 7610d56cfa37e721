import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Sharding

/// Why a client call gave up.
public struct NodeClientError: Error, CustomStringConvertible {
    public var description: String
}

/// Talks to storage nodes over the client RPC: finds each shard's leader (following
/// NotLeader hints, caching what it learns), retries with backoff within a deadline, and
/// keeps one connection per node for each event loop that calls it.
///
/// A call made on one of `group`'s loops goes out on that loop's own connection, so the
/// reply arrives on the caller's thread and the task resumes there. With one connection per
/// node shared by all loops, every caller migrated to whichever loop held its node's
/// connection, and the work after a read (a sign-in's crypto) piled up on those loops:
/// three nodes on two loops ran the front's two loops at 2:1 and left a core idle part of
/// the time.
///
/// `@unchecked Sendable`: mutable state (`connections`, `leaders`, `correlation`) is under
/// `lock`.
public final class NodeClient: @unchecked Sendable {
    let config: ClusterConfig
    let tls: ClusterTLS
    let placement: Placement
    let group: EventLoopGroup
    let ownsGroup: Bool
    private let lock = NIOLock()
    private var connections: [ConnectionKey: EventLoopFuture<Connection>] = [:]
    /// The loops of `group`, to tell a caller on one of them from any other thread.
    private let ownLoops: Set<ObjectIdentifier>
    private var leaders: [UInt32: UInt64] = [:]
    /// Each shard's voters as the nodes last reported them; they replace the founding
    /// placement once membership changed (`refreshMembers`).
    private var members: [UInt32: [UInt64]] = [:]
    private var membersAsked: ContinuousClock.Instant?
    /// Nodes the definition does not list, with the addresses the nodes reported.
    private var learned: [UInt64: HostPort] = [:]
    /// Nodes that just let a call time out (paused, partitioned), until when they are
    /// skipped: a NotLeader hint naming one is not followed before then.
    private var suspects: [UInt64: ContinuousClock.Instant] = [:]
    private var correlation: UInt64 = 0
    /// One attempt's share of a routed call's deadline: a node that stopped answering costs
    /// this much before the next replica is tried, not the whole deadline.
    let attemptTimeout: Duration

    /// A client that presents `tls`'s certificate (by default the definition's front
    /// certificate) to the nodes and accepts only theirs.
    /// `role`: the certificate presented, a front's (user-pool reads and writes) or the
    /// operator's (every request; the tools').
    public init(
        config: ClusterConfig, tls: ClusterTLS? = nil, group: EventLoopGroup? = nil, role: ClientRole = .operator
    ) throws {
        self.config = config
        self.tls = try tls ?? ClusterTLS.load(config, node: nil, role: role)
        self.placement = config.placement
        attemptTimeout = .milliseconds(config.tickMilliseconds * config.electionTicks + 250)
        self.ownsGroup = group == nil
        let group = group ?? MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.group = group
        ownLoops = Set(group.makeIterator().map { ObjectIdentifier($0) })
    }

    public func close() async {
        let all = lock.withLock { Array(connections.values) }
        for c in all { try? await c.get().channel.close() }
        if ownsGroup { try? await group.shutdownGracefully() }
    }

    /// The shard for a key of the KV harness: jump hash over the user shards.
    public func shard(forKey key: [UInt8]) -> UInt32 {
        var h = FNV1a()
        h.add(key)
        return UInt32(jumpHash(h.value, buckets: Int32(placement.shards))) + 1
    }

    // MARK: Calls

    /// Proposes `command` to `shard`'s leader and returns the state machine's reply.
    /// The same `requestId` is used on every retry, so the command applies at most once.
    public func propose(
        shard: UInt32, requestId: [UInt8], command: [UInt8], timeout: Duration = .seconds(5)
    ) async throws -> [UInt8] {
        try await routed(shard: shard, timeout: timeout) {
            .propose(shard: shard, requestId: requestId, command: command)
        }
    }

    /// A linearizable read on `shard`'s leader.
    public func read(shard: UInt32, request: [UInt8], timeout: Duration = .seconds(5)) async throws -> [UInt8] {
        try await routed(shard: shard, timeout: timeout) { .read(shard: shard, request: request) }
    }

    /// A reserving read on `shard`'s leader: its reply, and the ticket to give back with
    /// `release` (on the node that granted it) once the work it serialises is done.
    public func reserve(shard: UInt32, request: [UInt8], timeout: Duration = .seconds(5)) async throws -> ReservedReply
    {
        try ReservedReply(
            decoding: try await routed(shard: shard, timeout: timeout) {
                .reserve(shard: shard, request: request)
            })
    }

    /// Gives back what a reserving read holds, without waiting for the node's answer: the
    /// answer a sign-in gives must not wait on a node that stopped after granting its slot.
    /// A release that does not arrive is made by the node itself after
    /// `SlotTable.ticketMilliseconds`.
    public func release(_ reserved: ReservedReply, shard: UInt32) async {
        guard reserved.ticket != 0 else { return }
        let body = ClientRequest.Body.release(shard: shard, ticket: reserved.ticket)
        Task { _ = try? await self.call(node: reserved.node, body, timeout: .seconds(2)) }
    }

    /// Claims a once id on the node that issued it: true the first time.
    public func claim(node: UInt64, boot: UInt64, id: [UInt8], timeout: Duration = .seconds(2)) async -> Bool {
        guard case .ok(let answer)? = try? await call(node: node, .claim(boot: boot, id: id), timeout: timeout) else {
            return false
        }
        return answer == [1]
    }

    /// A read of one node's own replica.
    public func localRead(node: UInt64, shard: UInt32, request: [UInt8]) async throws -> [UInt8] {
        let response = try await call(node: node, .localRead(shard: shard, request: request), timeout: .seconds(5))
        guard case .ok(let bytes) = response else { throw NodeClientError(description: "node \(node): \(response)") }
        return bytes
    }

    public func status(node: UInt64, timeout: Duration = .seconds(3)) async throws -> NodeStatus {
        let response = try await call(node: node, .status, timeout: timeout)
        guard case .ok(let bytes) = response else { throw NodeClientError(description: "node \(node): \(response)") }
        return try JSONDecoder().decode(NodeStatus.self, from: Data(bytes))
    }

    /// Starts a backup of `shard` on its leader: a new copy of its state machine holding every
    /// write acknowledged before this call; the first chunk names the node that holds it.
    public func startBackup(shard: UInt32, timeout: Duration = .seconds(30)) async throws -> BackupChunk {
        try BackupChunk(
            decoding: try await routed(shard: shard, timeout: timeout) { .backup(shard: shard, index: 0, offset: 0) })
    }

    /// The next chunk of the copy `first` began, from the node that holds it.
    public func backupChunk(
        of first: BackupChunk, offset: UInt64, timeout: Duration = .seconds(30)
    ) async throws
        -> BackupChunk
    {
        let response = try await call(
            node: first.node, .backup(shard: first.shard, index: first.index, offset: offset), timeout: timeout)
        guard case .ok(let bytes) = response else {
            throw NodeClientError(description: "node \(first.node): \(response)")
        }
        return try BackupChunk(decoding: bytes)
    }

    /// One membership step on one node (`addReplica`, `dropReplica`).
    public func membership(
        node: UInt64, shard: UInt32, _ step: MembershipStep, timeout: Duration = .seconds(10)
    ) async throws {
        let response = try await call(node: node, .membership(shard: shard, step: step), timeout: timeout)
        guard case .ok = response else { throw NodeClientError(description: "node \(node): \(response)") }
    }

    /// A membership step on `shard`'s leader (`change`, `transferLeader`): a change is
    /// answered once applied there.
    public func membership(shard: UInt32, _ step: MembershipStep, timeout: Duration = .seconds(30)) async throws {
        _ = try await routed(shard: shard, timeout: timeout) { .membership(shard: shard, step: step) }
    }

    /// The leader this client believes `shard` has.
    public func cachedLeader(of shard: UInt32) -> UInt64? { lock.withLock { leaders[shard] } }

    /// The nodes to ask for `shard`: its voters as last reported, else the founding placement.
    public func replicas(of shard: UInt32) -> [UInt64] {
        lock.withLock { members[shard] } ?? placement.replicas(of: shard)
    }

    /// Asks every node of the definition for its shards' voters (at most once a second):
    /// for each shard the view of the highest term wins, a leader's over a follower's.
    public func refreshMembers() async {
        let now = ContinuousClock.now
        let due = lock.withLock { () -> Bool in
            if let asked = membersAsked, now - asked < .seconds(1) { return false }
            membersAsked = now
            return true
        }
        guard due else { return }
        let statuses = await withTaskGroup(of: NodeStatus?.self) { group in
            for id in knownNodes { group.addTask { try? await self.status(node: id, timeout: .seconds(1)) } }
            var all: [NodeStatus] = []
            for await s in group { if let s { all.append(s) } }
            return all
        }
        learn(from: statuses)
        var best: [UInt32: (rank: (UInt64, Int), shard: NodeStatus.Shard)] = [:]
        for status in statuses {
            for s in status.shards where !s.voters.isEmpty {
                let rank = (s.term, s.role == "leader" ? 1 : 0)
                if let b = best[s.shard], b.rank >= rank { continue }
                best[s.shard] = (rank, s)
            }
        }
        lock.withLock {
            for (shard, b) in best {
                members[shard] = b.shard.voters
                if b.shard.leader != 0 && b.shard.voters.contains(b.shard.leader) { leaders[shard] = b.shard.leader }
            }
        }
    }

    /// The definition's nodes and those learned from the nodes' status.
    public var knownNodes: [UInt64] {
        let extra = lock.withLock { Array(learned.keys) }
        return config.nodes.map(\.id) + extra.filter { config.node($0) == nil }.sorted()
    }

    /// Remembers where a node the definition does not list is.
    public func learn(node: UInt64, address: NodeAddress) {
        guard config.node(node) == nil, let peer = try? HostPort(address.peer) else { return }
        lock.withLock { learned[node] = peer }
    }

    /// Remembers the nodes the statuses name that the definition does not list.
    public func learn(from statuses: [NodeStatus]) {
        for status in statuses {
            for (id, address) in status.peers ?? [:] {
                if let node = UInt64(id) { learn(node: node, address: address) }
            }
        }
    }

    private func routed(shard: UInt32, timeout: Duration, _ body: () -> ClientRequest.Body) async throws -> [UInt8] {
        var replicas = replicas(of: shard)
        guard !replicas.isEmpty else { throw NodeClientError(description: "no replicas for shard \(shard)") }
        let deadline = ContinuousClock.now + timeout
        var attempt = 0
        var lastProblem = "no attempt"
        func next(after node: UInt64) -> UInt64 {
            // The next replica that is not a suspect (or simply the next one if all are).
            let now = ContinuousClock.now
            let start = replicas.firstIndex(of: node) ?? -1
            for step in 1...replicas.count {
                let candidate = replicas[(start + step + replicas.count) % replicas.count]
                if !isSuspect(candidate, at: now) { return candidate }
            }
            return replicas[(start + 1 + replicas.count) % replicas.count]
        }
        var target = lock.withLock { leaders[shard] } ?? replicas[0]
        if isSuspect(target, at: .now) { target = next(after: target) }
        while ContinuousClock.now < deadline {
            attempt += 1
            do {
                let budget = min(deadline - ContinuousClock.now, attemptTimeout)
                let response = try await call(node: target, body(), timeout: budget)
                switch response {
                case .ok(let bytes):
                    lock.withLock {
                        leaders[shard] = target
                        suspects[target] = nil
                    }
                    return bytes
                case .notLeader(let hint):
                    lastProblem = "node \(target) is not the leader of shard \(shard)"
                    if hint != 0 && !replicas.contains(hint) {
                        // A member this client has not heard of: the shard's members changed.
                        await refreshMembers()
                        replicas = self.replicas(of: shard)
                    }
                    if hint != 0, replicas.contains(hint), hint != target, !isSuspect(hint, at: .now) {
                        target = hint
                        lock.withLock { leaders[shard] = hint }
                        continue
                    }
                    target = next(after: target)
                case .unavailable(let why):
                    lastProblem = why
                case .invalid(let why):
                    throw NodeClientError(description: why)
                case .noReplica(let why):
                    // The shard moved off that node: learn where it is now.
                    lastProblem = why
                    lock.withLock { if leaders[shard] == target { leaders[shard] = nil } }
                    await refreshMembers()
                    replicas = self.replicas(of: shard)
                    target =
                        lock.withLock { leaders[shard] }.flatMap { replicas.contains($0) ? $0 : nil }
                        ?? next(after: target)
                }
            } catch let error as NodeClientError {
                throw error
            } catch {
                lastProblem = "node \(target): \(error)"
                let failed = target
                lock.withLock {
                    // Every shard it led is in doubt, not only this one.
                    leaders = leaders.filter { $0.value != failed }
                    suspects[failed] = ContinuousClock.now + attemptTimeout * 2
                }
                target = next(after: failed)
            }
            try await Task.sleep(for: .milliseconds(min(10 * attempt, 100)))
        }
        throw NodeClientError(description: "shard \(shard): no answer within \(timeout) (last: \(lastProblem))")
    }

    private func isSuspect(_ node: UInt64, at now: ContinuousClock.Instant) -> Bool {
        lock.withLock {
            guard let until = suspects[node] else { return false }
            if until <= now {
                suspects[node] = nil
                return false
            }
            return true
        }
    }

    struct Timeout: Error, CustomStringConvertible {
        var description: String { "timed out" }
    }

    private func call(node: UInt64, _ body: ClientRequest.Body, timeout: Duration) async throws -> ClientResponse.Body {
        let connection = try await connect(node)
        let id = lock.withLock { () -> UInt64 in
            correlation += 1
            return correlation
        }
        let promise = connection.channel.eventLoop.makePromise(of: ClientResponse.self)
        connection.handler.expect(id, promise, on: connection.channel.eventLoop)
        connection.channel.writeAndFlush(
            Frame(kind: .request, payload: ClientRequest(correlation: id, body: body).encode()), promise: nil)
        let ms = max(
            1, Int64(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000))
        let timer = connection.channel.eventLoop.scheduleTask(in: .milliseconds(ms)) { promise.fail(Timeout()) }
        defer { timer.cancel() }
        do {
            return try await promise.futureResult.get().body
        } catch let timeout as Timeout {
            // The connection may be stuck behind data TCP is still retransmitting: after a
            // partition heals, TCP resends only at its next backed-off retry, seconds later,
            // and every call written behind it waits too. A fresh connection is answered at
            // once (the next call opens one); calls still waiting on this one fail over.
            connection.channel.close(promise: nil)
            throw timeout
        }
    }

    /// The caller's own loop when it is one of `group`'s, else the group's next one.
    private func homeLoop() -> EventLoop {
        if let current = MultiThreadedEventLoopGroup.currentEventLoop, ownLoops.contains(ObjectIdentifier(current)) {
            return current
        }
        return group.next()
    }

    struct ConnectionKey: Hashable {
        var node: UInt64
        var loop: ObjectIdentifier
    }

    private func connect(_ node: UInt64) async throws -> Connection {
        let loop = homeLoop()
        let key = ConnectionKey(node: node, loop: ObjectIdentifier(loop))
        let future = lock.withLock { () -> EventLoopFuture<Connection>? in
            if let existing = connections[key] { return existing }
            guard let address = config.node(node).flatMap({ try? HostPort($0.peer) }) ?? learned[node] else {
                return nil
            }
            let handler = ResponseHandler()
            let tls = self.tls
            let f = ClientBootstrap(group: loop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(.seconds(1))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try tls.secureDialed(channel, expecting: .node(node), handshakeTimeout: .seconds(5))
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(ResponseDecoder()))
                        try channel.pipeline.syncOperations.addHandler(FrameWriter(deferFlushes: true))
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
                .connect(host: address.host, port: address.port)
                .map { Connection(channel: $0, handler: handler) }
            connections[key] = f
            return f
        }
        guard let future else {
            throw NodeClientError(
                description: "node \(node) is not in the cluster definition, and no node named its address")
        }
        do {
            let c = try await future.get()
            c.channel.closeFuture.whenComplete { [weak self] _ in
                self?.lock.withLock { if self?.connections[key] === future { self?.connections[key] = nil } }
            }
            return c
        } catch {
            lock.withLock { if connections[key] === future { connections[key] = nil } }
            throw error
        }
    }

    struct Connection {
        let channel: Channel
        let handler: ResponseHandler
    }

    struct ResponseDecoder: ByteToMessageDecoder {
        typealias InboundOut = Frame
        var inner = FrameDecoder()
        mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
            try inner.decode(context: context, buffer: &buffer)
        }
    }

    /// Matches responses to waiting calls; fails them all when the connection drops.
    final class ResponseHandler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = Frame
        var waiting: [UInt64: EventLoopPromise<ClientResponse>] = [:]

        /// Registers a call's promise; `promise` belongs to `loop`, so its callbacks (and
        /// the removal) run there, where `channelRead` reads `waiting`.
        func expect(_ id: UInt64, _ promise: EventLoopPromise<ClientResponse>, on loop: EventLoop) {
            if loop.inEventLoop {
                waiting[id] = promise
            } else {
                loop.execute { self.waiting[id] = promise }
            }
            promise.futureResult.whenComplete { _ in self.waiting[id] = nil }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            guard frame.kind == .response, let response = try? ClientResponse(decoding: frame.payload) else {
                context.close(promise: nil)
                return
            }
            waiting.removeValue(forKey: response.correlation)?.succeed(response)
        }

        func channelInactive(context: ChannelHandlerContext) {
            for (_, p) in waiting { p.fail(NodeClientConnectionClosed()) }
            waiting = [:]
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
    }

    struct NodeClientConnectionClosed: Error, CustomStringConvertible {
        var description: String { "connection closed" }
    }
}
