import Crypto
import Foundation
import Node
import NodeRPC
import Sharding
import UserPool

/// What `cognate backup` writes next to the shard copies: which copy of which shard, at what
/// Raft index and term, with its size and SHA-256, the backup's id and the id of the key it
/// is sealed with, and an HMAC over all of it (`BackupKey`). Written last, so a directory
/// without it is an unfinished backup.
public struct BackupManifest: Codable, Sendable, Equatable {
    public static let kindName = "cognate-backup"
    public static let fileName = "manifest.json"
    /// 2: copies sealed and the manifest authenticated under an operator's key.
    public static let currentVersion = 2

    public var kind = BackupManifest.kindName
    public var version = BackupManifest.currentVersion
    /// This backup's id (random), bound into every sealed chunk.
    public var backup: String
    /// Which operator key seals it (`BackupKey.id`).
    public var key: String
    /// The node data format the copies are laid out for.
    public var dataFormat: UInt64
    /// When the backup started (ISO 8601, UTC): every write acknowledged before is in it.
    public var started: String
    public var userShards: Int
    public var shards: [Shard]
    /// HMAC-SHA256 of the rest of the manifest, under a key derived from the backup key.
    public var mac: String?

    public struct Shard: Codable, Sendable, Equatable {
        public var shard: UInt32
        public var index: UInt64
        public var term: UInt64
        /// The copy's size and SHA-256, unsealed.
        public var bytes: UInt64
        public var sha256: String
        /// The sealed file's size.
        public var sealedBytes: UInt64
        public var file: String
        /// The node whose copy this is (the shard's leader then).
        public var node: UInt64
    }

    static func file(of shard: UInt32) -> String { "shard-\(shard).copy" }
}

/// Why a backup, a verification or a restore stopped.
public struct BackupError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }
}

/// Online backups of a whole cluster, their verification, and restores into new clusters.
///
/// A backup asks each shard's leader for a copy of its state machine after a ReadIndex
/// round, so each copy holds every write acknowledged before the backup started, and the
/// copies of the shards are each consistent at their own index. A write in flight while the
/// backup runs may be in one shard's copy and not another's (a user whose alias claim was
/// reserved but not confirmed): the same state a crash of the front in the middle of that
/// write leaves, which the claim protocol already tolerates.
public enum ClusterBackup {
    /// A shard's copy is at most the node's LMDB map: anything larger is not a copy.
    static let maxShardBytes: UInt64 = 256 << 20

    public struct Report: Codable, Sendable {
        public var shards: Int
        public var bytes: UInt64
        public var seconds: Double
        public var manifest: BackupManifest
    }

    /// Takes a backup of every shard into `directory` (created; refused if it holds anything),
    /// sealed with `key`.
    public static func take(
        client: NodeClient, config: ClusterConfig, directory: String, key: BackupKey
    ) async throws -> Report {
        let fm = FileManager.default
        if let existing = try? fm.contentsOfDirectory(atPath: directory), !existing.isEmpty {
            throw BackupError("\(directory) is not empty; a backup goes into a new directory")
        }
        try fm.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let clock = ContinuousClock()
        let began = clock.now
        let started = ISO8601DateFormatter().string(from: Date())
        // The user shards may have grown since the definition was written (a reshard).
        let layout = try await UserShardLayout.read(client: client, config: config)
        guard layout.target == nil else {
            throw BackupError(
                "a reshard to \(layout.target ?? 0) user shards is under way; finish it (`cognate cluster reshard`) "
                    + "and back up then")
        }
        var rng = SystemRandomNumberGenerator()
        let backupId = rng.bytes(16).map { String(format: "%02x", $0) }.joined()
        var entries: [BackupManifest.Shard] = []
        for shard in (0...UInt32(layout.shards)).map({ $0 }) {
            var attempt = 0
            while true {
                attempt += 1
                do {
                    entries.append(
                        try await copy(
                            shard: shard, client: client, directory: directory, key: key, backup: backupId))
                    break
                } catch {
                    // A leader change or a newer backup dropped the copy: take a new one.
                    if attempt == 3 { throw error }
                    try await Task.sleep(for: .milliseconds(200 * attempt))
                }
            }
        }
        var manifest = BackupManifest(
            backup: backupId, key: key.id, dataFormat: ReplicaRestore.dataFormat, started: started,
            userShards: layout.shards, shards: entries)
        manifest.mac = try key.mac(of: manifest)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeDurably(Array(try encoder.encode(manifest)), to: "\(directory)/\(BackupManifest.fileName)")
        let seconds = (clock.now - began) / .seconds(1)
        return Report(
            shards: entries.count, bytes: entries.reduce(0) { $0 + $1.bytes }, seconds: seconds, manifest: manifest)
    }

