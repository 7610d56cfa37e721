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
    static func userKey(_ pool: String, _ canonical: String) -> [UInt8] { Array("u/\(pool)/\(canonical)".utf8) }
    static func userPrefix(_ pool: String) -> [UInt8] { Array("u/\(pool)/".utf8) }

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
            reply = try txn.delete(key(Self.userKey(poolId, canonical)), in: tables.data)
                ? .ok : .error(PoolError(.userNotFound, "User does not exist."))
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
        func get<T: Decodable>(_ k: [UInt8], as: T.Type) throws -> T? {
            try txn.get(key(k), in: tables.data).map { try JSONDecoder().decode(T.self, from: Data($0)) }
        }
        let reply: UserPoolReply
        switch query {
        case .pool(let id): reply = .pool(try get(Self.poolKey(id), as: Pool.self))
        case .pools(let after, let limit): reply = .pools(try scan(Array("p/".utf8), after: after.map { Array($0.utf8) }, limit: limit, as: Pool.self))
        case .client(let p, let c): reply = .client(try get(Self.clientKey(p, c), as: AppClient.self))
        case .clientById(let c):
            if let pool = try txn.get(key(Self.clientIndexKey(c)), in: tables.data) {
                reply = .client(try get(Self.clientKey(String(decoding: pool, as: UTF8.self), c), as: AppClient.self))
            } else {
                reply = .client(nil)
            }
        case .clients(let p, let after, let limit):
            reply = .clients(try scan(Self.clientPrefix(p), after: after.map { Array($0.utf8) }, limit: limit, as: AppClient.self))
        case .user(let p, let c): reply = .user(try get(Self.userKey(p, c), as: User.self))
        case .users(let p, let after, let limit):
            reply = .users(try scan(Self.userPrefix(p), after: after.map { Array($0.utf8) }, limit: limit, as: User.self))
        }
        return reply.encoded
    }
}
