import Crypto
import Foundation
import UserPool

/// What an export or import did.
public struct TransferReport: Codable, Sendable {
    public var poolId: String
    public var users = 0
    public var groups = 0
    /// Users the import found already in the pool (the same username, or a unique value
    /// another user holds): left as they were.
    public var present = 0
    public var failed = 0
    public var firstFailure: String?
    public var poolCreated = false
    public var bytes: Int64 = 0
    public var seconds = 0.0
}

/// `cognate users export` and `import`: the pool's users with their password verifiers
/// (sealed), in the file `UserExportFile.swift` describes. What leaves and what comes back
/// is `TransferRules`'; users get in through the same claimed write as every new user.
extension API {
    /// Users per shard read.
    static let exportPage = 250

    /// Writes every user of `poolId` to a new file at `path` (mode 0600). Each page is a
    /// linearizable read of one shard, so every user written before the export began is in
    /// it; users written during it may or may not be.
    public func exportUsers(
        poolId: String, to path: String, key: UserTransferKey, progress: (Int) -> Void = { _ in }
    ) async throws -> TransferReport {
        let started = Date()
        var pool = try await store.pool(poolId)
        pool.signingKey = nil
        var groups: [Group] = []
        while true {
            let q = UserPoolQuery.groups(poolId: poolId, after: groups.last?.name, limit: Self.exportPage)
            guard case .groups(let page) = try await store.query(PoolStore.metaShard, q) else { break }
            groups += page
            if page.count < Self.exportPage { break }
        }
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let out = FileHandle(forWritingAtPath: path)
        else {
            throw PoolError(.invalidParameter, "cannot create \(path)")
        }
        defer { try? out.close() }
        var report = TransferReport(poolId: poolId, groups: groups.count)
        var hash = HMAC<SHA256>(key: key.endKey)
        var buffer = Data()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func emit(_ line: ExportLine, hashed: Bool = true) throws {
            var bytes = try encoder.encode(line)
            bytes.append(UInt8(ascii: "\n"))
            if hashed { hash.update(data: bytes) }
            buffer.append(bytes)
            report.bytes += Int64(bytes.count)
            if buffer.count >= 1 << 20 {
                try out.write(contentsOf: buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        let header = ExportHeader(
            format: ExportHeader.format, version: ExportHeader.version, exportedAt: now(), pool: pool, groups: groups)
        try emit(ExportLine(header: header))
        for shard in await store.allUserShards() {
            var after: String?
            while true {
                let q = UserPoolQuery.users(poolId: poolId, after: after, limit: Self.exportPage)
                guard case .users(let page) = try await store.query(shard, q) else { break }
                for u in page {
                    let (record, secrets) = TransferRules.exported(u)
                    try emit(ExportLine(user: record, sealed: key.seal(secrets, of: record)))
                    report.users += 1
                    if report.users % 1000 == 0 { progress(report.users) }
                }
                after = page.last.map { PoolRules.canonical($0.username, in: pool) }
                if page.count < Self.exportPage { break }
            }
        }
        let digest = hash.finalize().map { String(format: "%02x", $0) }.joined()
        try emit(ExportLine(end: ExportEnd(users: report.users, hmac: digest)), hashed: false)
        try out.write(contentsOf: buffer)
        try out.synchronize()
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// Reads the export at `path`, checks it whole, and writes its users into `poolId` (by
    /// default the pool it was exported from). A pool that does not exist is created from the
    /// file's header with the same id, so the verifiers work; its groups are created where
    /// missing. Users already present are left alone and counted, so an interrupted import
    /// can be run again.
    public func importUsers(
        from path: String, key: UserTransferKey, poolId: String? = nil, concurrency: Int = 16,
        progress: (Int) -> Void = { _ in }
    ) async throws -> TransferReport {
        let started = Date()
        let header = try Self.checkExport(path, key: key)
        let target = try await importTarget(header: header, poolId: poolId)
        try TransferRules.checkPool(exported: header.pool.id, into: target.pool)
        var report = TransferReport(poolId: target.pool.id, poolCreated: target.created)
        var groups = target.groups
        for g in header.groups where !groups.contains(g.name) {
            var group = g
            group.poolId = target.pool.id
            _ = try await store.proposeMeta(.createGroup(group))
            groups.insert(g.name)
            report.groups += 1
        }
        var reader = try LineReader(path: path)
        defer { reader.close() }
        _ = try reader.next()
        let decoder = JSONDecoder()
        try await withThrowingTaskGroup(of: ImportOutcome.self) { tasks in
            var running = 0
            func tally(_ outcome: ImportOutcome) {
                running -= 1
                switch outcome {
                case .imported: report.users += 1
                case .present: report.present += 1
                case .failed(let why):
                    report.failed += 1
                    report.firstFailure = report.firstFailure ?? why
                }
                let done = report.users + report.present + report.failed
                if done % 1000 == 0 { progress(done) }
            }
            while let line = try reader.next() {
                let parsed = try decoder.decode(ExportLine.self, from: Data(line))
                guard let record = parsed.user, let sealed = parsed.sealed else { break }
                // One user that cannot go in (secrets that do not open, a record the rules
                // refuse) fails alone; the file as a whole was checked before.
                let user: User
                do {
                    let secrets = try key.open(sealed, of: record)
                    user = try TransferRules.imported(record, secrets: secrets, into: target.pool, groups: groups)
                } catch {
                    report.failed += 1
                    report.firstFailure = report.firstFailure ?? "\(record.username): \(error)"
                    continue
                }
                if running >= max(1, concurrency), let outcome = try await tasks.next() { tally(outcome) }
                running += 1
                let pool = target.pool
                tasks.addTask { await importOne(user, into: pool) }
            }
            while let outcome = try await tasks.next() { tally(outcome) }
        }
        report.bytes = reader.offset
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    enum ImportOutcome: Sendable {
        case imported, present
        case failed(String)
    }

    /// One user's claimed write, retried while its shard is between leaders. A retry that
    /// finds the user means the earlier attempt landed.
    func importOne(_ user: User, into pool: Pool) async -> ImportOutcome {
        let canonical = PoolRules.canonical(user.username, in: pool)
        for attempt in 1...5 {
            do {
                _ = try await insertClaimed(pool: pool, canonical: canonical, attributes: user.attributes, now: now()) {
                    .createUser(user, canonical: canonical)
                }
                return .imported
            } catch let e as PoolError where e.code == .usernameExists || e.code == .aliasExists {
                return .present
            } catch let e as PoolError where e.code == .unavailable && attempt < 5 {
                try? await Task.sleep(for: .milliseconds(200 * attempt))
            } catch {
                return .failed("\(user.username): \(error)")
            }
        }
        return .failed("\(user.username): its shard stayed unavailable")
    }

    /// The header of the export at `path` once the whole file checks: a header first, user
    /// lines, then an end line whose count and SHA-256 match what came before it; and the
    /// first user's secrets open with `key`.
    static func checkExport(_ path: String, key: UserTransferKey) throws -> ExportHeader {
        var reader = try LineReader(path: path)
        defer { reader.close() }
        let decoder = JSONDecoder()
        var hash = HMAC<SHA256>(key: key.endKey)
        guard let first = try reader.next(),
            let header = try? decoder.decode(ExportLine.self, from: Data(first)).header,
            header.format == ExportHeader.format
        else {
            throw PoolError(.invalidParameter, "\(path) is not a Cognate user export")
        }
        guard header.version == ExportHeader.version else {
            throw PoolError(
                .invalidParameter,
                "\(path) is an export of version \(header.version); this build reads \(ExportHeader.version) (export "
                    + "again with this build)")
        }
        hash.update(data: Data(first) + [UInt8(ascii: "\n")])
        var users = 0
        while let line = try reader.next() {
            if line.starts(with: Array(#"{"end":"#.utf8)) {
                let end = try? decoder.decode(ExportLine.self, from: Data(line)).end
                let digest = hash.finalize().map { String(format: "%02x", $0) }.joined()
                guard let end, end.users == users, constantTimeEqual(Array(end.hmac.utf8), Array(digest.utf8)),
                    try reader.next() == nil
                else {
                    throw PoolError(.invalidParameter, "\(path) was altered: its end line does not match its content")
                }
                return header
            }
            hash.update(data: Data(line) + [UInt8(ascii: "\n")])
            if users == 0 {
                let parsed = try decoder.decode(ExportLine.self, from: Data(line))
                guard let record = parsed.user, let sealed = parsed.sealed else {
                    throw PoolError(.invalidParameter, "\(path): line 2 is not a user")
                }
                _ = try key.open(sealed, of: record)
            }
            users += 1
        }
        throw PoolError(.invalidParameter, "\(path) is incomplete: it has no end line")
    }

    /// The pool an import writes into, whether this import created it, and its groups.
    struct ImportTarget {
        var pool: Pool
        var created: Bool
        var groups: Set<String>
    }

    func importTarget(header: ExportHeader, poolId: String?) async throws -> ImportTarget {
        let id = poolId ?? header.pool.id
        var created = false
        let pool: Pool
        if case .pool(let existing?) = try await store.query(PoolStore.metaShard, .pool(id: id)) {
            pool = existing
        } else {
            guard id == header.pool.id else { throw PoolError(.resourceNotFound, "User pool \(id) does not exist.") }
            var fresh = header.pool
            fresh.signingKey = try await auth.newSigningKey()
            guard case .pool(let p?) = try await store.proposeMeta(.createPool(fresh)) else {
                throw PoolError(.internalError, "unexpected reply creating a pool")
            }
            pool = p
            created = true
        }
        var groups: Set<String> = []
        var after: String?
        while true {
            let q = UserPoolQuery.groups(poolId: pool.id, after: after, limit: Self.exportPage)
            guard case .groups(let page) = try await store.query(PoolStore.metaShard, q) else { break }
            groups.formUnion(page.map(\.name))
            after = page.last?.name
            if page.count < Self.exportPage { break }
        }
        return ImportTarget(pool: pool, created: created, groups: groups)
    }
}

func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for i in a.indices { diff |= a[i] ^ b[i] }
    return diff == 0
}
