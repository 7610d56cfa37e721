import Foundation
import Sharding
import Storage

/// A user shard's part in growing the user shards from N to `shards` (`cognate cluster
/// reshard`). Jump hashing moves a record only from an old shard to a new one, never between
/// old shards. While `fenced`, the shard refuses writes to the records that move (the front
/// retries them) and still serves every read; once `moved`, it answers requests for those
/// records with `moved(shards:)` and deletes them, a batch per entry.
public struct ShardMove: Codable, Sendable, Equatable {
    public enum Phase: String, Codable, Sendable, Comparable {
        case fenced, moved

        public static func < (a: Phase, b: Phase) -> Bool { a == .fenced && b == .moved }
    }
    public var shards: Int
    public var phase: Phase
    /// In the moved phase: the last key the deletion looked at (it goes on after it).
    public var dropped: Data?

    public init(shards: Int, phase: Phase) {
        self.shards = shards
        self.phase = phase
    }
}

/// The user shards fronts route over, on shard 0. `target` while a reshard runs; `copied`
/// once every moving record is on its new shard (fronts route by the target from then on).
public struct UserShardLayout: Codable, Sendable, Equatable {
    public var shards: Int
    public var target: Int?
    public var copied: Bool

    public init(shards: Int, target: Int? = nil, copied: Bool = false) {
        self.shards = shards
        self.target = target
        self.copied = copied
    }

    /// The count fronts route by.
    public var routing: Int { copied ? (target ?? shards) : shards }
}

/// A record as it moves between shards: its key (without the shard prefix), its stored
/// bytes, and the shard it belongs to under the new count.
public struct ShardRecord: Codable, Sendable, Equatable {
    public var key: Data
    public var value: Data
    public var shard: UInt32

    public init(key: [UInt8], value: [UInt8], shard: UInt32) {
        self.key = Data(key)
        self.value = Data(value)
        self.shard = shard
    }
}

extension UserPoolKeys {
    static let shardMove = bytes("r/move")
    static let layout = bytes("r/layout")

    /// The name a claim on a unique value is routed by, as if it were a username.
    public static func claimName(_ attribute: String, _ value: String) -> String { "\u{1}\(attribute):\(value)" }

    /// The pool of a user record's key (`u/<pool>/…`), nil for any other key.
    static func userPool(_ key: [UInt8]) -> String? {
        guard key.starts(with: bytes("u/")), let pool = key.dropFirst(2).split(separator: UInt8(ascii: "/")).first
        else { return nil }
        return String(decoding: pool, as: UTF8.self)
    }

    /// The pool and name a user-shard record is routed by, or nil for a record that stays
    /// (outbox, inbox, counts: `RecordKind.movesWithUser`) or cannot say (then it stays too).
    /// A phantom (`x/`) is routed through its time-ordered twin (`xo/`), which holds the name.
    static func route(key: [UInt8], value: [UInt8]) -> (pool: String, name: String)? {
        guard let kind = RecordKind.of(key), kind.movesWithUser,
            let slash = key.firstIndex(of: UInt8(ascii: "/"))
        else { return nil }
        let rest = key[(slash + 1)...]
        guard let poolEnd = rest.firstIndex(of: UInt8(ascii: "/")) else { return nil }
        let pool = String(decoding: rest[..<poolEnd], as: UTF8.self)
        switch kind.routing {
        case .username:
            struct Named: Decodable { let username: String }
            guard let named = try? JSONDecoder().decode(Named.self, from: Data(value)) else { return nil }
            let hashed = Array(rest[(poolEnd + 1)...])
            let name = [named.username, named.username.lowercased()].first { hash($0) == hashed }
            return name.map { (pool, $0) }
        case .claim:
            guard let claim = try? JSONDecoder().decode(AliasClaim.self, from: Data(value)),
                let attribute = claim.attribute, let claimed = claim.value
            else { return nil }
            return (pool, claimName(attribute, claimed))
        case .nameInValue:
            return (pool, String(decoding: value, as: UTF8.self))
        case .twin, .stays:
            return nil
        }
    }
}

