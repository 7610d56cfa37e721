import Foundation
import Node
import Storage

/// Applies `UserPoolCommand`s on a shard. Records are JSON under readable keys:
/// `p/<pool>`, `c/<pool>/<client>`, `u/<pool>/<canonical username>`.
public struct UserPoolStateMachine: ReplicatedStateMachine {
    public init() {}

    static func poolKey(_ id: String) -> [UInt8] { Array("p/\(id)".utf8) }
    static func clientKey(_ pool: String, _ id: String) -> [UInt8] { Array("c/\(pool)/\(id)".utf8) }
    static func clientPrefix(_ pool: String) -> [UInt8] { Array("c/\(pool)/".utf8) }
    static func clientIndexKey(_ id: String) -> [UInt8] { Array("ci/\(id)".utf8) }
    static func groupKey(_ pool: String, _ name: String) -> [UInt8] { Array("g/\(pool)/\(name)".utf8) }
    static func groupPrefix(_ pool: String) -> [UInt8] { Array("g/\(pool)/".utf8) }
    static func memberKey(_ pool: String, _ group: String, _ canonical: String) -> [UInt8] { Array("gm/\(pool)/\(group)/\(canonical)".utf8) }
    static func memberPrefix(_ pool: String, _ group: String) -> [UInt8] { Array("gm/\(pool)/\(group)/".utf8) }
    static func aliasKey(_ pool: String, _ attribute: String, _ value: String) -> [UInt8] { Array("a/\(pool)/\(attribute)/\(value)".utf8) }
    static func userKey(_ pool: String, _ canonical: String) -> [UInt8] { Array("u/\(pool)/\(canonical)".utf8) }
    static func userPrefix(_ pool: String) -> [UInt8] { Array("u/\(pool)/".utf8) }

    /// The user shard (1...userShards) holding a user: jump hash of "pool/canonical".
    public static func userShard(pool: String, canonical: String, userShards: Int) -> UInt32 {
        var h = FNV1a()
        h.add(Array("\(pool)/\(canonical)".utf8))
        return UInt32(jumpHash(h.value, buckets: Int32(userShards))) + 1
    }

    /// Where a user's record lives in a node's `sm_data` table.
    public static func userRecordKey(shard: UInt32, pool: String, canonical: String) -> [UInt8] {
        ShardKeys.key(shard, userKey(pool, canonical))
    }

