import Benchmark
import Foundation
import Storage

/// LMDB through `Storage`: durable single-put commits (compare with the C floor in
/// Benchmarks/lmdb-floor), 1,000 puts per durable commit, and point gets.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.throughput, .wallClock], maxDuration: .seconds(3), maxIterations: 5_000)

    func scratch() throws -> (Environment, Table, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cognate-bench-\(UUID().uuidString)").path
        let env = try Environment(path: path, options: .init(mapSize: 256 << 20))
        return (env, try env.openTable("bench"), path)
    }
    func key(_ i: Int) -> [UInt8] { withUnsafeBytes(of: UInt64(i).bigEndian, Array.init) }
    let value = [UInt8](repeating: 0xab, count: 100)

    Benchmark("durable single put (one fsync'd commit each)") { benchmark in
        let (env, table, path) = try scratch()
        defer { try? FileManager.default.removeItem(atPath: path) }
        var i = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try env.write { txn in try txn.put(key(i), value, in: table) }
            i += 1
        }
    }

    Benchmark("durable batched puts (1,000 per commit)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let (env, table, path) = try scratch()
        defer { try? FileManager.default.removeItem(atPath: path) }
        var i = 0
        benchmark.startMeasurement()
        // scalingFactor .kilo: each iteration counted is one put, committed a thousand at a time.
        for _ in 0..<(benchmark.scaledIterations.count / 1000) {
            try env.write { txn in
                for _ in 0..<1000 {
                    try txn.put(key(i), value, in: table)
                    i += 1
                }
            }
        }
    }

    Benchmark("point get") { benchmark in
        let (env, table, path) = try scratch()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try env.write { txn in for i in 0..<100_000 { try txn.put(key(i), value, in: table) } }
        var rng = SystemRandomNumberGenerator()
        benchmark.startMeasurement()
        try env.read { txn in
            for _ in benchmark.scaledIterations {
                blackHole(try txn.get(key(Int.random(in: 0..<100_000, using: &rng)), in: table))
            }
        }
    }
}
