import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A position in one table, valid only inside `withCursor`.
///
/// Moves return the entry landed on, copied, or nil when there is none. (Copyable only
/// because Swift 6.3's optimizer crashes specializing a generic closure over a
/// non-copyable cursor; like the transaction, it must not outlive `withCursor`.)
public struct Cursor {
    let cursor: OpaquePointer
    public let table: Table

    public typealias Entry = (key: [UInt8], value: [UInt8])

    /// Moves with `op` and returns raw views of the entry, or nil at either end.
    private func move(
        _ op: MDB_cursor_op, key: [UInt8]? = nil
    ) throws(StorageError) -> (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)? {
        var k = MDB_val()
        var v = MDB_val()
        let rc: Int32
        if let key {
            rc = withVal(key) { kv in
                let rc = mdb_cursor_get(cursor, &kv, &v, op)
                k = kv
                return rc
            }
        } else {
            rc = mdb_cursor_get(cursor, &k, &v, op)
        }
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_cursor_get \(table.name)")
        return (k.buffer, v.buffer)
    }

    private func copy(
        _ raw: (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)?
    ) -> Entry? {
        raw.map { (Array($0.key), Array($0.value)) }
    }

    public func first() throws(StorageError) -> Entry? { copy(try move(MDB_FIRST)) }
    public func last() throws(StorageError) -> Entry? { copy(try move(MDB_LAST)) }
    public func next() throws(StorageError) -> Entry? { copy(try move(MDB_NEXT)) }
    public func previous() throws(StorageError) -> Entry? { copy(try move(MDB_PREV)) }
    public func current() throws(StorageError) -> Entry? { copy(try move(MDB_GET_CURRENT)) }

    /// Moves to the first entry whose key is `>= key`.
    public func seek(atLeast key: [UInt8]) throws(StorageError) -> Entry? {
        copy(try move(MDB_SET_RANGE, key: key))
    }

    /// Moves to the entry whose key is exactly `key`.
    public func seek(exactly key: [UInt8]) throws(StorageError) -> Entry? {
        copy(try move(MDB_SET_KEY, key: key))
    }

    /// Visits `lower <= key < upper` in order (or reverse) until `body` returns false.
    func scan(
        from lower: [UInt8]?, to upper: [UInt8]?, reverse: Bool,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        var entry: (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)?
        if reverse {
            if let upper {
                // Land on the first key >= upper, then step back below it.
                entry = try move(MDB_SET_RANGE, key: upper) != nil ? try move(MDB_PREV) : try move(MDB_LAST)
            } else {
                entry = try move(MDB_LAST)
            }
        } else {
            entry = try lower.map { (l) throws(StorageError) in try move(MDB_SET_RANGE, key: l) } ?? move(MDB_FIRST)
        }
        while let (key, value) = entry {
            if reverse {
                if let lower, compare(key, lower) < 0 { return }
            } else {
                if let upper, compare(key, upper) >= 0 { return }
            }
            guard try body(key, value) else { return }
            entry = try move(reverse ? MDB_PREV : MDB_NEXT)
        }
    }

    /// Deletes `lower <= key < upper`; returns the count removed. Write cursors only.
    func deleteRange(from lower: [UInt8]?, to upper: [UInt8]?) throws -> Int {
        var removed = 0
        // Re-seek after each delete rather than trusting the cursor's position after
        // mdb_cursor_del, which LMDB leaves unspecified at the end of a page.
        while let (key, _) = try lower.map({ (l) throws(StorageError) in try move(MDB_SET_RANGE, key: l) })
            ?? move(MDB_FIRST)
        {
            if let upper, compare(key, upper) >= 0 { break }
            try check(mdb_cursor_del(cursor, 0), "mdb_cursor_del \(table.name)")
            removed += 1
        }
        return removed
    }
}

/// Compares byte strings the way LMDB's default key order does (memcmp, then length).
func compare(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Int {
    b.withUnsafeBytes { b in
        let n = min(a.count, b.count)
        if n > 0, let pa = a.baseAddress, let pb = b.baseAddress {
            let c = memcmp(pa, pb, n)
            if c != 0 { return Int(c) }
        }
        return a.count - b.count
    }
}
