import CFaultFS
import Foundation
import Logging
import NIOCore
import NIOPosix
import NodeRPC
import Raft
import Sharding
import Testing

@testable import Node

typealias KVNode = NodeRuntime<KVStateMachine>

/// Frames between in-process nodes, with one node cut off at will.
final class Wire: @unchecked Sendable {
    private let lock = NSLock()
    private var nodes: [UInt64: KVNode] = [:]
    private var isolated: UInt64 = 0

    func connect(_ node: KVNode) {
        lock.withLock { nodes[node.nodeId] = node }
        let from = node.nodeId
        node.send = { [self] peer, frame, done in
            let target: KVNode? = lock.withLock {
                isolated == from || isolated == peer ? nil : nodes[peer]
            }
            guard let target, frame.kind == .raft, let batch = try? RaftBatch.decode(frame.payload) else {
                // Snapshots are not sent in these short runs; a refused one is retried.
                done?(false)
                return
            }
            target.submit(.peerMessages(batch))
            done?(true)
        }
    }

    func isolate(_ id: UInt64) { lock.withLock { isolated = id } }

    /// Drops the nodes (each node's `send` holds the wire).
    func disconnect() { lock.withLock { nodes = [:] } }
}

/// Resumes a continuation once, by whichever comes first.
final class Once<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, Never>?
    init(_ c: CheckedContinuation<T, Never>) { continuation = c }
    func resume(_ value: T) {
        let c = lock.withLock {
            defer { continuation = nil }
            return continuation
        }
        c?.resume(returning: value)
    }
}

/// Three real node runtimes (write-ahead log, LMDB, apply) wired in process.
struct LiveCluster {
    let nodes: [KVNode]
    let loops: [EventLoop]
    let wire = Wire()

    static let walCapacity = 12 << 10

    static func config(_ root: String) throws -> ClusterConfig {
        try ClusterConfig.parse(
            """
            shards = 1
            replication = 3
            tick_ms = 10
            kv_harness = true
            [tls]
            dir = "\(root)/tls"
            """
                + (1...3).map {
                    "\n[[nodes]]\nid = \($0)\npeer = \"127.0.0.1:\($0)\"\nadmin = \"127.0.0.1:1\($0)\"\n"
                        + "data = \"\(root)/node\($0)\"\n"
                }.joined())
    }

    static func open(_ id: UInt64, config: ClusterConfig, dir: String) throws -> KVNode {
        var logger = Logger(label: "node\(id)")
        logger.logLevel = .critical
        return try NodeRuntime(
            nodeId: id, config: config, dataDirectory: dir, stateMachine: KVStateMachine(), logger: logger,
            walCapacity: walCapacity, walFile: { try POSIXWALFile(path: $0, capacity: $1) })
    }

    init(nodes: [KVNode], group: EventLoopGroup) {
        self.nodes = nodes
        loops = nodes.map { _ in group.next() }
        for n in nodes { wire.connect(n) }
    }

    func start() { for (n, loop) in zip(nodes, loops) { n.start(on: loop) } }
    func stop() {
        for n in nodes { n.stop() }
        wire.disconnect()
    }

    /// `event` on node `i`, or nil after two seconds without an answer.
    func call(
        _ i: Int, _ event: @escaping (@escaping ShardReplica.Reply) -> KVNode.Event
    ) async
        -> ClientResponse.Body?
    {
        await withCheckedContinuation { c in
            let once = Once<ClientResponse.Body?>(c)
            loops[i].scheduleTask(in: .seconds(2)) { once.resume(nil) }
            nodes[i].submit(event({ once.resume($0) }))
        }
    }

