import Foundation
import Sharding
import Storage

/// The user-pool state machine of one shard. Records are JSON under the keys of
/// `UserPoolKeys`, in the shard's range of `sm_data`.
///
/// A command that cannot apply (malformed, or a record LMDB refuses) throws; the node
/// undoes it and every replica answers `rejection(of:)` alike. Replies to writes never carry
/// a password verifier, and what the node retains for retries is a reference that `retry`
/// reads again, never the record itself.
public struct UserPoolStateMachine: ReplicatedStateMachine {
    /// Told (during the apply, on every replica) that messages entered a shard's outbox;
    /// the node's deliverer looks at once if it leads that shard.
    let onEnqueue: (@Sendable (UInt32) -> Void)?

    public init(onEnqueue: (@Sendable (UInt32) -> Void)? = nil) { self.onEnqueue = onEnqueue }

    /// The largest record a command may write: far above any valid user (attributes are
    /// capped at 2,048 characters each), far below what would slow a shard.
    static let maxRecordBytes = 1 << 20
    /// The most user shards a cluster may grow to.
    public static let maxUserShards = Placement.maxShards

    /// Commands are refused at the door when larger than a front can make.
    public func admit(command: [UInt8]) -> String? {
        command.count <= 2 << 20 ? nil : "a user-pool command of \(command.count) bytes is over the 2 MiB limit"
    }

    public func apply(
        command: [UInt8], shard: UInt32, index: UInt64, clock: UInt64, txn: borrowing WriteTransaction,
        tables: NodeTables
    )
        throws -> Applied
    {
        let cmd = try UserPoolCommand.decode(command)
        try cmd.checkLimits(entrySeconds: Int64(clamping: clock / 1000))
        let ctx = Context(shard: shard, tables: tables, seconds: Int64(clamping: clock / 1000))
        if let refusal = try moveRefusal(cmd, ctx, txn) ?? deletedPoolRefusal(cmd, ctx, txn) {
            return Applied(reply: refusal.encoded, retained: refusal.encoded)
        }
        let reply: UserPoolReply
        switch cmd {
        case .createPool, .updatePool, .markPoolDeleting, .deletePool, .createClient, .updateClient, .deleteClient,
            .createGroup, .updateGroup, .deleteGroup, .putResourceServer, .deleteResourceServer, .putPoolDocuments,
            .deletePoolDocuments:
            reply = try applyMeta(cmd, ctx, txn)
        case .createUser, .updateUser, .deleteUser, .signInAttempt, .phantomCode, .setMembership, .purgeGroup,
            .purgePool:
            reply = try applyUser(cmd, ctx, txn)
        case .reserveAlias, .commitAlias, .releaseAlias:
            reply = try applyAlias(cmd, ctx, txn)
        case .withMessages(let inner, let messages):
            switch inner {
            case .createUser, .updateUser: reply = try applyUser(inner, ctx, txn)
            default: throw PoolError(.invalidParameter, "messages go only with a user's creation or change")
            }
            if case .user = reply { try enqueue(messages, shard: shard, index: index, ctx, txn) }
        case .outboxDone(let ids, let toInbox, let now):
            reply = try outboxDone(ids, toInbox: toInbox, now: now, shard: shard, ctx, txn)
        case .putImportJob, .beginImportUpload, .putImportChunk, .finishImportUpload, .abortImportUpload,
            .deleteImportChunks:
            reply = try applyImport(cmd, ctx, txn)
        case .moveShard, .ingest, .setLayout:
            reply = try applyReshard(cmd, ctx, txn)
        }
        return Applied(reply: reply.encoded, retained: Self.retained(reply, for: cmd).encoded)
    }

    /// What a retry needs of `reply`: errors and small answers as they are, a user as a
    /// reference to read again.
    static func retained(_ reply: UserPoolReply, for command: UserPoolCommand) -> UserPoolReply {
        if case .withMessages(let inner, _) = command { return retained(reply, for: inner) }
        switch (reply, command) {
        case (.user(let u?), _):
            return .retainedUser(poolId: u.poolId, canonical: canonicalName(of: command) ?? u.username)
        case (.attempt(let outcome, _), .signInAttempt(let pool, let canonical, _, _, _, _, _)):
            return .retainedAttempt(outcome, poolId: pool, canonical: canonical)
        case (.pool, _), (.client, _), (.group, _):
            return .ok
        default:
            return reply
        }
    }

