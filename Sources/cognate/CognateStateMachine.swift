import Node
import Sharding
import Storage
import UserPool

/// What a production node runs: the user-pool state machine, with the key-value harness
/// beside it for `cognate kv` and the node tests. User-pool commands and queries start with
/// the tag byte `U`; key-value ones with a small opcode, so neither can be taken for the
/// other, and the harness keeps its keys apart from the pools' records.
///
/// The harness takes no new commands unless the definition enables it (`kv_harness`):
/// checked when a command or read arrives, never at apply, so replicas configured
/// differently still apply the same log alike.
struct CognateStateMachine: ReplicatedStateMachine {
    let pools: UserPoolStateMachine
    let kv = KVStateMachine()
    let kvEnabled: Bool

    init(kvEnabled: Bool, onEnqueue: (@Sendable (UInt32) -> Void)? = nil) {
        self.kvEnabled = kvEnabled
        pools = UserPoolStateMachine(onEnqueue: onEnqueue)
    }

    static func isUserPool(_ bytes: [UInt8]) -> Bool { bytes.first == UserPoolCommand.tag }

    static let kvDisabled =
        "the key-value harness is disabled on this cluster (set kv_harness = true in the definition to use it for "
        + "tests)"

    /// The key-value harness is a tool's (`cognate kv`).
    func access(command: [UInt8]) -> ClientAccess {
        Self.isUserPool(command) ? pools.access(command: command) : .operator
    }

    func access(read: [UInt8]) -> ClientAccess {
        Self.isUserPool(read) ? pools.access(read: read) : .operator
    }

    func admit(command: [UInt8]) -> String? {
        if Self.isUserPool(command) { return pools.admit(command: command) }
        return kvEnabled ? kv.admit(command: command) : Self.kvDisabled
    }

    func admit(read: [UInt8]) -> String? {
        if Self.isUserPool(read) { return pools.admit(read: read) }
        return kvEnabled ? kv.admit(read: read) : Self.kvDisabled
    }

    func apply(
        command: [UInt8], shard: UInt32, index: UInt64, clock: UInt64, txn: borrowing WriteTransaction,
        tables: NodeTables
    )
        throws -> Applied
    {
        Self.isUserPool(command)
            ? try pools.apply(command: command, shard: shard, index: index, clock: clock, txn: txn, tables: tables)
            : try kv.apply(command: command, shard: shard, index: index, clock: clock, txn: txn, tables: tables)
    }

    func rejection(of error: any Error, command: [UInt8]) -> [UInt8] {
        Self.isUserPool(command)
            ? pools.rejection(of: error, command: command) : kv.rejection(of: error, command: command)
    }

    func retry<T: ReadableTransaction & ~Copyable>(
        retained: [UInt8], command: [UInt8], shard: UInt32, txn: borrowing T, tables: NodeTables
    ) throws -> [UInt8] {
        // The command's tag says whose reply was retained.
        Self.isUserPool(command)
            ? try pools.retry(retained: retained, command: command, shard: shard, txn: txn, tables: tables)
            : try kv.retry(retained: retained, command: command, shard: shard, txn: txn, tables: tables)
    }

    func read(request: [UInt8], shard: UInt32, txn: borrowing ReadTransaction, tables: NodeTables) throws -> [UInt8] {
        Self.isUserPool(request)
            ? try pools.read(request: request, shard: shard, txn: txn, tables: tables)
            : try kv.read(request: request, shard: shard, txn: txn, tables: tables)
    }

    func reserve(
        request: [UInt8], shard: UInt32, now: UInt64, txn: borrowing ReadTransaction, tables: NodeTables
    ) throws -> Reservation {
        guard Self.isUserPool(request) else { throw NoReservations() }
        return try pools.reserve(request: request, shard: shard, now: now, txn: txn, tables: tables)
    }
}