    public func apply(command: [UInt8], shard: UInt32, index: UInt64, txn: borrowing WriteTransaction, tables: NodeTables) throws -> [UInt8] {
        guard let cmd = try? UserPoolCommand.decode(command) else {
            return UserPoolReply.error(PoolError(.internalError, "malformed command")).encoded
        }
        func key(_ k: [UInt8]) -> [UInt8] { ShardKeys.key(shard, k) }
        func load<T: Decodable>(_ k: [UInt8], as: T.Type) throws -> T? {
            try txn.get(key(k), in: tables.data).map { try JSONDecoder().decode(T.self, from: Data($0)) }
        }
        func store(_ k: [UInt8], _ value: some Encodable) throws {
            try txn.put(key(k), Array(try UserPoolCommand.encoder.encode(value)), in: tables.data)
        }
        let reply: UserPoolReply
        switch cmd {
        case .createPool(let pool):
            if try txn.contains(key(Self.poolKey(pool.id)), in: tables.data) {
                reply = .error(PoolError(.invalidParameter, "User pool \(pool.id) already exists."))
            } else {
                try store(Self.poolKey(pool.id), pool)
                reply = .pool(pool)
            }
        case .updatePool(let pool):
            if try load(Self.poolKey(pool.id), as: Pool.self) == nil {
                reply = .error(PoolError(.resourceNotFound, "User pool \(pool.id) does not exist."))
            } else {
                try store(Self.poolKey(pool.id), pool)
                reply = .pool(pool)
            }
        case .deletePool(let id):
            if try txn.delete(key(Self.poolKey(id)), in: tables.data) {
                try txn.deleteRange(tables.data, from: key(Self.groupPrefix(id)), to: key(Self.groupPrefix(id) + [0xff]))
                let clients = try txn.entries(tables.data, from: key(Self.clientPrefix(id)), to: key(Self.clientPrefix(id) + [0xff]))
                for (_, v) in clients {
                    if let c = try? JSONDecoder().decode(AppClient.self, from: Data(v)) {
                        try txn.delete(key(Self.clientIndexKey(c.id)), in: tables.data)
                    }
                }
                try txn.deleteRange(tables.data, from: key(Self.clientPrefix(id)), to: key(Self.clientPrefix(id) + [0xff]))
                reply = .ok
            } else {
                reply = .error(PoolError(.resourceNotFound, "User pool \(id) does not exist."))
            }
        case .createClient(let client), .updateClient(let client):
            let exists = try txn.contains(key(Self.clientKey(client.poolId, client.id)), in: tables.data)
            if try !txn.contains(key(Self.poolKey(client.poolId)), in: tables.data) {
                reply = .error(PoolError(.resourceNotFound, "User pool \(client.poolId) does not exist."))
            } else if case .updateClient = cmd, !exists {
                reply = .error(PoolError(.resourceNotFound, "User pool client \(client.id) does not exist."))
            } else {
                try store(Self.clientKey(client.poolId, client.id), client)
                try txn.put(key(Self.clientIndexKey(client.id)), Array(client.poolId.utf8), in: tables.data)
                reply = .client(client)
            }
        case .deleteClient(let poolId, let clientId):
            if try txn.delete(key(Self.clientKey(poolId, clientId)), in: tables.data) {
                try txn.delete(key(Self.clientIndexKey(clientId)), in: tables.data)
                reply = .ok
            } else {
                reply = .error(PoolError(.resourceNotFound, "User pool client \(clientId) does not exist."))
            }
        case .createUser(let user, let canonical):
            // Re-checked here, at apply, so two racing sign-ups cannot both win.
            if try txn.contains(key(Self.userKey(user.poolId, canonical)), in: tables.data) {
                reply = .error(PoolError(.usernameExists, "User already exists"))
            } else {
                try store(Self.userKey(user.poolId, canonical), user)
                reply = .user(user)
            }
        case .updateUser(let user, let canonical, let expected):
            guard let current = try load(Self.userKey(user.poolId, canonical), as: User.self) else {
                reply = .error(PoolError(.userNotFound, "User does not exist."))
                break
            }
            if current.version != expected {
                reply = .error(PoolError(.conflict, "the user changed concurrently"))
            } else {
                var next = user
                next.version = expected + 1
                try store(Self.userKey(user.poolId, canonical), next)
                reply = .user(next)
            }
        case .deleteUser(let poolId, let canonical):
            if let user = try load(Self.userKey(poolId, canonical), as: User.self) {
                for g in user.groups ?? [] { try txn.delete(key(Self.memberKey(poolId, g, canonical)), in: tables.data) }
                try txn.delete(key(Self.userKey(poolId, canonical)), in: tables.data)
                reply = .user(user)
            } else {
                reply = .error(PoolError(.userNotFound, "User does not exist."))
            }
        case .createGroup(let group):
            if try !txn.contains(key(Self.poolKey(group.poolId)), in: tables.data) {
                reply = .error(PoolError(.resourceNotFound, "User pool \(group.poolId) does not exist."))
            } else if try txn.contains(key(Self.groupKey(group.poolId, group.name)), in: tables.data) {
                reply = .error(PoolError(.groupExists, "A group with the name \(group.name) already exists."))
            } else {
                try store(Self.groupKey(group.poolId, group.name), group)
                reply = .group(group)
            }
        case .updateGroup(let group):
            if try !txn.contains(key(Self.groupKey(group.poolId, group.name)), in: tables.data) {
                reply = .error(PoolError(.resourceNotFound, "Group not found."))
            } else {
                try store(Self.groupKey(group.poolId, group.name), group)
                reply = .group(group)
            }
        case .deleteGroup(let poolId, let name):
            reply = try txn.delete(key(Self.groupKey(poolId, name)), in: tables.data) ? .ok : .error(PoolError(.resourceNotFound, "Group not found."))
        case .setMembership(let poolId, let canonical, let group, let member):
            guard var user = try load(Self.userKey(poolId, canonical), as: User.self) else {
                reply = .error(PoolError(.userNotFound, "User does not exist."))
                break
            }
            var groups = Set(user.groups ?? [])
            if member {
                groups.insert(group)
                try txn.put(key(Self.memberKey(poolId, group, canonical)), [], in: tables.data)
            } else {
                groups.remove(group)
                try txn.delete(key(Self.memberKey(poolId, group, canonical)), in: tables.data)
            }
            user.groups = groups.sorted()
            user.version += 1
            try store(Self.userKey(poolId, canonical), user)
            reply = .user(user)
        case .purgeGroup(let poolId, let group):
            let members = try txn.entries(tables.data, from: key(Self.memberPrefix(poolId, group)), to: key(Self.memberPrefix(poolId, group) + [0xff]))
            let prefixCount = ShardKeys.prefix(shard).count + Self.memberPrefix(poolId, group).count
            for (k, _) in members {
                let canonical = String(decoding: k.dropFirst(prefixCount), as: UTF8.self)
                if var user = try load(Self.userKey(poolId, canonical), as: User.self) {
                    user.groups = (user.groups ?? []).filter { $0 != group }
                    user.version += 1
                    try store(Self.userKey(poolId, canonical), user)
                }
                try txn.delete(k, in: tables.data)
            }
            reply = .ok
        case .reserveAlias(let poolId, let attribute, let value, let owner, let now, let staleBefore, let takeOver):
            let k = Self.aliasKey(poolId, attribute, value)
            if let claim = try load(k, as: AliasClaim.self), claim.owner != owner {
                let stale = claim.state == .reserved && claim.since < staleBefore
                guard stale && takeOver == claim.owner else {
                    reply = .alias(claim)  // the front decides: taken, or stale and worth a check
                    break
                }
            }
            let claim = AliasClaim(owner: owner, state: .reserved, since: now)
            try store(k, claim)
            reply = .ok
        case .commitAlias(let poolId, let attribute, let value, let owner):
            let k = Self.aliasKey(poolId, attribute, value)
            if let claim = try load(k, as: AliasClaim.self), claim.owner != owner {
                reply = .alias(claim)
            } else {
                try store(k, AliasClaim(owner: owner, state: .committed, since: 0))
                reply = .ok
            }
        case .releaseAlias(let poolId, let attribute, let value, let owner):
            let k = Self.aliasKey(poolId, attribute, value)
            if let claim = try load(k, as: AliasClaim.self), claim.owner == owner {
                try txn.delete(key(k), in: tables.data)
            }
            reply = .ok
        }
        return reply.encoded
    }

