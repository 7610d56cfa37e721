import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An LMDB environment: one directory, one memory map, many named tables.
///
/// Transactions exist only inside the closures passed to `read(_:)` and `write(_:)`; the
/// transaction values are non-copyable, so they cannot be stored or returned.
///
/// `@unchecked Sendable`: LMDB environments are thread-safe when opened with `MDB_NOTLS`
/// (done here); the table cache is guarded by `tableLock`, and growing the map, which LMDB
/// allows only while no transaction is active, happens under `mapLock` held exclusively
/// while every transaction holds it shared.
public final class Environment: @unchecked Sendable {
    let env: OpaquePointer
    public let path: String
    public let options: EnvironmentOptions
    private var tables: [String: Table] = [:]
    private var tableLock = pthread_mutex_t()
    private var mapLock = pthread_rwlock_t()
    /// Serializes writers (LMDB does anyway) so a no-sync transaction's flag change cannot
    /// leak into another writer's commit.
    private var writeLock = pthread_mutex_t()
    private var currentMapSize: Int

    /// Opens (creating if needed) the environment in the directory `path`.
    public init(path: String, options: EnvironmentOptions = .init()) throws(StorageError) {
        try Self.makeDirectories(path)
        var handle: OpaquePointer?
        try check(mdb_env_create(&handle), "mdb_env_create")
        guard let handle else { throw StorageError(code: .lmdb, message: "mdb_env_create returned no handle") }
        do {
            try check(mdb_env_set_mapsize(handle, options.mapSize), "mdb_env_set_mapsize")
            try check(mdb_env_set_maxdbs(handle, options.maxTables), "mdb_env_set_maxdbs")
            try check(mdb_env_set_maxreaders(handle, options.maxReaders), "mdb_env_set_maxreaders")
            var flags = UInt32(MDB_NOTLS)
            if options.durability == .noSync { flags |= UInt32(MDB_NOSYNC) }
            // Only this user reads the data: it holds password verifiers and sealed keys.
            try check(mdb_env_open(handle, path, flags, 0o600), "mdb_env_open \(path)")
        } catch {
            mdb_env_close(handle)
            throw error
        }
        var info = MDB_envinfo()
        mdb_env_info(handle, &info)
        self.env = handle
        self.path = path
        self.options = options
        self.currentMapSize = info.me_mapsize
        pthread_mutex_init(&tableLock, nil)
        pthread_rwlock_init(&mapLock, nil)
        pthread_mutex_init(&writeLock, nil)
    }

    /// `mkdir -p`; directories it creates are 0700 (the data is this user's alone).
    static func makeDirectories(_ path: String) throws(StorageError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                let e = errno
                throw StorageError(code: .io, lmdbCode: e, message: "mkdir \(prefix): \(String(cString: strerror(e)))")
            }
            prefix += "/"
        }
    }

    deinit {
        mdb_env_close(env)
        pthread_mutex_destroy(&tableLock)
        pthread_rwlock_destroy(&mapLock)
        pthread_mutex_destroy(&writeLock)
    }

    /// The current size of the memory map in bytes.
    public var mapSize: Int {
        pthread_rwlock_rdlock(&mapLock)
        defer { pthread_rwlock_unlock(&mapLock) }
        return currentMapSize
    }

    /// Opens (creating if needed) the named table. Call it outside `write(_:)`: it runs a
    /// write transaction of its own, and LMDB allows one writer at a time.
    public func openTable(_ name: String) throws -> Table {
        pthread_mutex_lock(&tableLock)
        defer { pthread_mutex_unlock(&tableLock) }
        if let table = tables[name] { return table }
        let table = try write { (txn) throws(StorageError) -> Table in
            var dbi: MDB_dbi = 0
            try check(mdb_dbi_open(txn.txn, name, UInt32(MDB_CREATE), &dbi), "mdb_dbi_open \(name)")
            return Table(name: name, dbi: dbi)
        }
        tables[name] = table
        return table
    }

    /// Runs `body` in a read-only transaction that sees one consistent snapshot.
    public func read<R>(_ body: (borrowing ReadTransaction) throws -> R) throws -> R {
        pthread_rwlock_rdlock(&mapLock)
        defer { pthread_rwlock_unlock(&mapLock) }
        var txn: OpaquePointer?
        try check(mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn), "mdb_txn_begin(read)")
        defer { mdb_txn_abort(txn) }
        return try body(ReadTransaction(txn: txn!))
    }

    /// Runs `body` in a read-write transaction and commits it when `body` returns; a throw
    /// from `body` aborts it and nothing is written.
    ///
    /// When the map is full the transaction is aborted, the map doubled (up to
    /// `maxMapSize`) and `body` run again from the start, so `body` must touch nothing but
    /// the transaction. The commit is durable unless the environment was opened `.noSync`.
    ///
    /// `sync: false` makes this one commit on a durable environment flush its data pages but
    /// not its meta page (LMDB's `MDB_NOMETASYNC`): one flush instead of two. The file stays
    /// consistent whatever happens, but a machine crash can undo this commit (and any
    /// other such commit not followed by a synced one or `sync()`). For writes that can be
    /// redone from elsewhere, such as a log's. (`MDB_NOSYNC` is never used: without the
    /// data flush a machine crash can leave a meta page pointing at pages never written.)
    public func write<R>(sync: Bool = true, _ body: (borrowing WriteTransaction) throws -> R) throws -> R {
        pthread_mutex_lock(&writeLock)
        defer { pthread_mutex_unlock(&writeLock) }
        let toggle = !sync && options.durability == .durable
        if toggle { mdb_env_set_flags(env, UInt32(MDB_NOMETASYNC), 1) }
        defer { if toggle { mdb_env_set_flags(env, UInt32(MDB_NOMETASYNC), 0) } }
        while true {
            do {
                return try writeOnce(body)
            } catch let error as StorageError where error.code == .mapFull {
                try grow(after: error)
            }
        }
    }

    private func writeOnce<R>(_ body: (borrowing WriteTransaction) throws -> R) throws -> R {
        pthread_rwlock_rdlock(&mapLock)
        defer { pthread_rwlock_unlock(&mapLock) }
        var txn: OpaquePointer?
        try check(mdb_txn_begin(env, nil, 0, &txn), "mdb_txn_begin(write)")
        let result: R
        do {
            result = try body(WriteTransaction(txn: txn!))
        } catch {
            mdb_txn_abort(txn)
            throw error
        }
        // mdb_txn_commit frees the transaction whatever it returns.
        try check(mdb_txn_commit(txn), "mdb_txn_commit")
        return result
    }

    private func grow(after error: StorageError) throws(StorageError) {
        pthread_rwlock_wrlock(&mapLock)
        defer { pthread_rwlock_unlock(&mapLock) }
        guard currentMapSize < options.maxMapSize else {
            throw StorageError(
                code: .mapFull, lmdbCode: error.lmdbCode,
                message: "map full at \(currentMapSize) bytes, the configured maximum")
        }
        let next = min(currentMapSize * 2, options.maxMapSize)
        try check(mdb_env_set_mapsize(env, next), "mdb_env_set_mapsize")
        currentMapSize = next
    }

    /// Flushes the data (and meta pages) to disk: for environments opened `.noSync`, and
    /// after `write(sync: false)` commits that must become durable.
    public func sync() throws(StorageError) {
        try check(mdb_env_sync(env, 1), "mdb_env_sync")
    }
}