    /// One shard's copy, chunk by chunk from the node that made it, each sealed as it
    /// arrives; checked against the node's SHA-256 and synced before it takes its final name.
    static func copy(
        shard: UInt32, client: NodeClient, directory: String, key: BackupKey, backup: String
    ) async throws -> BackupManifest.Shard {
        let name = BackupManifest.file(of: shard)
        let partial = "\(directory)/\(name).part"
        let first = try await client.startBackup(shard: shard)
        guard first.total <= maxShardBytes else {
            throw BackupError("shard \(shard): node \(first.node) offered a copy of \(first.total) bytes")
        }
        guard FileManager.default.createFile(atPath: partial, contents: nil, attributes: [.posixPermissions: 0o600]),
            let out = FileHandle(forWritingAtPath: partial)
        else { throw BackupError("cannot create \(partial)") }
        defer { try? out.close() }
        var hash = SHA256()
        var chunk = first
        var written: UInt64 = 0
        var sealedBytes: UInt64 = 0
        var count = 0
        while true {
            guard chunk.index == first.index, chunk.offset == written, chunk.total == first.total else {
                throw BackupError("shard \(shard): node \(first.node) answered another copy or offset")
            }
            hash.update(data: chunk.bytes)
            written += UInt64(chunk.bytes.count)
            let sealed = try key.seal(
                chunk.bytes, backup: backup, shard: shard, chunk: count, final: written == first.total)
            try out.write(contentsOf: sealed)
            sealedBytes += UInt64(sealed.count)
            count += 1
            if written == first.total { break }
            guard !chunk.bytes.isEmpty else { throw BackupError("shard \(shard): an empty chunk before the end") }
            chunk = try await client.backupChunk(of: first, offset: written)
        }
        let digest = Array(hash.finalize())
        guard digest == first.sha256 else {
            throw BackupError("shard \(shard): the copy's SHA-256 differs from what node \(first.node) computed")
        }
        try out.synchronize()
        try FileManager.default.moveItem(atPath: partial, toPath: "\(directory)/\(name)")
        return BackupManifest.Shard(
            shard: shard, index: first.index, term: first.term, bytes: first.total, sha256: hex(digest),
            sealedBytes: sealedBytes, file: name, node: first.node)
    }

    // MARK: Verify

    public struct Verified: Codable, Sendable {
        public var manifest: BackupManifest
        /// Records per shard and state table.
        public var records: [String: [String: Int]]
        public var bytes: UInt64
    }

    /// Reads the manifest and every copy: the manifest's HMAC, every chunk opening with the
    /// key, sizes, SHA-256, and that every record parses.
    public static func verify(directory: String, key: BackupKey) throws -> Verified {
        let manifest = try readManifest(directory, key: key)
        var records: [String: [String: Int]] = [:]
        for entry in manifest.shards {
            let data = try readCopy(directory, entry, manifest: manifest, key: key)
            let counts: [UInt8: Int]
            do {
                counts = try SnapshotRecords.count(data)
            } catch {
                throw BackupError("\(entry.file): the copy's records do not parse (\(error))")
            }
            records["\(entry.shard)"] = Dictionary(
                uniqueKeysWithValues: counts.map { (SnapshotRecords.tableNames[$0.key] ?? "\($0.key)", $0.value) })
        }
        return Verified(manifest: manifest, records: records, bytes: manifest.shards.reduce(0) { $0 + $1.bytes })
    }

    static func readManifest(_ directory: String, key: BackupKey) throws -> BackupManifest {
        let path = "\(directory)/\(BackupManifest.fileName)"
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let size = attributes[.size] as? Int
        else {
            throw BackupError("\(path) is missing: not a backup, or one that did not finish")
        }
        guard size <= 1 << 20, let data = FileManager.default.contents(atPath: path) else {
            throw BackupError("\(path) is not a backup manifest (\(size) bytes)")
        }
        let manifest: BackupManifest
        do {
            manifest = try JSONDecoder().decode(BackupManifest.self, from: data)
        } catch {
            throw BackupError("\(path) is not a backup manifest: \(error)")
        }
        guard manifest.kind == BackupManifest.kindName, manifest.version == BackupManifest.currentVersion else {
            throw BackupError(
                "\(path) is a \(manifest.kind) version \(manifest.version); this build reads version "
                    + "\(BackupManifest.currentVersion) (sealed backups)")
        }
        guard manifest.key == key.id else {
            throw BackupError("the backup is sealed with another key (key id \(manifest.key), this one \(key.id))")
        }
        guard let mac = manifest.mac, constantTimeEqual(Array(mac.utf8), Array(try key.mac(of: manifest).utf8)) else {
            throw BackupError("\(path) was altered: its HMAC does not match")
        }
        guard manifest.dataFormat == ReplicaRestore.dataFormat else {
            throw BackupError(
                "the backup holds data format \(manifest.dataFormat); this build writes format "
                    + "\(ReplicaRestore.dataFormat): restore it with the build that took it")
        }
        let expected = (0...UInt32(max(0, manifest.userShards))).map { $0 }
        guard manifest.userShards >= 1, manifest.shards.map(\.shard) == expected else {
            throw BackupError("\(path) lists shards \(manifest.shards.map(\.shard)), not 0...\(manifest.userShards)")
        }
        for entry in manifest.shards where entry.file != BackupManifest.file(of: entry.shard) {
            throw BackupError(
                "\(path): shard \(entry.shard)'s file is \(entry.file), not \(BackupManifest.file(of: entry.shard))")
        }
        return manifest
    }