    public func read(request: [UInt8], shard: UInt32, txn: borrowing ReadTransaction, tables: NodeTables) throws -> [UInt8] {
        let query = try JSONDecoder().decode(UserPoolQuery.self, from: Data(request))
        func key(_ k: [UInt8]) -> [UInt8] { ShardKeys.key(shard, k) }
        func scan<T: Decodable>(_ prefix: [UInt8], after: [UInt8]?, limit: Int, as: T.Type) throws -> [T] {
            var out: [T] = []
            let from = after.map { key(prefix + $0) + [0] } ?? key(prefix)
            try txn.scan(tables.data, from: from, to: key(prefix + [0xff])) { _, v in
                out.append(try JSONDecoder().decode(T.self, from: Data(v)))
                return out.count < limit
            }
            return out
        }
        func stored(_ k: [UInt8]) throws -> [UInt8]? { try txn.get(key(k), in: tables.data) }
        let reply: UserPoolReply
        switch query {
        case .pool(let id): return Self.pointReply("pool", try stored(Self.poolKey(id)), absent: .pool(nil))
        case .pools(let after, let limit): reply = .pools(try scan(Array("p/".utf8), after: after.map { Array($0.utf8) }, limit: limit, as: Pool.self))
        case .client(let p, let c): return Self.pointReply("client", try stored(Self.clientKey(p, c)), absent: .client(nil))
        case .clientById(let c):
            guard let pool = try stored(Self.clientIndexKey(c)) else { return UserPoolReply.client(nil).encoded }
            return Self.pointReply("client", try stored(Self.clientKey(String(decoding: pool, as: UTF8.self), c)), absent: .client(nil))
        case .clients(let p, let after, let limit):
            reply = .clients(try scan(Self.clientPrefix(p), after: after.map { Array($0.utf8) }, limit: limit, as: AppClient.self))
        case .user(let p, let c): return Self.pointReply("user", try stored(Self.userKey(p, c)), absent: .user(nil))
        case .users(let p, let after, let limit):
            reply = .users(try scan(Self.userPrefix(p), after: after.map { Array($0.utf8) }, limit: limit, as: User.self))
        case .group(let p, let n): return Self.pointReply("group", try stored(Self.groupKey(p, n)), absent: .group(nil))
        case .groups(let p, let after, let limit):
            reply = .groups(try scan(Self.groupPrefix(p), after: after.map { Array($0.utf8) }, limit: limit, as: Group.self))
        case .members(let p, let g, let after, let limit):
            var names: [String] = []
            let prefix = Self.memberPrefix(p, g)
            let from = after.map { key(prefix + Array($0.utf8)) + [0] } ?? key(prefix)
            let strip = ShardKeys.prefix(shard).count + prefix.count
            try txn.scan(tables.data, from: from, to: key(prefix + [0xff])) { k, _ in
                names.append(String(decoding: k.dropFirst(strip), as: UTF8.self))
                return names.count < limit
            }
            reply = .names(names)
        case .alias(let p, let a, let v): return Self.pointReply("alias", try stored(Self.aliasKey(p, a, v)), absent: .alias(nil))
        }
        return reply.encoded
    }

    /// A point read's reply made from the record's stored JSON as it is. JSONEncoder writes
    /// `UserPoolReply.user(u)` as `{"user":{"_0":<u>}}` and stores `u` with the same encoder,
    /// so splicing the stored bytes into that frame gives the reply byte for byte, without
    /// decoding the record and encoding it again (most of a sign-in read's CPU on the node).
    /// The front decodes the record as before; an absent one goes through the encoder.
    static func pointReply(_ name: String, _ record: [UInt8]?, absent: UserPoolReply) -> [UInt8] {
        guard let record else { return absent.encoded }
        return Array("{\"\(name)\":{\"_0\":".utf8) + record + Array("}}".utf8)
    }
}
