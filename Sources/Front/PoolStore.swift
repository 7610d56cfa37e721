import NodeRPC
import Sharding
import UserPool

/// The front's view of the cluster: proposes commands and reads queries on the right shard.
/// Pools, clients and (later) groups live on shard 0; a user on shard 1 + jump hash of
/// (pool id, canonical username) over the user shards.
public struct PoolStore: Sendable {
    let client: NodeClient
    let userShards: Int
    let timeout: Duration

    public init(client: NodeClient, userShards: Int, timeout: Duration = .seconds(5)) {
        self.client = client
        self.userShards = userShards
        self.timeout = timeout
    }

    public static let metaShard: UInt32 = 0

    public func userShard(pool: String, canonical: String) -> UInt32 {
        UserPoolKeys.userShard(pool: pool, canonical: canonical, userShards: userShards)
    }

    public var allUserShards: [UInt32] { (1...UInt32(userShards)).map { $0 } }

    public func propose(_ shard: UInt32, _ command: UserPoolCommand) async throws(CognitoError) -> UserPoolReply {
        let reply: UserPoolReply
        do {
            let bytes = try await client.propose(shard: shard, requestId: RequestID.make(), command: command.encoded, timeout: timeout)
            reply = try UserPoolReply.decode(bytes)
        } catch let e as CognitoError {
            throw e
        } catch {
            throw .unavailable("shard \(shard) is unavailable: \(error)")
        }
        if case .error(let e) = reply { throw CognitoError(e) }
        return reply
    }

    public func query(_ shard: UInt32, _ q: UserPoolQuery) async throws(CognitoError) -> UserPoolReply {
        let reply: UserPoolReply
        do {
            reply = try UserPoolReply.decode(try await client.read(shard: shard, request: q.encoded, timeout: timeout))
        } catch {
            throw .unavailable("shard \(shard) is unavailable: \(error)")
        }
        if case .error(let e) = reply { throw CognitoError(e) }
        return reply
    }

    public func pool(_ id: String) async throws(CognitoError) -> Pool {
        guard case .pool(let p?) = try await query(Self.metaShard, .pool(id: id)) else {
            throw .resourceNotFound("User pool \(id) does not exist.")
        }
        return p
    }

    public func appClient(pool: String, id: String) async throws(CognitoError) -> AppClient {
        guard case .client(let c?) = try await query(Self.metaShard, .client(poolId: pool, clientId: id)) else {
            throw .resourceNotFound("User pool client \(id) does not exist.")
        }
        return c
    }

    public func appClient(id: String) async throws(CognitoError) -> AppClient {
        guard case .client(let c?) = try await query(Self.metaShard, .clientById(id)) else {
            throw .resourceNotFound("User pool client \(id) does not exist.")
        }
        return c
    }

    public func user(pool: Pool, username: String) async throws(CognitoError) -> User {
        let canonical = PoolRules.canonical(username, in: pool)
        guard case .user(let u?) = try await query(userShard(pool: pool.id, canonical: canonical), .user(poolId: pool.id, canonical: canonical)) else {
            throw .userNotFound()
        }
        return u
    }

    /// The user stored under `canonical`, or nil.
    public func userIfPresent(pool: Pool, canonical: String) async throws(CognitoError) -> User? {
        guard case .user(let u) = try await query(userShard(pool: pool.id, canonical: canonical), .user(poolId: pool.id, canonical: canonical)) else {
            throw .internalError("unexpected reply reading a user")
        }
        return u
    }

    /// Read-modify-write of a user with the version check, retried on a concurrent change.
    public func modifyUser(pool: Pool, username: String, _ change: (inout User) throws(CognitoError) -> Void) async throws(CognitoError) -> User {
        let canonical = PoolRules.canonical(username, in: pool)
        let shard = userShard(pool: pool.id, canonical: canonical)
        for _ in 0..<5 {
            var user = try await self.user(pool: pool, username: username)
            let version = user.version
            try change(&user)
            do throws(CognitoError) {
                guard case .user(let saved?) = try await propose(shard, .updateUser(user, canonical: canonical, expectedVersion: version)) else {
                    throw CognitoError.internalError("unexpected reply")
                }
                return saved
            } catch {
                if error.type == "InternalErrorException" && error.message.contains("concurrent") { continue }
                throw error
            }
        }
        throw .internalError("too many concurrent changes to user \(username)")
    }
}
