import AuthCrypto
import NodeRPC
import Sharding
import UserPool

/// The front's view of the cluster: proposes commands and reads queries on the right shard.
/// Pools, clients and group definitions live on shard 0; a user on shard 1 + jump hash of
/// (pool id, canonical username) over the user shards.
public struct PoolStore: Sendable {
    let client: any ShardClient
    let layout: ShardLayoutView
    let timeout: Duration
    let cache: PoolCache
    /// Seals every outbox message a command carries for the deliverers (nil: left as it is,
    /// with the local inbox, whose deliverer shows codes on the console anyway).
    let outboxSealer: DeliverySealer?

    /// `userShards`: the definition's count, until shard 0's layout or a shard's `moved`
    /// answer says the user shards grew.
    public init(
        client: any ShardClient, userShards: Int, timeout: Duration = .seconds(5), cacheSeconds: Double = 5,
        outboxSealer: DeliverySealer? = nil
    ) {
        self.client = client
        self.outboxSealer = outboxSealer
        layout = ShardLayoutView(userShards)
        self.timeout = timeout
        cache = PoolCache(seconds: cacheSeconds)
    }

    public static let metaShard: UInt32 = 0
    /// How long a write waits out a reshard's fence on its record before it fails (503).
    static let fenceWait: Duration = .seconds(20)

    public var userShards: Int { layout.count }

    public func userShard(pool: String, canonical: String) -> UInt32 {
        UserPoolKeys.userShard(pool: pool, canonical: canonical, userShards: userShards)
    }

    /// Every user shard, after reading shard 0's layout if this front has not for a second
    /// (a listing must not miss shards a reshard added).
    public func allUserShards() async -> [UInt32] {
        if layout.due() { await loadLayout(timeout: .milliseconds(500)) }
        return (1...UInt32(userShards)).map { $0 }
    }

    /// Reads the cluster's user-shard layout from shard 0 (at start, and before operations
    /// that visit every shard). Shard 0 not answering within `timeout` costs no more than
    /// that: the count stays as it was and is read again later.
    public func loadLayout(timeout: Duration = .seconds(5)) async {
        guard
            let bytes = try? await client.read(
                shard: Self.metaShard, request: UserPoolQuery.layout.encoded, timeout: timeout),
            case .layout(let l?)? = try? UserPoolReply.decode(bytes)
        else { return }
        layout.adopt(l.routing)
    }

