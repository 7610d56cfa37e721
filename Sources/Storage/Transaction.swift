import CLMDB

/// Operations every transaction offers: point reads, cursors and ordered range scans.
///
/// Byte slices handed to closures point into the memory map and are valid only inside that
/// closure; the copying variants return `[UInt8]`.
public protocol ReadableTransaction: ~Copyable {
    var txn: OpaquePointer { get }
}

/// A read-only view of one consistent snapshot; exists only inside `Environment.read(_:)`.
public struct ReadTransaction: ReadableTransaction, ~Copyable {
    public let txn: OpaquePointer
}

/// A read-write transaction; exists only inside `Environment.write(_:)`.
public struct WriteTransaction: ReadableTransaction, ~Copyable {
    public let txn: OpaquePointer
}

/// Calls `body` with an `MDB_val` pointing at `bytes`.
@inline(__always)
func withVal<R>(_ bytes: [UInt8], _ body: (inout MDB_val) throws -> R) rethrows -> R {
    try bytes.withUnsafeBytes { raw in
        var val = MDB_val(mv_size: raw.count, mv_data: UnsafeMutableRawPointer(mutating: raw.baseAddress))
        return try body(&val)
    }
}

extension MDB_val {
    var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: mv_data, count: mv_size) }
    var bytes: [UInt8] { Array(buffer) }
}

extension ReadableTransaction where Self: ~Copyable {
    /// The value stored under `key`, copied out, or nil.
    public func get(_ key: [UInt8], in table: Table) throws(StorageError) -> [UInt8]? {
        try withValue(key, in: table) { $0.map(Array.init) }
    }

    /// Calls `body` with the value under `key` (nil when absent) without copying it.
    public func withValue<R>(
        _ key: [UInt8], in table: Table, _ body: (UnsafeRawBufferPointer?) throws(StorageError) -> R
    ) throws(StorageError) -> R {
        var data = MDB_val()
        let rc = withVal(key) { k in mdb_get(txn, table.dbi, &k, &data) }
        if rc == MDB_NOTFOUND { return try body(nil) }
        try check(rc, "mdb_get \(table.name)")
        return try body(data.buffer)
    }

    /// Whether `key` is present.
    public func contains(_ key: [UInt8], in table: Table) throws(StorageError) -> Bool {
        try withValue(key, in: table) { $0 != nil }
    }

    /// The number of entries in `table`.
    public func count(_ table: Table) throws(StorageError) -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(txn, table.dbi, &stat), "mdb_stat \(table.name)")
        return stat.ms_entries
    }

    /// Runs `body` with a cursor over `table`, closed when `body` returns.
    public func withCursor<R>(
        _ table: Table, _ body: (Cursor) throws -> R
    ) throws -> R {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, table.dbi, &cursor), "mdb_cursor_open \(table.name)")
        defer { mdb_cursor_close(cursor) }
        return try body(Cursor(cursor: cursor!, table: table))
    }

    /// Visits the entries of `table` with `lower <= key < upper` in key order (or in
    /// reverse), without copying, until `body` returns false. Nil bounds are open.
    public func scan(
        _ table: Table, from lower: [UInt8]? = nil, to upper: [UInt8]? = nil, reverse: Bool = false,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try withCursor(table) { cursor in
            try cursor.scan(from: lower, to: upper, reverse: reverse, body)
        }
    }

    /// The entries of `table` with `lower <= key < upper`, copied, at most `limit` of them.
    public func entries(
        _ table: Table, from lower: [UInt8]? = nil, to upper: [UInt8]? = nil,
        reverse: Bool = false, limit: Int = .max
    ) throws -> [(key: [UInt8], value: [UInt8])] {
        var out: [(key: [UInt8], value: [UInt8])] = []
        guard limit > 0 else { return out }
        try scan(table, from: lower, to: upper, reverse: reverse) { key, value in
            out.append((Array(key), Array(value)))
            return out.count < limit
        }
        return out
    }
}

extension WriteTransaction {
    /// Runs `body` in a transaction nested in this one: its writes join this transaction
    /// when `body` returns, and are undone, leaving this transaction as it was, when `body`
    /// throws (the error is rethrown). A caller applies one command at a time this way, so
    /// a command that fails halfway leaves nothing behind.
    public func nested<R>(_ body: (borrowing WriteTransaction) throws -> R) throws -> R {
        var child: OpaquePointer?
        try check(mdb_txn_begin(mdb_txn_env(txn), txn, 0, &child), "mdb_txn_begin(nested)")
        let result: R
        do {
            result = try body(WriteTransaction(txn: child!))
        } catch {
            mdb_txn_abort(child)
            throw error
        }
        try check(mdb_txn_commit(child), "mdb_txn_commit(nested)")
        return result
    }

    /// Stores `value` under `key`, replacing any value there unless `noOverwrite` is set,
    /// in which case an existing key fails with `.keyExists`.
    public func put(
        _ key: [UInt8], _ value: [UInt8], in table: Table, noOverwrite: Bool = false
    ) throws(StorageError) {
        let flags: UInt32 = noOverwrite ? UInt32(MDB_NOOVERWRITE) : 0
        let rc = withVal(key) { k in withVal(value) { v in mdb_put(txn, table.dbi, &k, &v, flags) } }
        try check(rc, "mdb_put \(table.name)")
    }

    /// Removes `key`; returns whether it was present.
    @discardableResult
    public func delete(_ key: [UInt8], in table: Table) throws(StorageError) -> Bool {
        let rc = withVal(key) { k in mdb_del(txn, table.dbi, &k, nil) }
        if rc == MDB_NOTFOUND { return false }
        try check(rc, "mdb_del \(table.name)")
        return true
    }

    /// Removes every entry of `table`, keeping the table.
    public func clear(_ table: Table) throws(StorageError) {
        try check(mdb_drop(txn, table.dbi, 0), "mdb_drop \(table.name)")
    }

    /// Removes every entry with `lower <= key < upper`; returns how many were removed.
    @discardableResult
    public func deleteRange(_ table: Table, from lower: [UInt8]? = nil, to upper: [UInt8]? = nil) throws -> Int {
        try withCursor(table) { cursor in try cursor.deleteRange(from: lower, to: upper) }
    }
}
