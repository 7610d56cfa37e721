import Node
import Storage
import UserPool

/// What a production node runs: the user-pool state machine, with the key-value harness
/// beside it for `cognate kv` and the node tests. User-pool commands and queries are JSON
/// objects (first byte `{`); key-value ones start with a small opcode, so neither can be
/// taken for the other.
struct CognateStateMachine: ReplicatedStateMachine {
    let pools = UserPoolStateMachine()
    let kv = KVStateMachine()

    static func isUserPool(_ bytes: [UInt8]) -> Bool { bytes.first == UInt8(ascii: "{") }

    func apply(command: [UInt8], shard: UInt32, index: UInt64, txn: borrowing WriteTransaction, tables: NodeTables) throws -> [UInt8] {
        Self.isUserPool(command)
            ? try pools.apply(command: command, shard: shard, index: index, txn: txn, tables: tables)
            : try kv.apply(command: command, shard: shard, index: index, txn: txn, tables: tables)
    }

    func read(request: [UInt8], shard: UInt32, txn: borrowing ReadTransaction, tables: NodeTables) throws -> [UInt8] {
        Self.isUserPool(request)
            ? try pools.read(request: request, shard: shard, txn: txn, tables: tables)
            : try kv.read(request: request, shard: shard, txn: txn, tables: tables)
    }
}
