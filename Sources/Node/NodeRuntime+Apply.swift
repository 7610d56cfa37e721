import NodeRPC
import Raft
import Sharding
import Storage

/// One committed entry's outcome.
struct AppliedEntry {
    var shard: UInt32
    var index: UInt64
    var requestId: [UInt8]
    var reply: [UInt8]
}

/// Applying committed commands, once each (`RequestTable`).
extension NodeRuntime {
    /// The reply already given to `requestId` on `shard`, if it was applied.
    func priorReply(shard: UInt32, requestId: [UInt8], command: [UInt8]) throws -> [UInt8]? {
        try env.read { txn in
            guard let retained = try RequestTable.retained(txn, tables, shard: shard, requestId: requestId) else {
                return nil
            }
            return try retryReply(retained, command: command, shard: shard, txn: txn)
        }
    }

    private func retryReply<T: ReadableTransaction & ~Copyable>(
        _ retained: [UInt8], command: [UInt8], shard: UInt32, txn: borrowing T
    ) throws -> [UInt8] {
        do {
            return try stateMachine.retry(retained: retained, command: command, shard: shard, txn: txn, tables: tables)
        } catch let error as StorageError where error.isEnvironmental {
            throw error
        } catch {
            return stateMachine.rejection(of: error, command: command)
        }
    }

    /// Applies one entry in its own nested transaction: a command that cannot apply is
    /// undone and answered with the state machine's rejection, the same on every replica,
    /// so input can never stop a node. Only a failure of the machine itself propagates.
    func apply(_ txn: borrowing WriteTransaction, shard: UInt32, entry: Entry) throws -> AppliedEntry {
        let requestId = Array(entry.data.prefix(16))
        let command = Array(entry.data.dropFirst(16))
        if let retained = try RequestTable.retained(txn, tables, shard: shard, requestId: requestId) {
            let reply = try retryReply(retained, command: command, shard: shard, txn: txn)
            return AppliedEntry(shard: shard, index: entry.index, requestId: requestId, reply: reply)
        }
        let outcome: Applied
        do {
            outcome = try txn.nested { child in
                try stateMachine.apply(
                    command: command, shard: shard, index: entry.index, clock: RequestID.milliseconds(of: requestId),
                    txn: child, tables: tables)
            }
        } catch let error as StorageError where error.isEnvironmental {
            throw error
        } catch {
            metrics.rejectedEntries.increment()
            logger.warning("shard \(shard): entry \(entry.index) could not apply and was rejected: \(error)")
            outcome = Applied(reply: stateMachine.rejection(of: error, command: command))
        }
        try RequestTable.remember(
            txn, tables, shard: shard, index: entry.index, requestId: requestId, retained: outcome.retained)
        return AppliedEntry(shard: shard, index: entry.index, requestId: requestId, reply: outcome.reply)
    }
}
