import Foundation
import Node
import NodeRPC
import Sharding

/// A closed-loop write load on the key-value harness: `concurrency` workers each write,
/// wait for the acknowledgement, and write again.
public struct KVLoad {
    public struct Summary: Codable, Sendable {
        public var acknowledged: Int
        public var failed: Int
        public var seconds: Double
        public var writesPerSecond: Double
        public var p50Milliseconds: Double
        public var p99Milliseconds: Double
        public var maxMilliseconds: Double
        public var concurrency: Int
        public var valueSize: Int
        public var errors: [String: Int]
    }

    public struct Result: Sendable {
        public var summary: Summary
        public var ackedKeys: [String]
    }

    let client: NodeClient
    let keys: Int
    let concurrency: Int
    let valueSize: Int
    let prefix: String
    let duration: Double?
    let timeout: Double

    public init(
        client: NodeClient, keys: Int, concurrency: Int, valueSize: Int, prefix: String, duration: Double?,
        timeout: Double
    ) {
        self.client = client
        self.keys = keys
        self.concurrency = concurrency
        self.valueSize = valueSize
        self.prefix = prefix
        self.duration = duration
        self.timeout = timeout
    }

    /// The value written for `key`: its bytes repeated to `size`, so any node can check it.
    public static func value(for key: String, size: Int) -> [UInt8] {
        let seed = Array("\(key)|".utf8)
        return (0..<size).map { seed[$0 % seed.count] }
    }

    final class Counter: @unchecked Sendable {
        let lock = NSLock()
        var next = 0
        func take(limit: Int?) -> Int? {
            lock.lock()
            defer { lock.unlock() }
            if let limit, next >= limit { return nil }
            next += 1
            return next - 1
        }
    }

    struct WorkerResult: Sendable {
        var acked: [String] = []
        var latencies: [Double] = []
        var failed = 0
        var errors: [String: Int] = [:]
    }

    public func run() async throws -> Result {
        let counter = Counter()
        let start = ContinuousClock.now
        let stopAt = duration.map { start + .milliseconds(Int64($0 * 1000)) }
        let limit = duration == nil ? keys : nil
        let results = await withTaskGroup(of: WorkerResult.self) { group in
            for _ in 0..<concurrency {
                group.addTask { [client, prefix, valueSize, timeout] in
                    var mine = WorkerResult()
                    while let n = counter.take(limit: limit) {
                        if let stopAt, ContinuousClock.now >= stopAt { break }
                        let key = "key-\(prefix)-\(n)"
                        let k = Array(key.utf8)
                        let command = KVStateMachine.Command.put(key: k, value: Self.value(for: key, size: valueSize))
                            .encoded
                        let began = ContinuousClock.now
                        do {
                            _ = try await client.propose(
                                shard: client.shard(forKey: k), requestId: RequestID.make(), command: command,
                                timeout: .milliseconds(Int64(timeout * 1000)))
                            let took = ContinuousClock.now - began
                            mine.latencies.append(
                                Double(took.components.attoseconds) / 1e15 + Double(took.components.seconds) * 1000)
                            mine.acked.append(key)
                        } catch {
                            mine.failed += 1
                            mine.errors[String("\(error)".prefix(120)), default: 0] += 1
                        }
                    }
                    return mine
                }
            }
            var all: [WorkerResult] = []
            for await r in group { all.append(r) }
            return all
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let latencies = results.flatMap(\.latencies).sorted()
        func pct(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }
        var errors: [String: Int] = [:]
        for r in results { errors.merge(r.errors, uniquingKeysWith: +) }
        let acked = results.flatMap(\.acked)
        return Result(
            summary: Summary(
                acknowledged: acked.count, failed: results.reduce(0) { $0 + $1.failed }, seconds: seconds,
                writesPerSecond: Double(acked.count) / seconds, p50Milliseconds: pct(0.5), p99Milliseconds: pct(0.99),
                maxMilliseconds: latencies.last ?? 0, concurrency: concurrency, valueSize: valueSize, errors: errors),
            ackedKeys: acked)
    }
}

/// Checks a key-value load's outcome: every acknowledged key readable (linearizably) with
/// its value, and every shard's replicas identical once they have applied the same index.
public struct KVVerify {
    public struct Replica: Codable, Sendable {
        public var node: UInt64
        public var applied: UInt64
        public var checksum: UInt64
        public var count: UInt64
    }

    public struct ShardReport: Codable, Sendable {
        public var shard: UInt32
        public var replicas: [Replica]
        public var identical: Bool
    }

    public struct Report: Codable, Sendable {
        public var checkedKeys: Int
        public var missingKeys: [String]
        public var wrongValues: [String]
        public var shards: [ShardReport]
        public var ok: Bool
    }

    let client: NodeClient
    let config: ClusterConfig
    let keys: [String]
    let valueSize: Int
    let wait: Double

    public init(client: NodeClient, config: ClusterConfig, keys: [String], valueSize: Int, wait: Double) {
        self.client = client
        self.config = config
        self.keys = keys
        self.valueSize = valueSize
        self.wait = wait
    }

    public func run() async throws -> Report {
        var missing: [String] = []
        var wrong: [String] = []
        var byShard: [UInt32: [String]] = [:]
        for k in keys { byShard[client.shard(forKey: Array(k.utf8)), default: []].append(k) }
        // A reply must fit in a frame: at most about 4 MiB of values per read.
        let perRead = max(1, min(500, (4 << 20) / max(valueSize, 1)))
        for (shard, shardKeys) in byShard {
            for batchStart in stride(from: 0, to: shardKeys.count, by: perRead) {
                let batch = Array(shardKeys[batchStart..<min(shardKeys.count, batchStart + perRead)])
                let reply = try await client.read(
                    shard: shard, request: KVStateMachine.getRequest(batch.map { Array($0.utf8) }),
                    timeout: .seconds(15))
                for (key, value) in zip(batch, try KVStateMachine.decodeGet(reply)) {
                    guard let value else {
                        missing.append(key)
                        continue
                    }
                    if value != KVLoad.value(for: key, size: valueSize) { wrong.append(key) }
                }
            }
        }

        // Wait until every replica of a shard (its voters as the nodes report them) has
        // applied the same index, then compare.
        await client.refreshMembers()
        var shards: [ShardReport] = []
        for shard in config.placement.allShards {
            let members = client.replicas(of: shard)
            let deadline = ContinuousClock.now + .milliseconds(Int64(wait * 1000))
            var replicas: [Replica] = []
            repeat {
                replicas = []
                for node in members {
                    guard let status = try? await client.status(node: node),
                        let s = status.shards.first(where: { $0.shard == shard }),
                        let sum = try? await client.localRead(
                            node: node, shard: shard, request: KVStateMachine.checksumRequest)
                    else { continue }
                    var r = BinaryReader(sum)
                    replicas.append(Replica(node: node, applied: s.applied, checksum: try r.u64(), count: try r.u64()))
                }
                let caughtUp =
                    replicas.count == members.count && Set(replicas.map(\.applied)).count == 1
                if caughtUp { break }
                try await Task.sleep(for: .milliseconds(200))
            } while ContinuousClock.now < deadline
            let identical =
                replicas.count == members.count
                && Set(replicas.map(\.checksum)).count == 1 && Set(replicas.map(\.applied)).count == 1
            shards.append(ShardReport(shard: shard, replicas: replicas, identical: identical))
        }
        return Report(
            checkedKeys: keys.count, missingKeys: missing, wrongValues: wrong, shards: shards,
            ok: missing.isEmpty && wrong.isEmpty && shards.allSatisfy(\.identical))
    }
}
