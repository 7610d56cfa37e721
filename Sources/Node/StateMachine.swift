import Storage

/// The replicated state machine of one shard, supplied by the domain (the user pool) or the
/// test harness (`KVStateMachine`). Applying must be deterministic: every replica applies
/// the same commands in the same order and must end in the same state.
///
/// Its data lives in `tables.data` under keys prefixed with the shard id (see
/// `ShardKeys`); snapshots copy exactly that range, so a state machine keeps nothing
/// anywhere else.
public protocol ReplicatedStateMachine: Sendable {
    /// Applies one committed command inside the cycle's write transaction and returns the
    /// reply for the client. A thrown error aborts the node (state would diverge), so
    /// refusals are replies, not throws.
    func apply(command: [UInt8], shard: UInt32, index: UInt64, txn: borrowing WriteTransaction, tables: NodeTables) throws -> [UInt8]

    /// Answers a read at a linearizable point.
    func read(request: [UInt8], shard: UInt32, txn: borrowing ReadTransaction, tables: NodeTables) throws -> [UInt8]
}

/// Keys of one shard's records: the shard id, big-endian, then the rest.
public enum ShardKeys {
    public static func prefix(_ shard: UInt32) -> [UInt8] { withUnsafeBytes(of: shard.bigEndian, Array.init) }

    public static func key(_ shard: UInt32, _ rest: [UInt8]) -> [UInt8] { prefix(shard) + rest }

    /// The first key after every key of `shard`.
    public static func end(_ shard: UInt32) -> [UInt8] { prefix(shard + 1) }
}

/// The LMDB tables of a node.
public struct NodeTables: Sendable {
    /// shard ‖ index → entry.
    public let log: Table
    /// shard ‖ tag → hard state, snapshot metadata, applied index, configuration.
    public let meta: Table
    /// shard ‖ key → value: the state machines' data.
    public let data: Table
    /// shard ‖ request id → reply: applied client requests, so a retry applies once.
    public let requests: Table

    init(_ env: Environment) throws {
        log = try env.openTable("raft_log")
        meta = try env.openTable("raft_meta")
        data = try env.openTable("sm_data")
        requests = try env.openTable("sm_requests")
    }
}
