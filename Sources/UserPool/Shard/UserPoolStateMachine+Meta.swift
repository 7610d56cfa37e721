import Foundation
import Sharding
import Storage

/// Shard 0's commands: pools, app clients and group definitions.
extension UserPoolStateMachine {
    func applyMeta(_ cmd: UserPoolCommand, _ ctx: Context, _ txn: borrowing WriteTransaction) throws -> UserPoolReply {
        typealias K = UserPoolKeys
        switch cmd {
        case .createPool(let pool):
            if try ctx.contains(K.pool(pool.id), txn) {
                return .error(PoolError(.invalidParameter, "User pool \(pool.id) already exists."))
            }
            if let taken = try indexDomains(of: pool, replacing: nil, ctx, txn) { return .error(taken) }
            try ctx.store(K.pool(pool.id), pool, txn)
            return .pool(pool)
        case .updatePool(let pool):
            guard let stored = try ctx.load(K.pool(pool.id), as: Pool.self, txn), stored.deleting != true else {
                return .error(Self.noPool(pool.id))
            }
            var next = pool
            next.deleting = nil
            if let taken = try indexDomains(of: next, replacing: stored, ctx, txn) { return .error(taken) }
            try ctx.store(K.pool(pool.id), next, txn)
            return .pool(next)
        case .markPoolDeleting(let id):
            guard var pool = try ctx.load(K.pool(id), as: Pool.self, txn) else { return .error(Self.noPool(id)) }
            pool.deleting = true
            try ctx.store(K.pool(id), pool, txn)
            return .ok
        case .deletePool(let id):
            let stored = try ctx.load(K.pool(id), as: Pool.self, txn)
            guard try ctx.delete(K.pool(id), txn) else { return .error(Self.noPool(id)) }
            for name in DomainRules.names(stored) where try ctx.owner(K.domain(name), txn) == id {
                try ctx.delete(K.domain(name), txn)
            }
            for (k, _) in try ctx.entries(K.groupPrefix(id), txn) { try txn.delete(k, in: ctx.tables.data) }
            for (k, _) in try ctx.entries(K.resourceServerPrefix(id), txn) { try txn.delete(k, in: ctx.tables.data) }
            for (k, _) in try ctx.entries(K.documentPrefix(id), txn) { try txn.delete(k, in: ctx.tables.data) }
            for (k, v) in try ctx.entries(K.importJobPrefix(id), txn) {
                if let job = try? JSONDecoder().decode(ImportJob.self, from: Data(v)) {
                    _ = try applyImport(.deleteImportChunks(jobId: job.id, upload: nil), ctx, txn)
                }
                try txn.delete(k, in: ctx.tables.data)
            }
            for (k, v) in try ctx.entries(K.clientPrefix(id), txn) {
                if let c = try? JSONDecoder().decode(AppClient.self, from: Data(v)) {
                    try ctx.delete(K.clientIndex(c.id), txn)
                }
                try txn.delete(k, in: ctx.tables.data)
            }
            return .ok
        case .createClient(let client), .updateClient(let client):
            guard try isLive(client.poolId, ctx, txn) else { return .error(Self.noPool(client.poolId)) }
            if case .updateClient = cmd, try !ctx.contains(K.client(client.poolId, client.id), txn) {
                return .error(PoolError(.resourceNotFound, "User pool client \(client.id) does not exist."))
            }
            try ctx.store(K.client(client.poolId, client.id), client, txn)
            try txn.put(ctx.key(K.clientIndex(client.id)), Array(client.poolId.utf8), in: ctx.tables.data)
            return .client(client)
        case .deleteClient(let poolId, let clientId):
            guard try ctx.delete(K.client(poolId, clientId), txn) else {
                return .error(PoolError(.resourceNotFound, "User pool client \(clientId) does not exist."))
            }
            try ctx.delete(K.clientIndex(clientId), txn)
            return .ok
        case .createGroup(let group):
            guard try isLive(group.poolId, ctx, txn) else { return .error(Self.noPool(group.poolId)) }
            if try ctx.contains(K.group(group.poolId, group.name), txn) {
                return .error(PoolError(.groupExists, "A group with the name \(group.name) already exists."))
            }
            try ctx.store(K.group(group.poolId, group.name), group, txn)
            return .group(group)
        case .updateGroup(let group):
            guard try ctx.contains(K.group(group.poolId, group.name), txn) else {
                return .error(PoolError(.resourceNotFound, "Group not found."))
            }
            try ctx.store(K.group(group.poolId, group.name), group, txn)
            return .group(group)
        case .deleteGroup(let poolId, let name):
            return try ctx.delete(K.group(poolId, name), txn)
                ? .ok : .error(PoolError(.resourceNotFound, "Group not found."))
        case .putResourceServer(let server, let create):
            guard try isLive(server.poolId, ctx, txn) else { return .error(Self.noPool(server.poolId)) }
            let key = K.resourceServer(server.poolId, server.identifier)
            let exists = try ctx.contains(key, txn)
            if create && exists {
                return .error(
                    PoolError(.invalidParameter, "\(server.identifier) already exists in user pool \(server.poolId)."))
            }
            if !create && !exists {
                return .error(PoolError(.resourceNotFound, "Resource server \(server.identifier) does not exist."))
            }
            let count = try ctx.entries(
                K.resourceServerPrefix(server.poolId), limit: ResourceServerRules.maxPerPool + 1, txn
            ).count
            if create && count >= ResourceServerRules.maxPerPool {
                return .error(
                    PoolError(
                        .limitExceeded,
                        "A user pool has at most \(ResourceServerRules.maxPerPool) resource servers."))
            }
            try ctx.store(key, server, txn)
            return .resourceServer(server)
        case .deleteResourceServer(let poolId, let identifier):
            return try ctx.delete(K.resourceServer(poolId, identifier), txn)
                ? .ok : .error(PoolError(.resourceNotFound, "Resource server \(identifier) does not exist."))
        case .putPoolDocuments(let docs, let put):
            guard let first = docs.first, docs.count <= 4, docs.allSatisfy({ $0.poolId == first.poolId }) else {
                return .error(PoolError(.invalidParameter, "one to four documents of one pool"))
            }
            guard try isLive(first.poolId, ctx, txn) else { return .error(Self.noPool(first.poolId)) }
            for (i, doc) in docs.enumerated() {
                guard doc.body.count <= PoolDocument.maxBytes else {
                    return .error(PoolError(.invalidParameter, "The \(doc.kind.rawValue) document is too large."))
                }
                let key = K.document(doc.poolId, doc.kind, doc.id)
                let exists = try ctx.contains(key, txn)
                switch (i == 0 ? put : .upsert, exists) {
                case (.create, true): return .error(PoolDocument.exists(doc.kind, doc.id))
                case (.update, false): return .error(PoolDocument.notFound(doc.kind, doc.id))
                case (.create, false), (.upsert, false):
                    let most = PoolDocument.maxPerPool(doc.kind)
                    let count = try ctx.entries(K.documentPrefix(doc.poolId, doc.kind), limit: most + 1, txn).count
                    if count >= most {
                        return .error(PoolError(.limitExceeded, "A user pool has at most \(most) of these."))
                    }
                case (.update, true), (.upsert, true): break
                }
            }
            // Checked first, written after: a refusal writes nothing.
            for doc in docs { try ctx.store(K.document(doc.poolId, doc.kind, doc.id), doc, txn) }
            // Not the document back: a reply is kept for retries, and a document can be large.
            return .ok
        case .deletePoolDocuments(let poolId, let refs):
            guard let first = refs.first, refs.count <= 4 else {
                return .error(PoolError(.invalidParameter, "one to four documents"))
            }
            guard try ctx.contains(K.document(poolId, first.kind, first.id), txn) else {
                return .error(PoolDocument.notFound(first.kind, first.id))
            }
            for ref in refs { try ctx.delete(K.document(poolId, ref.kind, ref.id), txn) }
            return .ok
        default:
            throw PoolError(.internalError, "not a shard-0 command")
        }
    }

