import Foundation
import Storage

/// A deleted pool's records on a user shard, removed a batch per entry so no entry grows
/// with the pool: DeleteUserPool proposes `purgePool` to each user shard until nothing is
/// left, then deletes the pool's record on shard 0. The shard keeps a mark of the pool
/// (`dp/`) and refuses its writes from then on.
extension UserPoolStateMachine {
    /// Records removed per `purgePool` entry.
    static let poolPurgeBatch = 1_000
    /// Outbox and inbox messages looked at per entry (both stay small: the outbox holds what
    /// waits for delivery, the inbox at most `inboxLimit`).
    static let messagePurgeScan = 20_000

    func purgePool(_ id: String, _ ctx: Context, _ txn: borrowing WriteTransaction) throws -> UserPoolReply {
        guard ctx.shard != 0 else {
            return .error(PoolError(.invalidParameter, "a pool's users are purged from user shards only"))
        }
        // From here on this shard refuses every write to the pool (a front that still had it
        // cached), so nothing is left behind once the purge has passed.
        try txn.put(ctx.key(UserPoolKeys.deletedPool(id)), [], in: ctx.tables.data)
        var budget = Self.poolPurgeBatch
        for prefix in UserPoolKeys.userShardPrefixes(pool: id) {
            let entries = try ctx.entries(prefix, limit: budget, txn)
            for (k, _) in entries { try txn.delete(k, in: ctx.tables.data) }
            budget -= entries.count
            if budget == 0 { return .more(true) }
        }
        try ctx.delete(UserPoolKeys.userCount(id), txn)
        for prefix in [UserPoolKeys.outboxPrefix, UserPoolKeys.inboxPrefix] {
            var doomed: [[UInt8]] = []
            for (k, v) in try ctx.entries(prefix, limit: Self.messagePurgeScan, txn) {
                struct Pooled: Decodable {
                    var poolId: String?
                    var message: Message?
                    struct Message: Decodable { var poolId: String }
                }
                let pooled = try? JSONDecoder().decode(Pooled.self, from: Data(v))
                if (pooled?.poolId ?? pooled?.message?.poolId) == id { doomed.append(k) }
            }
            for k in doomed.prefix(budget) { try txn.delete(k, in: ctx.tables.data) }
            if doomed.count > budget { return .more(true) }
            budget -= doomed.count
        }
        return .more(false)
    }
}

extension UserPoolStateMachine {
    /// The refusal for a user-shard write to a pool this shard has purged, or nil.
    func deletedPoolRefusal(
        _ cmd: UserPoolCommand, _ ctx: Context, _ txn: borrowing WriteTransaction
    ) throws
        -> UserPoolReply?
    {
        guard ctx.shard != 0, let route = cmd.route,
            try ctx.contains(UserPoolKeys.deletedPool(route.pool), txn)
        else { return nil }
        return .error(Self.noPool(route.pool))
    }
}
