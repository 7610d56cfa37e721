import NodeRPC
import Sharding
import Storage

/// The request table: every applied client request (by its 16-byte id) with what the state
/// machine retained for a retry, so a retry after an unknown outcome applies nothing twice.
/// It forgets the oldest, by the clock in their ids and by count, so it stays small
/// whatever the traffic (a stream of failed sign-ins included), and so do snapshots.
///
/// `requests`: shard ‖ request id → applied index ‖ retained; `requestOrder`: shard ‖
/// applied index → request id. Everything here follows from the log (indexes, and the clock
/// in ids), so every replica forgets the same requests.
enum RequestTable {
    struct Bounds {
        /// A retry arrives within seconds (a client's deadline is 5 s); a request is
        /// remembered for 10 minutes by the clock in its id…
        var maxAgeMilliseconds: UInt64 = 600_000
        /// …and for at most this many later entries.
        var maxEntries: UInt64 = 100_000
        /// Forgotten per apply at most, so pruning never makes one apply slow; more than the
        /// one each apply adds, so the table shrinks back after a burst.
        var prunePerApply = 16
    }

    static func requestKey(_ shard: UInt32, _ requestId: [UInt8]) -> [UInt8] { ShardKeys.key(shard, requestId) }

    static func orderKey(_ shard: UInt32, _ index: UInt64) -> [UInt8] {
        ShardKeys.key(shard, withUnsafeBytes(of: index.bigEndian, Array.init))
    }

    /// What was retained for `requestId`, if it applied.
    static func retained<T: ReadableTransaction & ~Copyable>(
        _ txn: borrowing T, _ tables: NodeTables, shard: UInt32, requestId: [UInt8]
    ) throws -> [UInt8]? {
        try txn.get(requestKey(shard, requestId), in: tables.requests).map { Array($0.dropFirst(8)) }
    }

    /// Records an applied request and forgets the oldest past the bounds.
    static func remember(
        _ txn: borrowing WriteTransaction, _ tables: NodeTables, shard: UInt32, index: UInt64, requestId: [UInt8],
        retained: [UInt8], bounds: Bounds = Bounds()
    ) throws {
        var stored = withUnsafeBytes(of: index.bigEndian, Array.init)
        stored += retained
        try txn.put(requestKey(shard, requestId), stored, in: tables.requests)
        try txn.put(orderKey(shard, index), requestId, in: tables.requestOrder)
        let now = RequestID.milliseconds(of: requestId)
        var expired: [(order: [UInt8], requestId: [UInt8])] = []
        try txn.scan(tables.requestOrder, from: orderKey(shard, 0), to: orderKey(shard, index)) { key, value in
            let at = key.dropFirst(4).prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let id = Array(value)
            let tooMany = at + bounds.maxEntries < index
            let tooOld =
                now > bounds.maxAgeMilliseconds && RequestID.milliseconds(of: id) < now - bounds.maxAgeMilliseconds
            guard tooMany || tooOld else { return false }
            expired.append((Array(key), id))
            return expired.count < bounds.prunePerApply
        }
        for e in expired {
            try txn.delete(e.order, in: tables.requestOrder)
            try txn.delete(requestKey(shard, e.requestId), in: tables.requests)
        }
    }
}
