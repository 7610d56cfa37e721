import ArgumentParser
import Foundation
import Node
import NodeRPC
import Ops
import Sharding

/// `cognate kv …`: the key-value harness over the client RPC, for tests and benchmarks.
struct KVCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kv",
        abstract: "Drive the key-value harness of a node cluster (tests, benchmarks).",
        subcommands: [Put.self, Get.self, Load.self, Verify.self]
    )

    struct Options: ParsableArguments {
        @Option(help: "Cluster definition (TOML).")
        var config: String = "Cluster/local.toml"
    }

    struct Put: AsyncParsableCommand {
        @OptionGroup var options: Options
        @Argument var key: String
        @Argument var value: String

        func run() async throws {
            let client = try NodeClient(config: try ClusterConfig.load(path: options.config))
            defer { Task { await client.close() } }
            let k = Array(key.utf8)
            let reply = try await client.propose(
                shard: client.shard(forKey: k), requestId: RequestID.make(),
                command: KVStateMachine.Command.put(key: k, value: Array(value.utf8)).encoded)
            print(KVStateMachine.Reply(decoding: reply))
            await client.close()
        }
    }

    struct Get: AsyncParsableCommand {
        @OptionGroup var options: Options
        @Argument var key: String

        func run() async throws {
            let client = try NodeClient(config: try ClusterConfig.load(path: options.config))
            let k = Array(key.utf8)
            let reply = try await client.read(shard: client.shard(forKey: k), request: KVStateMachine.getRequest([k]))
            let values = try KVStateMachine.decodeGet(reply)
            print(values.first.flatMap { $0 }.map { String(decoding: $0, as: UTF8.self) } ?? "(absent)")
            await client.close()
        }
    }

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write keys with concurrency; report throughput, latency and every acknowledged key.",
            discussion: """
                Writes key-<prefix>-<n> = a value of --value-size bytes derived from the key, for n in \
                0..<--keys, or in a closed loop for --duration seconds. Each write is retried with its \
                request id until acknowledged or --timeout passes. --acked writes the acknowledged \
                keys, one a line.
                """
        )
        @OptionGroup var options: Options
        @Option var keys: Int = 10_000
        @Option var concurrency: Int = 16
        @Option(name: .customLong("value-size")) var valueSize: Int = 300
        @Option var prefix: String = "k"
        @Option(help: "Run a closed loop for this many seconds instead of --keys writes.") var duration: Double?
        @Option(help: "Seconds to keep retrying one write.") var timeout: Double = 10
        @Option(help: "File to write the acknowledged keys to.") var acked: String?
        @Flag var json = false

        func validate() throws {
            guard (1...4096).contains(concurrency) else { throw ValidationError("--concurrency must be 1...4096") }
            guard (0...(1 << 20)).contains(valueSize) else { throw ValidationError("--value-size must be 0...1048576") }
            guard keys > 0 || duration != nil else { throw ValidationError("--keys must be positive") }
        }

        func run() async throws {
            let client = try NodeClient(config: try ClusterConfig.load(path: options.config))
            let result = try await KVLoad(
                client: client, keys: keys, concurrency: concurrency, valueSize: valueSize, prefix: prefix,
                duration: duration, timeout: timeout
            ).run()
            await client.close()
            if let acked {
                try result.ackedKeys.joined(separator: "\n").appending("\n").write(
                    toFile: acked, atomically: true, encoding: .utf8)
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(result.summary), as: UTF8.self))
            } else {
                let s = result.summary
                print(
                    String(
                        format:
                            "%d acknowledged, %d failed in %.2fs: %.0f writes/s, p50 %.2f ms, p99 %.2f ms "
                            + "(concurrency %d, %d-byte values)",
                        s.acknowledged, s.failed, s.seconds, s.writesPerSecond, s.p50Milliseconds, s.p99Milliseconds,
                        s.concurrency, s.valueSize))
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check acknowledged keys by linearizable reads and compare every node's per-shard checksums.",
            discussion:
                "Exits non-zero if an acknowledged key is missing or wrong, or if replicas of a shard differ once "
                + "caught up."
        )
        @OptionGroup var options: Options
        @Option(help: "File of acknowledged keys (from `kv load --acked`).") var acked: String?
        @Option(name: .customLong("value-size")) var valueSize: Int = 300
        @Option(help: "Seconds to wait for replicas to catch up.") var wait: Double = 30
        @Flag var json = false

        func run() async throws {
            let config = try ClusterConfig.load(path: options.config)
            let client = try NodeClient(config: config)
            let keys =
                try acked.map {
                    try String(contentsOfFile: $0, encoding: .utf8).split(separator: "\n").map(String.init)
                } ?? []
            let report = try await KVVerify(
                client: client, config: config, keys: keys, valueSize: valueSize, wait: wait
            ).run()
            await client.close()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            if json {
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                print(
                    "checked \(report.checkedKeys) acknowledged keys: \(report.missingKeys.count) missing, "
                        + "\(report.wrongValues.count) wrong"
                )
                for s in report.shards {
                    print(
                        "shard \(s.shard): "
                            + s.replicas.map {
                                "node \($0.node) applied \($0.applied) keys \($0.count) checksum "
                                    + "\(String($0.checksum, radix: 16))"
                            }.joined(separator: " | ") + (s.identical ? "  identical" : "  DIFFERENT"))
                }
            }
            if !report.ok { throw ExitCode(1) }
        }
    }
}
