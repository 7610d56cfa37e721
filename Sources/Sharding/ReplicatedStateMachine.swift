import Storage

/// What applying one command produced.
public struct Applied: Sendable, Equatable {
    /// The answer for the client that proposed the command.
    public var reply: [UInt8]
    /// What the node keeps so that a retry of the same request is answered without applying
    /// it again: small (a verdict or a reference), never a whole record. `retry(retained:…)`
    /// turns it back into a reply.
    public var retained: [UInt8]

    public init(reply: [UInt8], retained: [UInt8]) {
        self.reply = reply
        self.retained = retained
    }

    /// A reply small enough to keep as it is.
    public init(reply: [UInt8]) {
        self.init(reply: reply, retained: reply)
    }
}

/// The replicated state machine of one shard, supplied by the domain (the user pool) or the
/// test harness (`KVStateMachine`). Applying must be deterministic: every replica applies
/// the same commands in the same order and must end in the same state.
///
/// Its data lives in `tables.data` under keys prefixed with the shard id (see
/// `ShardKeys`); snapshots copy exactly that range, so a state machine keeps nothing
/// anywhere else.
/// Who may send a command or a read: any client with a cluster certificate (a front), or
/// only the operator's tools (and nodes).
public enum ClientAccess: Sendable, Equatable {
    case client
    case `operator`
}

public protocol ReplicatedStateMachine: Sendable {
    /// Who may propose `command` (a front's certificate may send only what is `.client`).
    func access(command: [UInt8]) -> ClientAccess

    /// Who may send the read `request`.
    func access(read: [UInt8]) -> ClientAccess

    /// Why `command` may not be proposed at all (nil: it may). Asked by the leader before a
    /// command enters the log; nothing that depends on the node's own settings may decide
    /// an apply, since every replica must reach the same result.
    func admit(command: [UInt8]) -> String?

    /// Why a read may not be served (nil: it may).
    func admit(read: [UInt8]) -> String?

    /// Applies one committed command, inside a transaction nested in the cycle's.
    ///
    /// A throw means the command cannot apply: the runtime undoes whatever it wrote and
    /// answers `rejection(of:)`. Every replica must reach that verdict alike, so a throw may
    /// follow only from the command and the state (a malformed command, a key LMDB refuses);
    /// a `StorageError` about the machine itself (`isEnvironmental`: disk full, I/O) stops
    /// the node instead, and it applies the entry again after a restart.
    ///
    /// `clock` is the entry's time: the milliseconds in its request id, which the leader
    /// checked against its own clock when the command was proposed. Times inside a command
    /// are checked against it, so no command carries a time that would overflow.
    func apply(
        command: [UInt8], shard: UInt32, index: UInt64, clock: UInt64, txn: borrowing WriteTransaction,
        tables: NodeTables
    ) throws
        -> Applied

    /// The reply for a command whose apply threw `error`; a function of the error alone.
    func rejection(of error: any Error, command: [UInt8]) -> [UInt8]

    /// The reply for a retry of `command`, a request already applied, from what `apply`
    /// retained.
    func retry<T: ReadableTransaction & ~Copyable>(
        retained: [UInt8], command: [UInt8], shard: UInt32, txn: borrowing T, tables: NodeTables
    ) throws -> [UInt8]

    /// Answers a read at a linearizable point.
    func read(request: [UInt8], shard: UInt32, txn: borrowing ReadTransaction, tables: NodeTables) throws -> [UInt8]

    /// Answers a reserving read on the shard's leader, at a linearizable point: what it
    /// found, and the slot or once id the leader must hold for it (`Reservation`). `now` is
    /// the node's clock in milliseconds.
    func reserve(
        request: [UInt8], shard: UInt32, now: UInt64, txn: borrowing ReadTransaction, tables: NodeTables
    ) throws -> Reservation
}

extension ReplicatedStateMachine {
    /// Only the operator's tools, unless a machine says which of its commands are a
    /// client's.
    public func access(command: [UInt8]) -> ClientAccess { .operator }
    public func access(read: [UInt8]) -> ClientAccess { .operator }

    public func admit(command: [UInt8]) -> String? { nil }
    public func admit(read: [UInt8]) -> String? { nil }

    /// A machine without reserving reads refuses them.
    public func reserve(
        request: [UInt8], shard: UInt32, now: UInt64, txn: borrowing ReadTransaction, tables: NodeTables
    ) throws -> Reservation {
        throw NoReservations()
    }

    public func retry<T: ReadableTransaction & ~Copyable>(
        retained: [UInt8], command: [UInt8], shard: UInt32, txn: borrowing T, tables: NodeTables
    ) throws -> [UInt8] {
        retained
    }
}

/// Thrown by a state machine that has no reserving reads.
public struct NoReservations: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "this state machine has no reserving reads" }
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
    /// shard ‖ request id → applied index ‖ retained reply: applied client requests, so a
    /// retry applies once.
    public let requests: Table
    /// shard ‖ applied index → request id: the same requests in the order they applied,
    /// so the oldest are pruned first.
    public let requestOrder: Table
    /// shard ‖ node id → that member's addresses, from the membership change that added it
    /// (written by the node runtime, not the state machine).
    public let members: Table

    /// The tables a snapshot carries, each with its tag in the snapshot's stream.
    public var stateTables: [(tag: UInt8, table: Table)] {
        [(0, data), (1, requests), (2, requestOrder), (3, members)]
    }

    public init(_ env: Environment) throws {
        log = try env.openTable("raft_log")
        meta = try env.openTable("raft_meta")
        data = try env.openTable("sm_data")
        requests = try env.openTable("sm_requests")
        requestOrder = try env.openTable("sm_request_order")
        members = try env.openTable("cluster_members")
    }
}