extension UserPoolCommand {
    /// The pool and name a user-shard command is routed by; nil for every other command.
    public var route: (pool: String, name: String)? {
        switch self {
        case .createUser(let u, let c), .updateUser(let u, let c, _): (u.poolId, c)
        case .deleteUser(let p, let c), .signInAttempt(let p, let c, _, _, _, _, _), .setMembership(let p, let c, _, _),
            .phantomCode(let p, let c, _, _):
            (p, c)
        case .reserveAlias(let p, let a, let v, _, _, _, _), .commitAlias(let p, let a, let v, _),
            .releaseAlias(let p, let a, let v, _):
            (p, UserPoolKeys.claimName(a, v))
        case .withMessages(let inner, _): inner.route
        // Shard 0's, or a whole pool's or group's (they walk every name), or the shard's own.
        case .createPool, .updatePool, .markPoolDeleting, .deletePool, .purgePool, .createClient, .updateClient,
            .deleteClient, .createGroup, .updateGroup, .deleteGroup, .putResourceServer, .deleteResourceServer,
            .putPoolDocuments, .deletePoolDocuments, .purgeGroup, .outboxDone, .putImportJob, .beginImportUpload,
            .putImportChunk, .finishImportUpload, .abortImportUpload, .deleteImportChunks, .moveShard, .ingest,
            .setLayout:
            nil
        }
    }
}

extension UserPoolQuery {
    /// The pool and name a point read of a user shard is routed by.
    public var route: (pool: String, name: String)? {
        switch self {
        case .user(let p, let c), .phantomCodes(let p, let c), .attemptSlot(let p, let c, _, _, _): (p, c)
        case .alias(let p, let a, let v): (p, UserPoolKeys.claimName(a, v))
        // Shard 0's, listings and scans of a shard, and a sub (asked of every user shard).
        case .pool, .pools, .client, .clientById, .poolByDomain, .clients, .users, .group, .groups, .resourceServer,
            .resourceServers, .poolDocument, .poolDocuments, .members, .userBySub, .userCount, .outbox, .inbox,
            .importJob, .importJobs, .allImportJobs, .importChunk, .layout, .movingRecords:
            nil
        }
    }
}

extension UserPoolStateMachine {
    /// Moving records deleted per `moveShard(moved)` entry, so one entry stays short.
    static let dropBatch = 1_000
    /// Records and keys one `movingRecords` read returns and looks at, at most.
    static let movingPage = 1_000
    static let movingScan = 50_000
    static let movingBytes = 768 << 10

    /// The refusal for a write whose records are moving or moved off this shard, or nil when
    /// this shard takes it. A group purge walks members of every name, so it waits out a fence.
    func moveRefusal(
        _ cmd: UserPoolCommand, _ ctx: Context, _ txn: borrowing WriteTransaction
    ) throws
        -> UserPoolReply?
    {
        guard ctx.shard != 0, let move = try ctx.load(UserPoolKeys.shardMove, as: ShardMove.self, txn) else {
            return nil
        }
        let moving = PoolError(.moving, "shard \(ctx.shard) is moving records to a new shard; retry")
        switch cmd {
        case .purgeGroup, .purgePool: return move.phase == .fenced ? .error(moving) : nil
        default: break
        }
        guard let route = cmd.route,
            UserPoolKeys.userShard(pool: route.pool, canonical: route.name, userShards: move.shards) != ctx.shard
        else { return nil }
        return move.phase == .moved ? .moved(shards: move.shards) : .error(moving)
    }

    /// The answer to a point read of a record that moved off this shard, or nil. While
    /// fenced the record is still here and current (its writes wait), so it is served.
    func readRefusal(_ query: UserPoolQuery, _ move: ShardMove?, _ ctx: Context) -> UserPoolReply? {
        guard let move, move.phase == .moved, let route = query.route,
            UserPoolKeys.userShard(pool: route.pool, canonical: route.name, userShards: move.shards) != ctx.shard
        else { return nil }
        return .moved(shards: move.shards)
    }

    /// Whether this shard, in the moved phase of a reshard, no longer holds `name`'s records
    /// (deleted a batch at a time, so listings skip those not deleted yet).
    func movedAway(_ move: ShardMove?, pool: String, name: String, _ ctx: Context) -> Bool {
        guard let move, move.phase == .moved else { return false }
        return UserPoolKeys.userShard(pool: pool, canonical: name, userShards: move.shards) != ctx.shard
    }

