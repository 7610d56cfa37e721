import ArgumentParser
import Foundation
import Front
import NIOPosix
import NodeRPC

/// `cognate users export|import`: a pool's users, password verifiers included, out of a
/// cluster and into one (the same or another), in Cognate's own file.
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "Export a pool's users (with their password verifiers, sealed) and import them.",
        discussion: """
            The file is JSON Lines: a header with the pool's configuration and groups, a line per \
            user (attributes, status, groups; the salt and verifier sealed with AES-256-GCM under \
            --key), and an end line with the count and SHA-256 of the rest. Outstanding codes, \
            lockout counters and revoked tokens stay behind. A verifier works only in a pool of \
            the same id suffix, so an import into a cluster without the pool creates it with the \
            exported id (and a new signing key). Both talk to the nodes directly, with the \
            front's certificate and the master key, like a front.
            """,
        subcommands: [Export.self, Import.self]
    )

    struct Options: ParsableArguments {
        @Option(help: "Cluster definition (TOML).")
        var config: String = "Cluster/local.toml"

        @Option(help: "The export key: a file of 64 hex digits.")
        var key: String

        @Flag(help: "Print the report as JSON.")
        var json = false

        func api() throws -> (API, NodeClient) {
            let cluster = try ClusterConfig.load(path: config)
            let source = try MasterKeySource(config: cluster)
            let client = try NodeClient(config: cluster, group: MultiThreadedEventLoopGroup.singleton)
            let auth = AuthContext(
                masterKeys: try source.load(), publicURL: cluster.public_url ?? "http://127.0.0.1:9229",
                reload: { try? source.load() })
            let api = API(
                store: PoolStore(client: client, userShards: cluster.shards, timeout: .seconds(10), cacheSeconds: 0),
                region: cluster.region ?? "us-east-1", auth: auth)
            return (api, client)
        }

        /// A running count on a terminal; nothing in a log.
        static let interactive = isatty(STDERR_FILENO) != 0

        static func progress(_ n: Int) {
            if interactive { FileHandle.standardError.write(Data("\r\(n) users".utf8)) }
        }

        static func endProgress() {
            if interactive { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        }

        func show(_ report: TransferReport, verb: String) throws {
            if json {
                let e = JSONEncoder()
                e.outputFormatting = [.sortedKeys]
                print(String(decoding: try e.encode(report), as: UTF8.self))
                return
            }
            let rate = report.seconds > 0 ? Double(report.users) / report.seconds : 0
            let seconds = String(format: "%.1f", report.seconds)
            var line = "\(verb) \(report.users) users of \(report.poolId) in \(seconds) s"
            line += " (\(Int(rate)) users/s, \(report.bytes) bytes"
            line += report.groups > 0 ? ", \(report.groups) groups" : ""
            line += report.poolCreated ? ", pool created" : ""
            print(line + ")")
            if report.present > 0 {
                print("\(report.present) users were already in the pool and were left as they were")
            }
            if report.failed > 0 { print("\(report.failed) users failed; the first: \(report.firstFailure ?? "-")") }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write every user of a pool to a new file (mode 0600).",
            discussion: "Creates --key (mode 0600) if it does not exist, and says so.")

        @OptionGroup var options: Options

        @Option(help: "The pool's id.")
        var pool: String

        @Option(help: "The file to write; it must not exist.")
        var out: String

        func run() async throws {
            guard !FileManager.default.fileExists(atPath: out) else {
                throw ValidationError("\(out) exists; name a new file")
            }
            let key: UserTransferKey
            if FileManager.default.fileExists(atPath: options.key) {
                key = try UserTransferKey.load(path: options.key)
            } else {
                key = try UserTransferKey.create(path: options.key)
                FileHandle.standardError.write(Data("created the export key \(options.key): keep it to import\n".utf8))
            }
            let (api, client) = try options.api()
            do {
                let report = try await api.exportUsers(poolId: pool, to: out, key: key, progress: Options.progress)
                Options.endProgress()
                await client.close()
                try options.show(report, verb: "exported")
            } catch {
                await client.close()
                throw error
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check an export whole, then write its users into a pool.",
            discussion: """
                Into --pool, or by default the exported pool's id (created from the file if this \
                cluster lacks it). Users already present are left alone and counted, so an \
                interrupted import can run again. Exits 1 if any user failed.
                """)

        @OptionGroup var options: Options

        @Option(name: .customLong("in"), help: "The export file.")
        var input: String

        @Option(help: "The pool to import into (default: the exported pool's id).")
        var pool: String?

        @Option(help: "Users written at once.")
        var concurrency = 16

        func validate() throws {
            guard (1...256).contains(concurrency) else { throw ValidationError("--concurrency is 1 to 256") }
        }

        func run() async throws {
            let key = try UserTransferKey.load(path: options.key)
            let (api, client) = try options.api()
            do {
                let report = try await api.importUsers(
                    from: input, key: key, poolId: pool, concurrency: concurrency, progress: Options.progress)
                Options.endProgress()
                await client.close()
                try options.show(report, verb: "imported")
                if report.failed > 0 { throw ExitCode(1) }
            } catch {
                await client.close()
                throw error
            }
        }
    }
}
