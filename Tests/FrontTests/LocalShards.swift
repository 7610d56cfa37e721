import Foundation
import NodeRPC
import Sharding
import Storage
import UserPool

@testable import Front

/// Every shard of a cluster in this process: the real `UserPoolStateMachine` on a scratch
/// LMDB environment, each command applied in its own nested transaction and a refused one
/// answered with the machine's rejection, as a node applies a committed entry. What is
/// left out is replication itself, which the node tests and the end-to-end suite cover.
///
/// `@unchecked Sendable`: every use of the environment and the request table is under `lock`.
final class LocalShards: ShardClient, @unchecked Sendable {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("cognate-front-\(UUID().uuidString)").path
    let env: Environment
    let tables: NodeTables
    let machine = UserPoolStateMachine()
    private let lock = NSLock()
    private var index: UInt64 = 0
    /// Request id → what was retained, so a retried proposal applies once (as on a node).
    private var retained: [[UInt8]: [UInt8]] = [:]
    /// Proposals applied, by shard: what a test counts Raft writes with.
    private(set) var proposals: [UInt32: Int] = [:]
    /// Reads made, of every shard.
    private(set) var reads = 0
    /// While set, every call fails as an unreachable shard does.
    private var down = false

    struct Unreachable: Error, CustomStringConvertible {
        var description: String { "connection refused by 10.0.0.7:7000" }
    }

    func setDown(_ value: Bool) { lock.withLock { down = value } }

    init() throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        env = try Environment(path: path, options: .init(mapSize: 64 << 20))
        tables = try NodeTables(env)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func propose(shard: UInt32, requestId: [UInt8], command: [UInt8], timeout: Duration) async throws -> [UInt8] {
        try lock.withLock {
            if down { throw Unreachable() }
            return try env.write { txn in
                if let kept = retained[requestId] {
                    return try machine.retry(retained: kept, command: command, shard: shard, txn: txn, tables: tables)
                }
                index += 1
                proposals[shard, default: 0] += 1
                let outcome: Applied
                do {
                    outcome = try txn.nested { child in
                        try machine.apply(
                            command: command, shard: shard, index: index, clock: RequestID.milliseconds(of: requestId),
                            txn: child, tables: tables)
                    }
                } catch {
                    outcome = Applied(reply: machine.rejection(of: error, command: command))
                }
                retained[requestId] = outcome.retained
                return outcome.reply
            }
        }
    }

    func read(shard: UInt32, request: [UInt8], timeout: Duration) async throws -> [UInt8] {
        try lock.withLock {
            if down { throw Unreachable() }
            reads += 1
            return try env.read { txn in try machine.read(request: request, shard: shard, txn: txn, tables: tables) }
        }
    }

    /// Each shard's leader's slots, under a term that never changes here, and the once ids
    /// claimed (every shard's leader is "node 1" here, in one run).
    private var slots: [UInt32: SlotTable] = [:]
    private var claimed = OnceTable()
    static let boot: UInt64 = 0x5eed
    /// Reserving reads answered `full` (the nodes' wait for a release is left out here).
    private(set) var fullReserves = 0
    static let term: UInt64 = 7

    func reserve(shard: UInt32, request: [UInt8], timeout: Duration) async throws -> ReservedReply {
        try lock.withLock {
            if down { throw Unreachable() }
            reads += 1
            let reservation = try env.read { txn in
                try machine.reserve(
                    request: request, shard: shard, now: UInt64(Date().timeIntervalSince1970 * 1000), txn: txn,
                    tables: tables)
            }
            var table = slots[shard] ?? SlotTable()
            if table.term != Self.term { table.reset(term: Self.term) }
            defer { slots[shard] = table }
            let now = UInt64(Date().timeIntervalSince1970 * 1000)
            switch table.take(reservation, now: now) {
            case .granted(let ticket):
                if let once = reservation.once,
                    once.node != 1 || once.boot != Self.boot
                        || !claimed.claim(once.id, now: now, life: once.lifeMilliseconds)
                {
                    table.release(ticket)
                    return ReservedReply(node: 1, boot: Self.boot, term: Self.term, ticket: 0, reply: once.used)
                }
                return ReservedReply(node: 1, boot: Self.boot, term: Self.term, ticket: ticket, reply: reservation.reply)
            case .full:
                fullReserves += 1
                return ReservedReply(
                    node: 1, boot: Self.boot, term: Self.term, ticket: 0, reply: reservation.slot!.full)
            }
        }
    }

    func release(_ reserved: ReservedReply, shard: UInt32) async {
        lock.withLock { _ = slots[shard]?.release(reserved.ticket) }
    }

    func claim(node: UInt64, boot: UInt64, id: [UInt8], timeout: Duration) async -> Bool {
        lock.withLock { node == 1 && boot == Self.boot && claimed.claim(id, now: 0, life: 600_000) }
    }

    /// Slots held now, on every shard.
    var heldSlots: Int { lock.withLock { slots.values.reduce(0) { $0 + $1.heldCount } } }

    var proposalCount: Int { lock.withLock { proposals.values.reduce(0, +) } }
    var readCount: Int { lock.withLock { reads } }
}
