import NodeRPC
import Raft
import Sharding
import Storage

/// One committed entry's outcome.
struct AppliedEntry {
    var shard: UInt32
    var index: UInt64
    var requestId: [UInt8]
    var reply: [UInt8]
}

/// Applying committed commands, once each: the request table remembers every applied
/// request (by its 16-byte id) with what the state machine retained for a retry, and forgets
/// the oldest, so it stays small whatever the traffic.
extension NodeRuntime {
    /// A retry arrives within seconds (a client's deadline is 5 s); a request is remembered
    /// for 10 minutes by the clock in its id, and for at most this many later entries.
    static var dedupeMaxAgeMilliseconds: UInt64 { 600_000 }
    static var dedupeMaxEntries: UInt64 { 100_000 }
    /// Forgotten per apply at most, so pruning never makes one apply slow; more than the one
    /// entry each apply adds, so the table shrinks back after a burst.
    static var dedupePrunePerApply: Int { 16 }

    static func requestKey(_ shard: UInt32, _ requestId: [UInt8]) -> [UInt8] { ShardKeys.key(shard, requestId) }

    static func orderKey(_ shard: UInt32, _ index: UInt64) -> [UInt8] {
        ShardKeys.key(shard, withUnsafeBytes(of: index.bigEndian, Array.init))
    }

    /// The reply already given to `requestId` on `shard`, if it was applied.
    func priorReply(shard: UInt32, requestId: [UInt8], command: [UInt8]) throws -> [UInt8]? {
        try env.read { txn in
            guard let stored = try txn.get(Self.requestKey(shard, requestId), in: tables.requests) else { return nil }
            return try retryReply(Array(stored.dropFirst(8)), command: command, shard: shard, txn: txn)
        }
    }

    private func retryReply<T: ReadableTransaction & ~Copyable>(
        _ retained: [UInt8], command: [UInt8], shard: UInt32, txn: borrowing T
    ) throws -> [UInt8] {
        do {
            return try stateMachine.retry(retained: retained, shard: shard, txn: txn, tables: tables)
        } catch let error as StorageError where error.isEnvironmental {
            throw error
        } catch {
            return stateMachine.rejection(of: error, command: command)
        }
    }

    /// Applies one entry in its own nested transaction: a command that cannot apply is
    /// undone and answered with the state machine's rejection, the same on every replica,
    /// so input can never stop a node. Only a failure of the machine itself propagates.
    func apply(_ txn: borrowing WriteTransaction, shard: UInt32, entry: Entry) throws -> AppliedEntry {
        let requestId = Array(entry.data.prefix(16))
        let command = Array(entry.data.dropFirst(16))
        if let stored = try txn.get(Self.requestKey(shard, requestId), in: tables.requests) {
            let reply = try retryReply(Array(stored.dropFirst(8)), command: command, shard: shard, txn: txn)
            return AppliedEntry(shard: shard, index: entry.index, requestId: requestId, reply: reply)
        }
        let outcome: Applied
        do {
            outcome = try txn.nested { child in
                try stateMachine.apply(command: command, shard: shard, index: entry.index, txn: child, tables: tables)
            }
        } catch let error as StorageError where error.isEnvironmental {
            throw error
        } catch {
            metrics.rejectedEntries.increment()
            logger.warning("shard \(shard): entry \(entry.index) could not apply and was rejected: \(error)")
            outcome = Applied(reply: stateMachine.rejection(of: error, command: command))
        }
        try remember(txn, shard: shard, index: entry.index, requestId: requestId, retained: outcome.retained)
        return AppliedEntry(shard: shard, index: entry.index, requestId: requestId, reply: outcome.reply)
    }

    /// Records an applied request and forgets the oldest ones past the bounds. Everything
    /// here follows from the log (indexes, and the clock in request ids), so every replica
    /// forgets the same requests.
    private func remember(
        _ txn: borrowing WriteTransaction, shard: UInt32, index: UInt64, requestId: [UInt8], retained: [UInt8]
    ) throws {
        var stored = withUnsafeBytes(of: index.bigEndian, Array.init)
        stored += retained
        try txn.put(Self.requestKey(shard, requestId), stored, in: tables.requests)
        try txn.put(Self.orderKey(shard, index), requestId, in: tables.requestOrder)
        let now = RequestID.milliseconds(of: requestId)
        var expired: [(order: [UInt8], requestId: [UInt8])] = []
        try txn.scan(tables.requestOrder, from: Self.orderKey(shard, 0), to: Self.orderKey(shard, index)) { key, value in
            var r = BinaryReader(Array(key.dropFirst(4)))
            let at = (try? r.u64()) ?? 0
            let id = Array(value)
            let tooMany = at + Self.dedupeMaxEntries < index
            let tooOld = now > Self.dedupeMaxAgeMilliseconds && RequestID.milliseconds(of: id) < now - Self.dedupeMaxAgeMilliseconds
            guard tooMany || tooOld else { return false }
            expired.append((Array(key), id))
            return expired.count < Self.dedupePrunePerApply
        }
        for e in expired {
            try txn.delete(e.order, in: tables.requestOrder)
            try txn.delete(Self.requestKey(shard, e.requestId), in: tables.requests)
        }
    }
}
