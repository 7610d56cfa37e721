import ArgumentParser
import AuthCrypto
import Foundation
import NIOPosix
import NodeRPC
import Ops

/// `cognate backup` (take, the default, and `verify`): online backups of a whole cluster.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Take an online backup of every shard, or verify one.",
        discussion: """
            `cognate backup --config FILE --out DIR --key KEYFILE` asks each shard's leader for a \
            copy of its state machine after a ReadIndex round, so the backup holds every write \
            acknowledged before it started; it writes one file per shard, sealed with AES-256-GCM \
            under the operator's key (a chunk at a time, each bound to its backup, shard and \
            place), and manifest.json last, with each copy's Raft index, term, size and SHA-256 \
            and an HMAC over all of it. --key is created (64 hex digits, mode 0600) if it does \
            not exist: keep it apart from the backups; without it they cannot be read or restored. \
            Restore with `cognate restore --key`; the restored cluster needs the same \
            master_key_file.
            """,
        subcommands: [Take.self, Verify.self],
        defaultSubcommand: Take.self
    )

    struct Take: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "take", abstract: "Back up every shard of a running cluster into a new directory.")

        @Option(help: "Cluster definition (TOML).")
        var config: String = "Cluster/local.toml"

        @Option(help: "The directory to write (new or empty).")
        var out: String

        @Option(help: "The backup key: a file of 64 hex digits, created (0600) if it does not exist.")
        var key: String

        @Flag(help: "Print the report as JSON.")
        var json = false

        func run() async throws {
            let cluster = try ClusterConfig.load(path: config)
            let (secret, created) = try OperatorKeyFile.loadOrCreate(path: key, what: "backup key")
            if created {
                FileHandle.standardError.write(Data("created the backup key \(key): keep it apart to restore\n".utf8))
            }
            let client = try NodeClient(config: cluster, group: MultiThreadedEventLoopGroup.singleton)
            let report: ClusterBackup.Report
            do {
                report = try await ClusterBackup.take(
                    client: client, config: cluster, directory: out, key: BackupKey(secret))
                await client.close()
            } catch {
                await client.close()
                throw error
            }
            if json { return try printJSON(report) }
            for s in report.manifest.shards {
                print("shard \(s.shard): index \(s.index), term \(s.term), \(s.bytes) bytes, from node \(s.node)")
            }
            let seconds = String(format: "%.1f", report.seconds)
            print("backed up \(report.shards) shards, \(report.bytes) bytes, in \(seconds) s into \(out)")
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a backup: its manifest's HMAC, every sealed chunk, sizes, SHA-256s and every record.")

        @Argument(help: "The backup directory.")
        var directory: String

        @Option(help: "The backup key it was sealed with.")
        var key: String

        @Flag(help: "Print the report as JSON.")
        var json = false

        func run() throws {
            let verified = try ClusterBackup.verify(directory: directory, key: try BackupKey.load(path: key))
            if json { return try printJSON(verified) }
            for s in verified.manifest.shards {
                let records = (verified.records["\(s.shard)"] ?? [:]).sorted { $0.key < $1.key }
                    .map { "\($0.value) \($0.key)" }.joined(separator: ", ")
                print("shard \(s.shard): index \(s.index), \(s.bytes) bytes, SHA-256 matches; records: \(records)")
            }
            print(
                "backup \(directory) is whole: \(verified.manifest.shards.count) shards, \(verified.bytes) bytes, "
                    + "started \(verified.manifest.started)")
        }
    }
}

/// `cognate restore`: new node data directories from a backup.
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Build a new cluster's data directories from a backup.",
        discussion: """
            Verifies the backup whole, then writes each node's shards (as the definition places \
            them, with the definition's replicas as voters) at the backed-up index into the \
            node's data directory, which must be new or empty. The definition may name other \
            nodes, addresses and certificates than the backed-up cluster's, but the same number \
            of user shards, and its master_key_file must hold the backed-up cluster's keys \
            (--master-key copies them there). Then start the nodes and a front as usual; with \
            --data DIR, `cognate cluster up --config FILE --data DIR` starts them.
            """)

    @Option(help: "The backup directory.")
    var from: String

    @Option(help: "The backup key it was sealed with.")
    var key: String

    @Option(help: "Cluster definition (TOML) of the cluster to build.")
    var config: String = "Cluster/local.toml"

    @Option(help: "Restore only this node (repeatable; default: every node of the definition).")
    var id: [UInt64] = []

    @Option(help: "Put every node's data under this directory, as `cluster up --data` does.")
    var data: String?

    @Option(help: "The backed-up cluster's master key file, copied to the restored cluster's.")
    var masterKey: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() throws {
        var cluster = try ClusterConfig.load(path: config)
        if let data {
            for i in cluster.nodes.indices { cluster.nodes[i].data = "\(data)/node\(cluster.nodes[i].id)" }
            cluster.master_key_file = "\(data)/master.key"
        }
        // The keys go where the restored cluster reads them; a different file there is refused
        // before anything is written.
        var keys: (bytes: [UInt8], to: String)?
        if let masterKey {
            guard let to = cluster.master_key_file else { throw ValidationError("\(config) names no master_key_file") }
            guard let bytes = FileManager.default.contents(atPath: masterKey).map(Array.init) else {
                throw ValidationError("cannot read \(masterKey)")
            }
            if let existing = FileManager.default.contents(atPath: to), Array(existing) != bytes {
                throw ValidationError("\(to) holds other master keys; the restored cluster needs the backed-up ones")
            }
            keys = (bytes, to)
        }
        let restored = try ClusterBackup.restore(
            from: from, config: cluster, nodes: id.isEmpty ? nil : id, key: try BackupKey.load(path: key))
        if let keys {
            if let data { try PrivateFiles.makeDirectory(data) }
            try PrivateFiles.write(keys.bytes, to: keys.to)
        }
        if json { return try printJSON(restored) }
        print(
            "restored \(restored.replicas) shard replicas (\(restored.bytes) bytes of backup) for nodes "
                + "\(restored.nodes.map(String.init).joined(separator: ", ")) in "
                + "\(String(format: "%.1f", restored.seconds)) s; start them with `cognate node`")
    }
}
