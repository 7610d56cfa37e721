import Foundation
import Sharding
import Storage

/// The shard's outbox: messages written with the change that caused them, read and
/// delivered by the shard's leader, removed when it reports them delivered or failed.
///
/// A message's key is the index of the Raft entry that wrote it and its place in that
/// entry, so its id (`<shard>.<index>.<n>`) is the same on every replica and after any
/// leader change: a message delivered twice is recognisable as one.
extension UserPoolStateMachine {
    /// Messages one entry may carry, and delivered messages a shard's local inbox keeps.
    public static let maxMessagesPerEntry = 8
    public static let inboxLimit = 1_000

    func enqueue(
        _ messages: [OutboxMessage], shard: UInt32, index: UInt64, _ ctx: Context, _ txn: borrowing WriteTransaction
    ) throws {
        guard messages.count <= Self.maxMessagesPerEntry else {
            throw PoolError(.invalidParameter, "\(messages.count) messages in one write, over the limit")
        }
        for (n, m) in messages.enumerated() {
            try ctx.store(UserPoolKeys.outbox(index: index, n: n), m, txn)
        }
        if !messages.isEmpty { onEnqueue?(shard) }
    }

    func outboxDone(
        _ ids: [String], toInbox: Bool, now: Int64, shard: UInt32, _ ctx: Context, _ txn: borrowing WriteTransaction
    ) throws -> UserPoolReply {
        guard ids.count <= Self.maxListing else {
            throw PoolError(.invalidParameter, "\(ids.count) message ids in one report, over the limit")
        }
        var moved = 0
        for id in ids {
            guard let (s, index, n) = Self.parse(id), s == shard else { continue }
            let key = UserPoolKeys.outbox(index: index, n: n)
            guard let message = try ctx.load(key, as: OutboxMessage.self, txn) else { continue }
            try ctx.delete(key, txn)
            if toInbox {
                try ctx.store(
                    UserPoolKeys.inbox(index: index, n: n), OutboxEntry(id: id, message: message, deliveredAt: now),
                    txn)
                moved += 1
            }
        }
        if moved > 0 {
            // Oldest first in key order: drop what is over the limit.
            let all = try ctx.entries(UserPoolKeys.inboxPrefix, limit: Self.inboxLimit + Self.maxListing + 1, txn)
            for (k, _) in all.prefix(max(0, all.count - Self.inboxLimit)) { try txn.delete(k, in: ctx.tables.data) }
        }
        return .ok
    }

    /// A message id: `<shard>.<index>.<n>`.
    public static func messageId(shard: UInt32, index: UInt64, n: Int) -> String { "\(shard).\(index).\(n)" }

    static func parse(_ id: String) -> (UInt32, UInt64, Int)? {
        let parts = id.split(separator: ".")
        guard parts.count == 3, let s = UInt32(parts[0]), let i = UInt64(parts[1]), let n = Int(parts[2]),
            (0..<Self.maxMessagesPerEntry).contains(n)
        else { return nil }
        return (s, i, n)
    }

    /// The outbox, oldest first, or the inbox, newest first, as entries with their ids.
    func messages(
        inbox: Bool, before: String?, limit: Int, shard: UInt32, _ ctx: Context, _ txn: borrowing ReadTransaction
    ) throws -> UserPoolReply {
        let limit = min(max(limit, 0), Self.maxListing)
        var out: [OutboxEntry] = []
        guard limit > 0 else { return .messages(out) }
        if !inbox {
            let prefix = UserPoolKeys.outboxPrefix
            try txn.scan(ctx.tables.data, from: ctx.key(prefix), to: ctx.key(UserPoolKeys.end(of: prefix))) { k, v in
                let local = Array(k.dropFirst(ctx.key(prefix).count))
                if let (index, n) = UserPoolKeys.position(local),
                    let m = try? JSONDecoder().decode(OutboxMessage.self, from: Data(v))
                {
                    out.append(OutboxEntry(id: Self.messageId(shard: shard, index: index, n: n), message: m))
                }
                return out.count < limit
            }
            return .messages(out)
        }
        // Newest first, before `before`.
        let prefix = UserPoolKeys.inboxPrefix
        let upper =
            before.flatMap(Self.parse).map { ctx.key(UserPoolKeys.inbox(index: $0.1, n: $0.2)) }
            ?? ctx.key(UserPoolKeys.end(of: prefix))
        try txn.scan(ctx.tables.data, from: ctx.key(prefix), to: upper, reverse: true) { _, v in
            if let e = try? JSONDecoder().decode(OutboxEntry.self, from: Data(v)) { out.append(e) }
            return out.count < limit
        }
        return .messages(out)
    }
}