    static func canonicalName(of command: UserPoolCommand) -> String? {
        switch command {
        case .createUser(_, let c), .updateUser(_, let c, _), .deleteUser(_, let c), .setMembership(_, let c, _, _): c
        default: nil
        }
    }

    public func rejection(of error: any Error, command: [UInt8]) -> [UInt8] {
        let why: String
        switch error {
        case is DecodingError, is UserPoolCommand.Untagged: why = "the request could not be applied: malformed command"
        case let e as StorageError: why = "the request could not be applied: the store refused it (\(e.code))"
        case let e as PoolError: return UserPoolReply.error(e).encoded
        default: why = "the request could not be applied"
        }
        return UserPoolReply.error(PoolError(.invalidParameter, why)).encoded
    }

    public func retry<T: ReadableTransaction & ~Copyable>(
        retained: [UInt8], command: [UInt8], shard: UInt32, txn: borrowing T, tables: NodeTables
    ) throws -> [UInt8] {
        let ctx = Context(shard: shard, tables: tables)
        switch try UserPoolReply.decode(retained) {
        case .retainedUser(let pool, let canonical):
            return UserPoolReply.user(
                try ctx.load(UserPoolKeys.user(pool, canonical), as: User.self, txn)?.withoutSecrets
            )
            .encoded
        case .retainedAttempt(let outcome, let pool, let canonical):
            let user = try ctx.load(UserPoolKeys.user(pool, canonical), as: User.self, txn)
            return UserPoolReply.attempt(outcome, outcome == .accepted ? user?.withoutSecrets : nil).encoded
        default:
            return retained
        }
    }

    /// A shard's tables and key prefix, for the helpers of every command.
    struct Context {
        let shard: UInt32
        let tables: NodeTables
        /// The entry's time (its request id's clock; 0 for reads): what a command's own times
        /// are checked against, and the time of records a command stamps.
        var seconds: Int64 = 0

        func key(_ k: [UInt8]) -> [UInt8] { ShardKeys.key(shard, k) }

        func load<T: Decodable, R: ReadableTransaction & ~Copyable>(
            _ k: [UInt8], as: T.Type, _ txn: borrowing R
        ) throws -> T? {
            try txn.get(key(k), in: tables.data).map { try JSONDecoder().decode(T.self, from: Data($0)) }
        }

        func contains<R: ReadableTransaction & ~Copyable>(_ k: [UInt8], _ txn: borrowing R) throws -> Bool {
            try txn.contains(key(k), in: tables.data)
        }

        /// An index entry's value as text (the pool a domain belongs to), or nil.
        func owner<R: ReadableTransaction & ~Copyable>(_ k: [UInt8], _ txn: borrowing R) throws -> String? {
            try txn.get(key(k), in: tables.data).map { String(decoding: $0, as: UTF8.self) }
        }

        func store(_ k: [UInt8], _ value: some Encodable, _ txn: borrowing WriteTransaction) throws {
            let bytes = Array(try UserPoolCommand.encoder.encode(value))
            guard bytes.count <= UserPoolStateMachine.maxRecordBytes else {
                throw PoolError(.invalidParameter, "the record would be \(bytes.count) bytes, over the limit")
            }
            try txn.put(key(k), bytes, in: tables.data)
        }

        @discardableResult
        func delete(_ k: [UInt8], _ txn: borrowing WriteTransaction) throws -> Bool {
            try txn.delete(key(k), in: tables.data)
        }

        func entries(
            _ prefix: [UInt8], limit: Int = .max, _ txn: borrowing WriteTransaction
        ) throws
            -> [(key: [UInt8], value: [UInt8])]
        {
            try txn.entries(tables.data, from: key(prefix), to: key(UserPoolKeys.end(of: prefix)), limit: limit)
        }
    }
}
