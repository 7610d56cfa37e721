import Storage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `cognate bench storage`: LMDB through `Storage`, with the same shape as the C floor in
/// `Benchmarks/lmdb-floor` (8-byte big-endian keys, 100-byte values, fresh environment).
public struct StorageBench {
    public struct Result: Codable, Sendable {
        /// Durable commits per second, one put each.
        public var durableSinglePutCommitsPerSecond: Double
        /// Puts per second when 1,000 puts share one durable commit.
        public var durableBatchedPutsPerSecond: Double
        public var batchedToSingleRatio: Double
        /// Point gets per second in read transactions of 1,000 gets.
        public var pointGetsPerSecond: Double
        public var singleCommits: Int
        public var batches: Int
        public var batchSize: Int
    }

    public var directory: String
    public var singleCommits: Int
    public var batches: Int
    public var batchSize = 1000
    public var valueSize = 100

    public init(directory: String, singleCommits: Int = 2000, batches: Int = 20) {
        self.directory = directory
        self.singleCommits = singleCommits
        self.batches = batches
    }

    public func run() throws -> Result {
        let env = try Environment(path: directory, options: .init(mapSize: 256 << 20))
        let table = try env.openTable("bench")
        let value = [UInt8](repeating: 0xab, count: valueSize)
        func key(_ i: Int) -> [UInt8] { withUnsafeBytes(of: UInt64(i).bigEndian, Array.init) }

        var start = monotonicSeconds()
        for i in 0..<singleCommits {
            try env.write { txn in try txn.put(key(i), value, in: table) }
        }
        let single = Double(singleCommits) / (monotonicSeconds() - start)

        start = monotonicSeconds()
        var next = singleCommits
        for _ in 0..<batches {
            try env.write { txn in
                for i in next..<(next + batchSize) { try txn.put(key(i), value, in: table) }
            }
            next += batchSize
        }
        let batched = Double(batches * batchSize) / (monotonicSeconds() - start)

        var rng = SystemRandomNumberGenerator()
        var found = 0
        let rounds = 200
        start = monotonicSeconds()
        for _ in 0..<rounds {
            try env.read { txn in
                for _ in 0..<batchSize {
                    if try txn.contains(key(Int.random(in: 0..<next, using: &rng)), in: table) { found += 1 }
                }
            }
        }
        let gets = Double(rounds * batchSize) / (monotonicSeconds() - start)
        precondition(found == rounds * batchSize, "every key written must be found")

        return Result(
            durableSinglePutCommitsPerSecond: single, durableBatchedPutsPerSecond: batched,
            batchedToSingleRatio: batched / single, pointGetsPerSecond: gets,
            singleCommits: singleCommits, batches: batches, batchSize: batchSize)
    }
}
