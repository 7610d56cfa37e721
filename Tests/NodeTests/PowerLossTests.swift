import Foundation
import Logging
import NIOPosix
import Raft
import Storage
import Testing

@testable import Node
import NodeRPC
import Sharding

/// A small deterministic generator (SplitMix64) for the crash schedules.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A disk under the write-ahead log that loses power in the middle of one write: of the
/// 512-byte sectors that write touches, any may have reached the platter and any not, in any
/// combination the kernel and the drive allow, and one may be torn within itself. A write
/// that returned is on the platter (the log's file is `O_DSYNC`).
final class PowerCutDisk: WALFile {
    struct PowerCut: Error {}

    let path = "power-cut-disk"
    private(set) var image: [UInt8]
    private var writes = 0
    let cutAt: Int
    var rng: SplitMix
    private(set) var tornSectors = 0

    init(capacity: Int, cutAt: Int, seed: UInt64) {
        image = [UInt8](repeating: 0, count: capacity)
        self.cutAt = cutAt
        rng = SplitMix(state: seed)
    }

    init(image: [UInt8]) {
        self.image = image
        cutAt = .max
        rng = SplitMix(state: 0)
    }

    func write(_ bytes: [UInt8], at position: Int) throws {
        writes += 1
        guard writes == cutAt else {
            image.replaceSubrange(position..<(position + bytes.count), with: bytes)
            return
        }
        // The power goes during this write.
        var sector = position / 512 * 512
        while sector < position + bytes.count {
            let lo = max(sector, position)
            let hi = min(sector + 512, position + bytes.count)
            switch Int.random(in: 0..<3, using: &rng) {
            case 0:
                break  // this sector never made it
            case 1:
                for i in lo..<hi { image[i] = bytes[i - position] }
            default:
                let cut = Int.random(in: lo...hi, using: &rng)
                for i in lo..<cut { image[i] = bytes[i - position] }
                tornSectors += 1
            }
            sector += 512
        }
        throw PowerCut()
    }

    func read(upTo limit: Int) throws -> [UInt8] { Array(image.prefix(limit)) }
}

/// A real log file whose writes start failing after `failAfter` of them (an fsync error).
final class FailingWALFile: WALFile {
    struct IOError: Error, CustomStringConvertible {
        var description: String { "write failed: Input/output error (injected)" }
    }

    let inner: POSIXWALFile
    let failAfter: Int
    private var writes = 0
    var path: String { inner.path }

    init(_ inner: POSIXWALFile, failAfter: Int) {
        self.inner = inner
        self.failAfter = failAfter
    }

    func write(_ bytes: [UInt8], at position: Int) throws {
        writes += 1
        guard writes <= failAfter else { throw IOError() }
        try inner.write(bytes, at: position)
    }

    func read(upTo limit: Int) throws -> [UInt8] { try inner.read(upTo: limit) }
}