    /// Keeps the domain index in step with a pool write: a name of `pool` another pool has
    /// is refused (nothing written), names it no longer has are let go.
    func indexDomains(
        of pool: Pool, replacing stored: Pool?, _ ctx: Context, _ txn: borrowing WriteTransaction
    ) throws -> PoolError? {
        typealias K = UserPoolKeys
        let names = DomainRules.names(pool)
        for name in names {
            if let owner = try ctx.owner(K.domain(name), txn), owner != pool.id {
                return PoolError(.invalidParameter, "Domain \(name) is already associated with another user pool.")
            }
        }
        for name in DomainRules.names(stored) where !names.contains(name) {
            if try ctx.owner(K.domain(name), txn) == pool.id { try ctx.delete(K.domain(name), txn) }
        }
        for name in names { try txn.put(ctx.key(K.domain(name)), Array(pool.id.utf8), in: ctx.tables.data) }
        return nil
    }

    static func noPool(_ id: String) -> PoolError { PoolError(.resourceNotFound, "User pool \(id) does not exist.") }

    /// Whether a pool exists and is not being deleted.
    func isLive(_ id: String, _ ctx: Context, _ txn: borrowing WriteTransaction) throws -> Bool {
        try ctx.load(UserPoolKeys.pool(id), as: Pool.self, txn).map { $0.deleting != true } ?? false
    }
}
