import Foundation
import Sharding
import Storage

/// Queries: point reads (spliced from the stored bytes) and listings in key order.
extension UserPoolStateMachine {
    /// Listings return at most this many records per read, whatever the query asks.
    static let maxListing = 1_000

    public func read(
        request: [UInt8], shard: UInt32, txn: borrowing ReadTransaction, tables: NodeTables
    ) throws -> [UInt8] {
        typealias K = UserPoolKeys
        let query = try UserPoolQuery.decode(request)
        let ctx = Context(shard: shard, tables: tables)
        func stored(_ k: [UInt8]) throws -> [UInt8]? { try txn.get(ctx.key(k), in: tables.data) }
        // A reshard's mark: absent on almost every shard, so the common read pays one lookup.
        let move = try shard == 0 ? nil : ctx.load(K.shardMove, as: ShardMove.self, txn)
        if let refusal = readRefusal(query, move, ctx) { return refusal.encoded }
        /// Values under `prefix` after the key `after` (a full key below the prefix), in order,
        /// those `keep` refuses skipped.
        func values(
            _ prefix: [UInt8], after: [UInt8]?, limit: Int, keep: (([UInt8]) -> Bool)? = nil
        ) throws -> [[UInt8]] {
            var out: [[UInt8]] = []
            let limit = min(max(limit, 0), Self.maxListing)
            guard limit > 0 else { return out }
            let from = after.map { ctx.key($0) + [0] } ?? ctx.key(prefix)
            try txn.scan(tables.data, from: from, to: ctx.key(UserPoolKeys.end(of: prefix))) { _, v in
                let value = Array(v)
                if keep?(value) ?? true { out.append(value) }
                return out.count < limit
            }
            return out
        }
        /// In a reshard's moved phase, what is still here of records that moved is skipped.
        func here(_ pool: String) -> (([UInt8]) -> Bool)? {
            guard move?.phase == .moved else { return nil }
            return { name in !movedAway(move, pool: pool, name: String(decoding: name, as: UTF8.self), ctx) }
        }
        func userHere(_ pool: String) -> (([UInt8]) -> Bool)? {
            guard let keep = here(pool) else { return nil }
            struct Named: Decodable { let username: String }
            return { v in
                (try? JSONDecoder().decode(Named.self, from: Data(v))).map { keep(Array($0.username.utf8)) } ?? true
            }
        }
        func decoded<T: Decodable>(_ all: [[UInt8]], as: T.Type) throws -> [T] {
            try all.map { try JSONDecoder().decode(T.self, from: Data($0)) }
        }
        let reply: UserPoolReply
        switch query {
        case .pool(let id):
            return Self.pointReply("pool", try stored(K.pool(id)), absent: .pool(nil))
        case .pools(let after, let limit):
            reply = .pools(try decoded(values(K.poolPrefix, after: after.map(K.pool), limit: limit), as: Pool.self))
        case .client(let p, let c):
            return Self.pointReply("client", try stored(K.client(p, c)), absent: .client(nil))
        case .clientById(let c):
            guard let pool = try stored(K.clientIndex(c)) else { return UserPoolReply.client(nil).encoded }
            let poolId = String(decoding: pool, as: UTF8.self)
            return Self.pointReply("client", try stored(K.client(poolId, c)), absent: .client(nil))
        case .poolByDomain(let name):
            guard let pool = try stored(K.domain(name)) else { return UserPoolReply.pool(nil).encoded }
            return Self.pointReply(
                "pool", try stored(K.pool(String(decoding: pool, as: UTF8.self))), absent: .pool(nil))
        case .clients(let p, let after, let limit):
            let after = after.map { K.client(p, $0) }
            reply = .clients(try decoded(values(K.clientPrefix(p), after: after, limit: limit), as: AppClient.self))
        case .user(let p, let c):
            return Self.pointReply("user", try stored(K.user(p, c)), absent: .user(nil))
        case .attemptSlot:
            throw PoolError(.invalidParameter, "a slot is taken by a reserving read, not read")
        case .users(let p, let after, let limit):
            let after = after.map { K.user(p, $0) }
            reply = .users(
                try decoded(values(K.userPrefix(p), after: after, limit: limit, keep: userHere(p)), as: User.self))
        case .group(let p, let n):
            return Self.pointReply("group", try stored(K.group(p, n)), absent: .group(nil))
        case .resourceServer(let p, let identifier):
            return Self.pointReply(
                "resourceServer", try stored(K.resourceServer(p, identifier)), absent: .resourceServer(nil))
        case .poolDocument(let p, let kind, let id):
            return Self.pointReply("poolDocument", try stored(K.document(p, kind, id)), absent: .poolDocument(nil))
        case .poolDocuments(let p, let kind):
            reply = .poolDocuments(
                try decoded(
                    values(K.documentPrefix(p, kind), after: nil, limit: PoolDocument.maxPerPool(kind) + 1),
                    as: PoolDocument.self))
        case .resourceServers(let p):
            reply = .resourceServers(
                try decoded(
                    values(K.resourceServerPrefix(p), after: nil, limit: ResourceServerRules.maxPerPool + 1),
                    as: ResourceServer.self))
        case .groups(let p, let after, let limit):
            let after = after.map { K.group(p, $0) }
            reply = .groups(try decoded(values(K.groupPrefix(p), after: after, limit: limit), as: Group.self))
        case .members(let p, let g, let after, let limit):
            let after = after.map { K.member(p, g, $0) }
            let names = try values(K.memberPrefix(p, g), after: after, limit: limit, keep: here(p))
            reply = .names(names.map { String(decoding: $0, as: UTF8.self) })
        case .alias(let p, let a, let v):
            return Self.pointReply("alias", try stored(K.alias(p, a, v)), absent: .alias(nil))
        case .phantomCodes(let p, let c):
            reply = .codeState(try ctx.load(K.phantom(p, c), as: PhantomRecord.self, txn)?.codes)
        case .userBySub(let p, let sub):
            guard let canonical = try stored(K.sub(p, sub)), here(p)?(canonical) ?? true else {
                return UserPoolReply.user(nil).encoded
            }
            return Self.pointReply(
                "user", try stored(K.user(p, String(decoding: canonical, as: UTF8.self))), absent: .user(nil))
        case .userCount(let p):
            let stored = try stored(K.userCount(p))
            reply = .count(stored.map { Int64(bitPattern: $0.reduce(0) { $0 << 8 | UInt64($1) }) } ?? 0)
        case .outbox(let limit):
            reply = try messages(inbox: false, before: nil, limit: limit, shard: shard, ctx, txn)
        case .inbox(let before, let limit):
            reply = try messages(inbox: true, before: before, limit: limit, shard: shard, ctx, txn)
        case .importJob(let p, let j):
            return Self.pointReply("importJob", try stored(K.importJob(p, j)), absent: .importJob(nil))
        case .allImportJobs(let after, let limit):
            let after = after.map { K.allImportJobsPrefix + Array($0.utf8) }
            reply = .importJobs(
                try decoded(values(K.allImportJobsPrefix, after: after, limit: limit), as: ImportJob.self))
        case .importJobs(let p, let after, let limit):
            let after = after.map { K.importJob(p, $0) }
            reply = .importJobs(
                try decoded(values(K.importJobPrefix(p), after: after, limit: limit), as: ImportJob.self))
        case .importChunk(let j, let u, let n):
            reply = .chunk(try stored(K.importChunk(j, u, n)).map { Data($0).base64EncodedString() })
        case .layout:
            reply = .layout(try ctx.load(K.layout, as: UserShardLayout.self, txn))
        case .movingRecords(let shards, let after, let limit):
            guard shard != 0, (2...Self.maxUserShards).contains(shards) else {
                return UserPoolReply.error(PoolError(.invalidParameter, "no records move off shard \(shard)")).encoded
            }
            let page = try Self.movingRecords(shards: shards, after: after.map { Array($0) }, limit: limit, ctx, txn)
            reply = .records(page.records, next: page.next.map { Data($0) })
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