    /// Proposes `command`; a domain refusal in the reply is thrown as it is. A record a
    /// reshard moved is routed again; one it is moving is retried until the fence lifts.
    public func propose(_ shard: UInt32, _ command: UserPoolCommand) async throws(PoolError) -> UserPoolReply {
        var shard = shard
        var command = command
        if let outboxSealer, case .withMessages(let inner, let messages) = command {
            do {
                command = .withMessages(inner, messages: try messages.map { try $0.sealing(with: outboxSealer.seal) })
            } catch {
                throw PoolError(.internalError, "sealing a message failed: \(error)")
            }
        }
        let deadline = ContinuousClock.now + Self.fenceWait
        var pause = Duration.milliseconds(20)
        while true {
            let reply: UserPoolReply
            do {
                let bytes = try await client.propose(
                    shard: shard, requestId: RequestID.make(), command: command.encoded, timeout: timeout)
                reply = try UserPoolReply.decode(bytes)
            } catch {
                throw PoolError(.unavailable, "shard \(shard) is unavailable: \(error)")
            }
            switch reply {
            case .moved(let shards):
                layout.adopt(shards)
                guard let route = command.route, ContinuousClock.now < deadline else {
                    throw PoolError(.unavailable, "shard \(shard): the record moved to another shard")
                }
                shard = userShard(pool: route.pool, canonical: route.name)
            case .error(let e) where e.code == .moving && ContinuousClock.now < deadline:
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .milliseconds(250))
            case .error(let e):
                throw e
            default:
                return reply
            }
        }
    }

    public func query(_ shard: UInt32, _ q: UserPoolQuery) async throws(PoolError) -> UserPoolReply {
        var shard = shard
        for _ in 0..<3 {
            let reply: UserPoolReply
            do {
                reply = try UserPoolReply.decode(
                    try await client.read(shard: shard, request: q.encoded, timeout: timeout))
            } catch {
                throw PoolError(.unavailable, "shard \(shard) is unavailable: \(error)")
            }
            switch reply {
            case .moved(let shards):
                layout.adopt(shards)
                guard let route = q.route else {
                    throw PoolError(.unavailable, "shard \(shard): the record moved to another shard")
                }
                shard = userShard(pool: route.pool, canonical: route.name)
            case .error(let e):
                throw e
            default:
                return reply
            }
        }
        throw PoolError(.unavailable, "shard \(shard): the record kept moving")
    }

    /// A reserving read of `q` on its shard's leader: the reply, and what the leader holds
    /// for it (give it back with `release` once done). Routed again as `query` is.
    public func reserve(
        _ shard: UInt32, _ q: UserPoolQuery
    ) async throws(PoolError) -> (reply: UserPoolReply, held: ReservedReply, shard: UInt32) {
        var shard = shard
        for _ in 0..<3 {
            let held: ReservedReply
            let reply: UserPoolReply
            do {
                held = try await client.reserve(shard: shard, request: q.encoded, timeout: timeout)
                reply = try UserPoolReply.decode(held.reply)
            } catch {
                throw PoolError(.unavailable, "shard \(shard) is unavailable: \(error)")
            }
            switch reply {
            case .moved(let shards):
                await client.release(held, shard: shard)
                layout.adopt(shards)
                guard let route = q.route else {
                    throw PoolError(.unavailable, "shard \(shard): the record moved to another shard")
                }
                shard = userShard(pool: route.pool, canonical: route.name)
            case .error(let e):
                await client.release(held, shard: shard)
                throw e
            default:
                return (reply, held, shard)
            }
        }
        throw PoolError(.unavailable, "shard \(shard): the record kept moving")
    }

    /// Gives back what a reserving read holds.
    public func release(_ held: ReservedReply, shard: UInt32) async {
        await client.release(held, shard: shard)
    }

    /// Claims a once id on the node that issued it (a node that does not answer claims
    /// nothing).
    public func claim(node: UInt64, boot: UInt64, id: [UInt8]) async -> Bool {
        await client.claim(node: node, boot: boot, id: id, timeout: .seconds(2))
    }

    // MARK: Pools and clients, through the cache

    /// A pool, from this front's cache when it read or wrote it in the last few seconds.
    public func pool(_ id: String) async throws(PoolError) -> Pool {
        if let cached = cache.pool(id) { return cached }
        guard case .pool(let p?) = try await query(Self.metaShard, .pool(id: id)), p.deleting != true else {
            throw PoolError(.resourceNotFound, "User pool \(id) does not exist.")
        }
        cache.store(p)
        return p
    }

    /// A client by its id alone (public operations name only the client), cached likewise.
    public func appClient(id: String) async throws(PoolError) -> AppClient {
        if let cached = cache.client(id) { return cached }
        guard case .client(let c?) = try await query(Self.metaShard, .clientById(id)) else {
            throw PoolError(.resourceNotFound, "User pool client \(id) does not exist.")
        }
        cache.store(c)
        return c
    }

    /// A client of `pool`.
    public func appClient(pool: String, id: String) async throws(PoolError) -> AppClient {
        let client = try await appClient(id: id)
        guard client.poolId == pool else {
            throw PoolError(.resourceNotFound, "User pool client \(id) does not exist.")
        }
        return client
    }

    /// Writes a pool or client command and keeps the cache in step with what was written.
    public func proposeMeta(_ command: UserPoolCommand) async throws(PoolError) -> UserPoolReply {
        switch command {
        case .createPool(let p), .updatePool(let p): cache.forget(pool: p.id)
        case .deletePool(let id), .markPoolDeleting(let id): cache.forget(pool: id)
        case .createClient(let c), .updateClient(let c): cache.forget(client: c.id)
        case .deleteClient(_, let id): cache.forget(client: id)
        default: break
        }
        let reply = try await propose(Self.metaShard, command)
        switch reply {
        case .pool(let p?): cache.store(p)
        case .client(let c?): cache.store(c)
        default: break
        }
        return reply
    }

    // MARK: Users

    /// The user stored under `canonical`, or nil.
    public func user(pool: String, canonical: String) async throws(PoolError) -> User? {
        guard
            case .user(let u) = try await query(
                userShard(pool: pool, canonical: canonical), .user(poolId: pool, canonical: canonical))
        else { throw PoolError(.internalError, "unexpected reply reading a user") }
        return u
    }

    /// Writes a change to `user` (as the caller read it), checking that nobody changed it in
    /// between; on a conflict, reads it again and applies `change` to the fresh record (up to
    /// five times). Returns the saved user (without verifier).
    /// `messages` go into the user's shard's outbox in the same entry as the change.
    public func modify(
        _ user: User, in pool: Pool, messages: [OutboxMessage] = [], _ change: (inout User) throws(PoolError) -> Void
    ) async throws(PoolError) -> User {
        let canonical = PoolRules.canonical(user.username, in: pool)
        let shard = userShard(pool: pool.id, canonical: canonical)
        var current = user
        for _ in 0..<5 {
            var next = current
            try change(&next)
            do throws(PoolError) {
                let update = UserPoolCommand.updateUser(next, canonical: canonical, expectedVersion: current.version)
                let command = messages.isEmpty ? update : .withMessages(update, messages: messages)
                guard case .user(let saved?) = try await propose(shard, command) else {
                    throw PoolError(.internalError, "unexpected reply writing a user")
                }
                return saved
            } catch  where error.code == .conflict {
                guard let fresh = try await self.user(pool: pool.id, canonical: canonical) else {
                    throw PoolError(.userNotFound, "User does not exist.")
                }
                current = fresh
            }
        }
        throw PoolError(.internalError, "too many concurrent changes to user \(user.username)")
    }
}