    func applyReshard(
        _ cmd: UserPoolCommand, _ ctx: Context, _ txn: borrowing WriteTransaction
    ) throws -> UserPoolReply {
        typealias K = UserPoolKeys
        switch cmd {
        case .moveShard(let move):
            guard ctx.shard != 0, (2...Self.maxUserShards).contains(move.shards), move.shards >= ctx.shard else {
                return .error(PoolError(.invalidParameter, "shard \(ctx.shard) cannot move to \(move.shards) shards"))
            }
            let stored = try ctx.load(K.shardMove, as: ShardMove.self, txn)
            if let stored, stored.shards > move.shards || (stored.shards == move.shards && stored.phase > move.phase) {
                return .more(false)  // an older step, repeated: the shard keeps what it did
            }
            var record = ShardMove(shards: move.shards, phase: move.phase)
            if let stored, stored.shards == move.shards, stored.phase == move.phase { record = stored }
            if record.phase == .moved {
                let page = try Self.movingRecords(
                    shards: record.shards, after: record.dropped.map { Array($0) }, limit: Self.dropBatch, ctx, txn)
                for moved in page.records {
                    let key = Array(moved.key)
                    if let pool = K.userPool(key) { try count(pool, by: -1, ctx, txn) }
                    try ctx.delete(key, txn)
                }
                record.dropped = page.next.map { Data($0) }
            }
            try ctx.store(K.shardMove, record, txn)
            return .more(record.dropped != nil)
        case .ingest(let records):
            guard ctx.shard != 0, records.count <= Self.movingPage else {
                return .error(PoolError(.invalidParameter, "not records for a user shard"))
            }
            for record in records {
                let key = Array(record.key)
                guard record.shard == ctx.shard, (3...400).contains(key.count),
                    record.value.count <= Self.maxRecordBytes,
                    RecordKind.of(key)?.movesWithUser == true
                else {
                    return .error(PoolError(.invalidParameter, "not a record of shard \(ctx.shard)"))
                }
                if let pool = K.userPool(key), try !ctx.contains(key, txn) { try count(pool, by: 1, ctx, txn) }
                try txn.put(ctx.key(key), Array(record.value), in: ctx.tables.data)
            }
            return .ok
        case .setLayout(let layout):
            guard ctx.shard == 0, (1...Self.maxUserShards).contains(layout.shards),
                layout.target.map({ $0 > layout.shards && $0 <= Self.maxUserShards }) ?? !layout.copied
            else {
                return .error(PoolError(.invalidParameter, "not a user-shard layout"))
            }
            if let stored = try ctx.load(K.layout, as: UserShardLayout.self, txn), stored.routing > layout.routing {
                return .error(PoolError(.invalidParameter, "the user shards never shrink (\(stored.routing) now)"))
            }
            try ctx.store(K.layout, layout, txn)
            return .layout(layout)
        default:
            throw PoolError(.internalError, "not a reshard command")
        }
    }

    /// The records of this shard that belong elsewhere under `shards` user shards, in key
    /// order after `after`, with the key to continue after (nil at the end of the shard).
    /// A phantom comes with its time-ordered twin.
    static func movingRecords<T: ReadableTransaction & ~Copyable>(
        shards: Int, after: [UInt8]?, limit: Int, _ ctx: Context, _ txn: borrowing T
    ) throws -> (records: [ShardRecord], next: [UInt8]?) {
        var records: [ShardRecord] = []
        var phantoms: [(pool: String, name: String, shard: UInt32)] = []
        var bytes = 0
        var scanned = 0
        var last: [UInt8]?
        var ended = true
        let limit = min(max(limit, 1), movingPage)
        let from = after.map { ctx.key($0) + [0] } ?? ShardKeys.prefix(ctx.shard)
        let prefix = ShardKeys.prefix(ctx.shard).count
        try txn.scan(ctx.tables.data, from: from, to: ShardKeys.end(ctx.shard)) { k, v in
            guard records.count + phantoms.count < limit, bytes < movingBytes, scanned < movingScan else {
                ended = false
                return false
            }
            scanned += 1
            let key = Array(k.dropFirst(prefix))
            last = key
            let value = Array(v)
            guard let route = UserPoolKeys.route(key: key, value: value) else { return true }
            let target = UserPoolKeys.userShard(pool: route.pool, canonical: route.name, userShards: shards)
            guard target != ctx.shard else { return true }
            records.append(ShardRecord(key: key, value: value, shard: target))
            bytes += key.count + value.count
            if RecordKind.of(key) == .phantomOrder { phantoms.append((route.pool, route.name, target)) }
            return true
        }
        for p in phantoms {
            let key = UserPoolKeys.phantom(p.pool, p.name)
            if let value = try txn.get(ctx.key(key), in: ctx.tables.data) {
                records.append(ShardRecord(key: key, value: value, shard: p.shard))
            }
        }
        return (records, ended ? nil : last)
    }
}