@Suite("Power loss and failing writes on the real storage path")
struct PowerLossTests {
    /// One run: a node's pattern of log writes (records, and checkpoints once LMDB holds
    /// everything), the power cut during write `cutAt`, then recovery from what the platter
    /// kept. Returns nil when the workload ended before the cut.
    static func run(seed: UInt64, cutAt: Int) throws -> (recovered: Int, torn: Int)? {
        var rng = SplitMix(state: seed)
        let capacity = 16 << 10
        let disk = PowerCutDisk(capacity: capacity, cutAt: cutAt, seed: seed ^ 0xD15C)
        let wal = RaftWAL(file: disk, capacity: capacity)
        var appended: [[RaftWAL.ShardRecord]] = []
        var inLMDB = 0  // records LMDB held (synced) when the last checkpoint began
        var acknowledged = 0  // records whose write returned
        var index: UInt64 = 1
        do {
            _ = try wal.recover()
            try wal.checkpoint()
            for _ in 0..<200 {
                if Int.random(in: 0..<10, using: &rng) == 0 {
                    inLMDB = acknowledged
                    try wal.checkpoint()
                    continue
                }
                var record: [RaftWAL.ShardRecord] = []
                for shard in 0..<UInt32.random(in: 1...3, using: &rng) {
                    let n = Int.random(in: 0...4, using: &rng)
                    let es = (0..<n).map { k in
                        Entry(
                            term: 3, index: index + UInt64(k), kind: .normal,
                            data: (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
                    }
                    index += UInt64(n)
                    // The first shard's hard state numbers the record, so no two are alike.
                    let hard =
                        shard == 0 || Bool.random(using: &rng)
                        ? HardState(term: 3, vote: 1, commit: shard == 0 ? UInt64(appended.count) : index) : nil
                    record.append(RaftWAL.ShardRecord(shard: shard, hardState: hard, entries: es))
                }
                if !wal.fits(RaftWAL.encode(record).count) {
                    // As the runtime does: LMDB synced, then a new epoch.
                    inLMDB = acknowledged
                    try wal.checkpoint()
                }
                appended.append(record)
                try wal.append(record)
                acknowledged += 1
            }
            return nil
        } catch is PowerCutDisk.PowerCut {
            // Recovery from what reached the platter.
            let after = RaftWAL(file: PowerCutDisk(image: disk.image), capacity: capacity)
            let recovered = try after.recover()
            // What comes back is a run of records as they were written, in order …
            guard let first = recovered.first else {
                // … or nothing, which is right only if LMDB already held every acknowledged one.
                #expect(inLMDB == acknowledged, "seed \(seed) cut \(cutAt): the log lost acknowledged records")
                return (0, disk.tornSectors)
            }
            let start = appended.firstIndex(of: first)
            #expect(start != nil, "seed \(seed) cut \(cutAt): a recovered record was never written")
            guard let start else { return (recovered.count, disk.tornSectors) }
            let end = start + recovered.count
            #expect(end <= appended.count, "seed \(seed) cut \(cutAt): recovered more than was written")
            let same = Array(appended[start..<min(end, appended.count)]) == recovered
            #expect(same, "seed \(seed) cut \(cutAt): recovered records differ from what was written")
            // … that covers everything acknowledged that LMDB did not hold; the record being
            // written at the cut may be there only if it reached the platter whole.
            #expect(start <= inLMDB, "seed \(seed) cut \(cutAt): records after the last checkpoint are missing")
            #expect(end >= acknowledged, "seed \(seed) cut \(cutAt): an acknowledged record is missing")
            #expect(end <= acknowledged + 1)
            return (recovered.count, disk.tornSectors)
        }
    }

    @Test("thousands of power cuts in the middle of log writes: nothing acknowledged is lost, nothing torn comes back")
    func powerCuts() throws {
        let runs = Int(ProcessInfo.processInfo.environment["COGNATE_POWER_CUTS"] ?? "") ?? 3_000
        var rng = SplitMix(state: 0xC0FFEE)
        var cuts = 0
        var torn = 0
        var recovered = 0
        for k in 0..<runs {
            let seed = rng.next()
            guard let r = try Self.run(seed: seed, cutAt: 2 + k % 120) else { continue }
            cuts += 1
            torn += r.torn
            recovered += r.recovered
        }
        print(
            "power cuts: \(cuts) cuts injected and recovered (\(torn) sectors torn within themselves), "
                + "\(recovered) records recovered")
        #expect(cuts > runs / 2)
    }

    @Test("a failing log write stops the node: nothing more is acknowledged, and what was is there after a restart")
    func failingWriteStopsTheNode() async throws {
        let dir = Scratch()
        let config = try dir.singleNode()
        let data = "\(dir.path)/node1"
        let node = try NodeRuntime(
            nodeId: 1, config: config, dataDirectory: data, stateMachine: KVStateMachine(), logger: Logger(label: "t"),
            walFile: { FailingWALFile(try POSIXWALFile(path: $0, capacity: $1), failAfter: 30) })
        let failure = FailureBox()
        node.onFailure = { failure.set($0) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        node.start(on: group.next())
        var acknowledged: [Int] = []
        var refused = 0
        for i in 0..<200 {
            let put = KVStateMachine.Command.put(key: Array("k\(i)".utf8), value: Array("v\(i)".utf8)).encoded
            switch await node.propose(shard: 1, requestId: RequestID.make(), command: put) {
            case .ok: acknowledged.append(i)
            case .notLeader: try await Task.sleep(for: .milliseconds(20))
            default: refused += 1
            }
            if failure.reason != nil && refused > 3 { break }
        }
        node.stop()
        try await group.shutdownGracefully()
        #expect(failure.reason?.contains("Input/output error") == true, "\(failure.reason ?? "no failure reported")")
        #expect(!acknowledged.isEmpty && refused > 0)

        // A restart on the same files with a healthy log: every acknowledged put is there.
        let again = try NodeRuntime(
            nodeId: 1, config: config, dataDirectory: data, stateMachine: KVStateMachine(), logger: Logger(label: "t"))
        var w = BinaryWriter()
        w.u8(1)
        w.u32(UInt32(acknowledged.count))
        for i in acknowledged { w.blob(Array("k\(i)".utf8)) }
        let reply = try again.env.read { txn in
            try KVStateMachine().read(request: w.bytes, shard: 1, txn: txn, tables: again.tables)
        }
        var r = BinaryReader(reply)
        #expect(try r.u32() == UInt32(acknowledged.count))
        for i in acknowledged {
            #expect(try r.bool(), "acknowledged put k\(i) is missing after the restart")
            #expect(try r.blob() == Array("v\(i)".utf8))
        }
        print("failing log write: \(acknowledged.count) puts acknowledged before the failure, all present after restart")
    }
}

final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: String?
    var reason: String? { lock.withLock { value } }
    func set(_ s: String) { lock.withLock { value = value ?? s } }
}