    static func readCopy(
        _ directory: String, _ entry: BackupManifest.Shard, manifest: BackupManifest, key: BackupKey
    ) throws -> [UInt8] {
        let path = "\(directory)/\(entry.file)"
        guard entry.bytes <= maxShardBytes, entry.sealedBytes <= maxShardBytes + maxShardBytes / 1024 + 4096 else {
            throw BackupError("\(path): \(entry.bytes) bytes is too large")
        }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let size = attributes[.size] as? Int
        else { throw BackupError("\(path) is missing") }
        guard UInt64(size) == entry.sealedBytes else {
            throw BackupError("\(path) holds \(size) bytes; the manifest says \(entry.sealedBytes)")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw BackupError("cannot read \(path)") }
        let bytes = try key.open(Array(data), backup: manifest.backup, shard: entry.shard, path: path)
        guard UInt64(bytes.count) == entry.bytes else {
            throw BackupError("\(path) opens to \(bytes.count) bytes; the manifest says \(entry.bytes)")
        }
        guard hex(Array(SHA256.hash(data: bytes))) == entry.sha256 else {
            throw BackupError("\(path): its SHA-256 is not the manifest's; the copy was altered or damaged")
        }
        return bytes
    }

    // MARK: Restore

    public struct Restored: Codable, Sendable {
        public var nodes: [UInt64]
        public var replicas: Int
        public var bytes: UInt64
        public var seconds: Double
    }

    /// Builds the data directories of `nodes` (every node of the definition by default) from
    /// the backup: each node gets the shards the definition places on it, at the backed-up
    /// index and term, with the definition's replicas as voters. Checks the whole backup and
    /// every target directory before writing anything; refuses a directory that holds data.
    public static func restore(
        from directory: String, config: ClusterConfig, nodes: [UInt64]?, key: BackupKey
    ) throws -> Restored {
        let clock = ContinuousClock()
        let began = clock.now
        _ = try verify(directory: directory, key: key)
        let manifest = try readManifest(directory, key: key)
        let placement = config.placement
        guard manifest.userShards == placement.shards else {
            throw BackupError(
                "the backup has \(manifest.userShards) user shards and the definition \(placement.shards): users "
                    + "are placed by a hash over the shard count, so the two must match (a cluster resharded to "
                    + "\(manifest.userShards) restores with `shards = \(manifest.userShards)` in the definition)")
        }
        let targets = nodes ?? config.nodes.map(\.id)
        var directories: [UInt64: String] = [:]
        for id in targets {
            guard let entry = config.node(id) else { throw BackupError("node \(id) is not in the definition") }
            if let existing = try? FileManager.default.contentsOfDirectory(atPath: entry.data), !existing.isEmpty {
                throw BackupError("\(entry.data) (node \(id)) is not empty; a restore builds new data directories")
            }
            directories[id] = entry.data
        }
        var replicas = 0
        for entry in manifest.shards {
            let holders = placement.replicas(of: entry.shard).filter { directories[$0] != nil }
            guard !holders.isEmpty else { continue }
            let data = try readCopy(directory, entry, manifest: manifest, key: key)
            for id in holders {
                try ReplicaRestore.write(
                    dataDirectory: directories[id]!, shard: entry.shard, index: entry.index, term: entry.term,
                    voters: Set(placement.replicas(of: entry.shard)), data: data)
                replicas += 1
            }
        }
        return Restored(
            nodes: targets.sorted(), replicas: replicas, bytes: manifest.shards.reduce(0) { $0 + $1.bytes },
            seconds: (clock.now - began) / .seconds(1))
    }

    // MARK: Files

    static func writeDurably(_ bytes: [UInt8], to path: String) throws {
        let partial = path + ".part"
        guard
            FileManager.default.createFile(
                atPath: partial, contents: Data(bytes), attributes: [.posixPermissions: 0o600]),
            let handle = FileHandle(forUpdatingAtPath: partial)
        else { throw BackupError("cannot write \(partial)") }
        try handle.synchronize()
        try handle.close()
        try FileManager.default.moveItem(atPath: partial, toPath: path)
        // The rename itself is durable once the directory is synced.
        let dir = open((path as NSString).deletingLastPathComponent, O_RDONLY)
        if dir >= 0 {
            fsync(dir)
            close(dir)
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}

func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for i in a.indices { diff |= a[i] ^ b[i] }
    return diff == 0
}