    /// Puts `key`, asking `target` first and following its hints; true once acknowledged
    /// (a retry keeps the request id, so the put applies once), false after 200 tries.
    func put(_ key: String, _ value: String, target: inout Int) async throws -> Bool {
        let command = KVStateMachine.Command.put(key: Array(key.utf8), value: Array(value.utf8)).encoded
        let id = RequestID.make()
        for _ in 0..<200 {
            let answer = await call(target) { .propose(shard: 1, requestId: id, command: command, reply: $0) }
            if case .ok(let reply) = answer, reply == KVStateMachine.Reply.ok.encoded { return true }
            if case .notLeader(let l) = answer, l >= 1, l <= 3, Int(l) - 1 != target {
                target = Int(l) - 1
            } else {
                target = (target + 1) % 3
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        return false
    }

    /// The node that leads shard 1, waiting up to ten seconds for one.
    func leader() async throws -> Int {
        for _ in 0..<500 {
            for i in nodes.indices where await nodes[i].ledShards().contains(1) { return i }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ClusterPowerLossTests.Failure(description: "no leader of shard 1 within 10 s")
    }

    /// Reads keys with a linearizable read on the leader: key → value, for those present.
    func read(_ keys: [String]) async throws -> [String: String] {
        var w = BinaryWriter()
        w.u8(1)
        w.u32(UInt32(keys.count))
        for k in keys { w.blob(Array(k.utf8)) }
        for _ in 0..<50 {
            let i = try await leader()
            guard case .ok(let reply) = await call(i, { .read(shard: 1, request: w.bytes, reply: $0) }) else {
                try await Task.sleep(for: .milliseconds(20))
                continue
            }
            return try ClusterPowerLossTests.decodeValues(reply, keys: keys)
        }
        throw ClusterPowerLossTests.Failure(description: "no linearizable read within 50 tries")
    }
}

/// What a node's storage holds after recovery from a set of files.
struct RecoveredNode {
    struct RaftState: Equatable {
        var hard: HardState
        var first: UInt64
        var terms: [UInt64]
        var last: UInt64 { first + UInt64(terms.count) - 1 }
        func term(_ i: UInt64) -> UInt64? { i >= first && i <= last ? terms[Int(i - first)] : nil }

        /// Holds what `written` made durable: the same term, vote and log. The commit index
        /// may be older (it is volatile in Raft; a change of it alone is not synced, as in
        /// etcd), never newer.
        func keeps(_ written: RaftState) -> Bool {
            hard.term == written.hard.term && hard.vote == written.hard.vote && first == written.first
                && terms == written.terms && hard.commit <= written.hard.commit
        }
    }
    var raft: RaftState
    var applied: UInt64
    var values: [String: String]
    var node: KVNode
}

@Suite("Power cuts under a three-node Raft workload: the real log, LMDB and apply", .serialized)
struct ClusterPowerLossTests {
    struct Failure: Error, CustomStringConvertible { var description: String }

    static func decodeValues(_ reply: [UInt8], keys: [String]) throws -> [String: String] {
        var r = BinaryReader(reply)
        guard try r.u32() == UInt32(keys.count) else { throw Failure(description: "short read reply") }
        var out: [String: String] = [:]
        for k in keys {
            let present = try r.bool()
            let v = try r.blob()
            if present { out[k] = String(decoding: v, as: UTF8.self) }
        }
        return out
    }

    /// The recorded run: what the three nodes wrote, and what clients were told.
    struct Run {
        var base: [String: [UInt8]]
        var ops: [RecordedOp]
        var keys: [String]
        /// Key → operations recorded when its put was acknowledged.
        var acked: [String: Int]
        /// The committed log at the end: index → (term, key put there, if any).
        var truth: [(term: UInt64, key: String?)]
        var root: String
        var config: ClusterConfig
        let scratch: Scratch
    }

    static func realpath(_ p: String) -> String {
        guard let r = Foundation.realpath(p, nil) else { return p }
        defer { free(r) }
        return String(cString: r)
    }

    /// Three nodes take `puts` puts from three clients, the leader cut off for a while a
    /// third of the way in, every write and sync of their files recorded.
    static func record(puts: Int, bug: PlantedStorageBug?) async throws -> Run {
        let scratch = Scratch()
        let root = realpath(scratch.path)
        let config = try LiveCluster.config(root)
        let nodes = try (1...3).map { try LiveCluster.open(UInt64($0), config: config, dir: "\(root)/node\($0)") }
        for n in nodes { n.plantedBug = bug }
        var base: [String: [UInt8]] = [:]
        for n in 1...3 {
            let dir = "\(root)/node\(n)"
            for name in try FileManager.default.contentsOfDirectory(atPath: dir) where name != "lock.mdb" {
                base["\(dir)/\(name)"] = Array(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(name)")))
            }
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 3)
        let cluster = LiveCluster(nodes: nodes, group: group)
        guard faultfs_start(root + "/") == 0 else { throw Failure(description: "faultfs is already recording") }
        defer {
            faultfs_stop()
            faultfs_reset()
        }
        cluster.start()
        let keys = (0..<puts).map { "k\($0)" }
        let acked = AckLog()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for worker in 0..<3 {
                tasks.addTask {
                    var target = 0
                    for k in stride(from: worker, to: puts, by: 3) {
                        if try await cluster.put(keys[k], "v\(k)", target: &target) {
                            acked.add(keys[k], at: Int(faultfs_count()))
                        }
                    }
                }
            }
            tasks.addTask {
                // A third of the way in, the leader is cut off until another has taken over.
                for _ in 0..<1000 {
                    if acked.count >= puts / 3 { break }
                    try await Task.sleep(for: .milliseconds(10))
                }
                let old = try await cluster.leader()
                cluster.wire.isolate(cluster.nodes[old].nodeId)
                for _ in 0..<500 {
                    try await Task.sleep(for: .milliseconds(20))
                    if let i = try? await cluster.leader(), i != old { break }
                }
                cluster.wire.isolate(0)
            }
            try await tasks.waitForAll()
        }
        // The committed log, from the node that knows the most of it.
        var truth: [(term: UInt64, key: String?)] = []
        for (n, loop) in zip(nodes, cluster.loops) {
            let log = try await loop.submit { () throws -> [Entry] in
                let r = n.replicas[1]!
                // Index 1 is the bootstrap snapshot (the first voters); nothing is compacted after it.
                guard r.storage.firstIndex() == 2 else { throw Failure(description: "node \(n.nodeId) compacted") }
                return try r.storage.entries(2, r.raft.commitIndex + 1, maxBytes: .max)
            }.get()
            guard log.count + 1 > truth.count else { continue }
            truth = [(1, nil)]
            truth += log.map { e in
                let command = e.data.count > 16 ? try? KVStateMachine.Command(decoding: Array(e.data[16...])) : nil
                if case .put(let key, _) = command { return (e.term, String(decoding: key, as: UTF8.self)) }
                return (e.term, nil)
            }
        }
        cluster.stop()
        faultfs_stop()
        let ops = RecordedOp.all()
        try await group.shutdownGracefully()
        return Run(
            base: base, ops: ops, keys: keys, acked: acked.all, truth: truth, root: root, config: config,
            scratch: scratch)
    }

    /// Power cuts at `points` (operation counts) across the whole cluster at once; every
    /// node recovers from what its disk kept, and everything is checked. Returns the
    /// violations, each naming its cut.
    static func cut(
        _ run: Run, at points: [Int], seed: UInt64, restartEvery: Int, group: EventLoopGroup
    ) async throws -> (violations: [String], lostSectors: Int, restarts: Int) {
        var rng = SplitMix(state: seed)
        let disk = CrashDisk(base: run.base)
        let scratch = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let work = "\(scratch)/cognate-cuts-\(getpid())-\(seed)"
        defer { try? FileManager.default.removeItem(atPath: work) }
        let truthIndex = Dictionary(
            run.truth.enumerated().compactMap { i, e in e.key.map { ($0, UInt64(i + 1)) } },
            uniquingKeysWith: { a, _ in a })
        var violations: [String] = []
        var lostSectors = 0
        var restarts = 0
        for (n, c) in points.enumerated() {
            while disk.applied < c { disk.apply(run.ops[disk.applied]) }
            let inFlight = c < run.ops.count ? run.ops[c] : nil
            let ackedBefore = run.acked.filter { $0.value <= c }.map(\.key)
            var crashed: [RecoveredNode] = []
            for id in 1...3 {
                let dir = "\(run.root)/node\(id)/"
                let paths = disk.files.keys.filter { $0.hasPrefix(dir) }
                func recover(_ label: String, _ image: (String) -> [UInt8]) throws -> RecoveredNode {
                    let at = "\(work)/\(label)\(id)"
                    try? FileManager.default.removeItem(atPath: at)
                    try FileManager.default.createDirectory(atPath: at, withIntermediateDirectories: true)
                    for p in paths {
                        let name = String(p.dropFirst(dir.count))
                        try Data(image(p)).write(to: URL(fileURLWithPath: "\(at)/\(name)"))
                    }
                    return try Self.inspect(
                        try LiveCluster.open(UInt64(id), config: run.config, dir: at), keys: run.keys)
                }
                let cut: RecoveredNode
                do {
                    cut = try recover("cut") {
                        disk.crashImage($0, inFlight: inFlight, using: &rng, lost: &lostSectors)
                    }
                } catch {
                    violations.append("cut \(n) at op \(c): node \(id) cannot recover: \(error)")
                    continue
                }
                crashed.append(cut)
                // What the node had written, nothing lost, and the same with the write in
                // flight completed: after the cut it must hold one of the two.
                let whole = try recover("whole") { disk.image($0) }
                var same = cut.raft.keeps(whole.raft)
                if !same, let op = inFlight, op.path.hasPrefix(dir) {
                    same = cut.raft.keeps(try recover("after") { disk.image($0, completing: op) }.raft)
                }
                if !same {
                    violations.append(
                        "cut \(n) at op \(c): node \(id) came back with \(cut.raft.hard), log \(cut.raft.first)..."
                            + "\(cut.raft.last), not what it had written (\(whole.raft.hard), log \(whole.raft.first)..."
                            + "\(whole.raft.last))")
                }
                // Committed entries it knows of are the committed ones; its state machine is the
                // committed log applied up to its applied index.
                let known = min(cut.raft.hard.commit, cut.raft.last)
                if cut.raft.hard.commit > cut.raft.last || cut.applied > cut.raft.hard.commit {
                    violations.append("cut \(n) at op \(c): node \(id): commit/applied past its log")
                }
                if cut.raft.first <= known {
                    for i in cut.raft.first...known where Int(i) <= run.truth.count {
                        if cut.raft.term(i) != run.truth[Int(i) - 1].term {
                            violations.append(
                                "cut \(n) at op \(c): node \(id) holds a committed index \(i) differently")
                            break
                        }
                    }
                }
                for k in run.keys {
                    let expected = truthIndex[k].map { $0 <= cut.applied } ?? false
                    if (cut.values[k] != nil) != expected {
                        violations.append(
                            "cut \(n) at op \(c): node \(id)'s state machine at applied \(cut.applied) "
                                + (expected ? "lacks \(k)" : "has \(k) too early"))
                        break
                    }
                }
            }
            // Every acknowledged put is on a majority, so any future leader has it.
            for k in ackedBefore {
                guard let i = truthIndex[k] else {
                    violations.append("cut \(n) at op \(c): acknowledged put \(k) is not in the committed log")
                    continue
                }
                let term = run.truth[Int(i) - 1].term
                let holders = crashed.filter { $0.raft.term(i) == term || $0.applied >= i }.count
                if holders < 2 {
                    violations.append(
                        "cut \(n) at op \(c): acknowledged put \(k) (index \(i)) is on \(holders) node(s)")
                }
            }
            // Now and then the recovered cluster runs again and reads every acknowledged put.
            if restartEvery > 0 && n % restartEvery == 0 && crashed.count == 3 {
                restarts += 1
                let cluster = LiveCluster(nodes: crashed.map(\.node), group: group)
                cluster.start()
                let values = try await cluster.read(ackedBefore)
                cluster.stop()
                for k in ackedBefore where values[k] == nil {
                    violations.append("cut \(n) at op \(c): after a restart, acknowledged put \(k) is missing")
                }
            }
        }
        return (violations, lostSectors, restarts)
    }

    static func inspect(_ node: KVNode, keys: [String]) throws -> RecoveredNode {
        let r = node.replicas[1]!
        let first = r.storage.firstIndex()
        let last = r.storage.lastIndex()
        let terms = first <= last ? try (first...last).map { try r.storage.term($0) } : []
        var w = BinaryWriter()
        w.u8(1)
        w.u32(UInt32(keys.count))
        for k in keys { w.blob(Array(k.utf8)) }
        let reply = try node.env.read { txn in
            try KVStateMachine().read(request: w.bytes, shard: 1, txn: txn, tables: node.tables)
        }
        return RecoveredNode(
            raft: .init(hard: r.storage.initialState().0, first: first, terms: terms),
            applied: try r.storage.storedApplied(), values: try decodeValues(reply, keys: keys), node: node)
    }

    /// Crash points spread over the whole run, sorted; a point drawn twice is cut twice,
    /// the disk keeping a different mix each time.
    static func points(_ count: Int, of ops: Int, seed: UInt64) -> [Int] {
        var rng = SplitMix(state: seed)
        return (0..<count).map { _ in Int.random(in: 0...ops, using: &rng) }.sorted()
    }

    @Test(
        "thousands of cluster-wide power cuts: nothing acknowledged is lost, no log contradicts a committed entry, the state machines agree"
    )
    func powerCuts() async throws {
        let count = Int(ProcessInfo.processInfo.environment["COGNATE_CLUSTER_POWER_CUTS"] ?? "") ?? 2_000
        let run = try await Self.record(puts: 400, bug: nil)
        let writes = run.ops.filter { $0.kind == .write }.count
        let checkpoints = run.ops.filter(\.isCheckpoint).count
        #expect(run.acked.count == 400, "only \(run.acked.count) of 400 puts were acknowledged")
        #expect(run.ops.contains { $0.path.hasSuffix("data.mdb") }, "no LMDB write was recorded")
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 3)
        let points = Self.points(count, of: run.ops.count, seed: 0x5EED)
        let result = try await Self.cut(run, at: points, seed: 0xC0FFEE, restartEvery: 50, group: group)
        try await group.shutdownGracefully()
        for v in result.violations.prefix(10) { Issue.record("\(v)") }
        #expect(result.violations.isEmpty)
        print(
            "cluster power cuts: \(points.count) cuts of all three nodes at once, over \(run.ops.count) recorded "
                + "operations (\(writes) writes, \(run.ops.count - writes) syncs, \(checkpoints) log checkpoints; "
                + "\(run.truth.count) committed entries, "
                + "\(run.acked.count) acknowledged puts); \(points.count * 3) node recoveries, "
                + "\(result.lostSectors) sectors came back older than last written, \(result.restarts) restarts that "
                + "read every acknowledged put back; \(result.violations.count) violations")
    }

    @Test("planted: the log's checkpoint without syncing LMDB first is caught by a power cut")
    func plantedCheckpointWithoutSync() async throws {
        let run = try await Self.record(puts: 150, bug: .checkpointWithoutSync)
        // Cuts in the operations after each checkpoint of the log, where the bug bites, twelve
        // of each (the disk keeps a different mix each time): a run may checkpoint only a few
        // times, and four cuts at four places were once not enough to catch it.
        var points: [Int] = []
        for (i, op) in run.ops.enumerated() where op.isCheckpoint {
            for p in (i + 1)...min(i + 8, run.ops.count) { points += Array(repeating: p, count: 12) }
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 3)
        let result = try await Self.cut(run, at: points, seed: 0xBAD, restartEvery: 0, group: group)
        try await group.shutdownGracefully()
        #expect(!result.violations.isEmpty, "\(points.count) cuts after checkpoints found nothing")
        print(
            "planted checkpoint without sync: \(result.violations.count) violations in \(points.count) cuts after "
                + "\(run.ops.filter(\.isCheckpoint).count) checkpoints of \(run.ops.count) operations; first: "
                + (result.violations.first ?? "none"))
    }
}

extension ClusterPowerLossTests {
    @Test("a failing LMDB sync stops that node; the others go on; after a restart nothing acknowledged is missing")
    func failingLMDBSyncStopsTheNode() async throws {
        let scratch = Scratch()
        let root = Self.realpath(scratch.path)
        let config = try LiveCluster.config(root)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 3)
        let failure = FailureBox()
        var acked: [String] = []
        var refusedAfter: ClientResponse.Body?
        do {
            let cluster = LiveCluster(
                nodes: try (1...3).map { try LiveCluster.open(UInt64($0), config: config, dir: "\(root)/node\($0)") },
                group: group)
            cluster.nodes[0].onFailure = { failure.set($0) }
            guard faultfs_start(root + "/") == 0 else { throw Failure(description: "faultfs is already recording") }
            defer {
                faultfs_stop()
                faultfs_reset()
            }
            // Node 1's LMDB: its 11th fdatasync and every one after it fail.
            faultfs_fail_syncs("/node1/data.mdb", 10)
            cluster.start()
            var target = 0
            for k in 0..<200 where try await cluster.put("k\(k)", "v\(k)", target: &target) { acked.append("k\(k)") }
            refusedAfter = await cluster.call(0) {
                .propose(shard: 1, requestId: RequestID.make(), command: [1], reply: $0)
            }
            cluster.stop()
        }
        #expect(failure.reason?.contains("Input/output error") == true, "\(failure.reason ?? "node 1 did not stop")")
        #expect(
            refusedAfter == .unavailable("node 1 is stopping"), "node 1 answered \(String(describing: refusedAfter))")
        #expect(acked.count == 200, "the other two nodes took \(acked.count) of 200 puts")

        // All three restart on the same files: every acknowledged put is there, and node 1
        // catches up to the same state machine as the others.
        let again = LiveCluster(
            nodes: try (1...3).map { try LiveCluster.open(UInt64($0), config: config, dir: "\(root)/node\($0)") },
            group: group)
        again.start()
        let values = try await again.read(acked)
        #expect(acked.allSatisfy { values[$0] != nil }, "acknowledged puts missing after the restart")
        var sums: Set<[UInt8]?> = []
        for _ in 0..<250 {
            sums = []
            for i in 0..<3 {
                let answer = await again.call(i) { .localRead(shard: 1, request: [2], reply: $0) }
                if case .ok(let sum) = answer { sums.insert(sum) } else { sums.insert(nil) }
            }
            if sums.count == 1 && !sums.contains(nil) { break }
            try await Task.sleep(for: .milliseconds(40))
        }
        again.stop()
        try await group.shutdownGracefully()
        #expect(sums.count == 1 && !sums.contains(nil), "the replicas' state machines differ: \(sums)")
        print(
            "failing LMDB sync: node 1 stopped (\(failure.reason ?? "")); \(acked.count) puts acknowledged, "
                + "all present after the restart, the three replicas agree")
    }
}

/// Which puts were acknowledged, and when (in recorded operations).
final class AckLog: @unchecked Sendable {
    private let lock = NSLock()
    private var acks: [String: Int] = [:]
    func add(_ key: String, at op: Int) { lock.withLock { acks[key] = acks[key] ?? op } }
    var count: Int { lock.withLock { acks.count } }
    var all: [String: Int] { lock.withLock { acks } }
}
