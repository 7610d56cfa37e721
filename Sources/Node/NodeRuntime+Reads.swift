import NodeRPC
import Raft
import Sharding
import Storage

/// Linearizable reads: one ReadIndex round per shard for every read that arrived since the
/// last, then each read served once its shard has applied up to the confirmed index.
extension NodeRuntime {
    /// Starts one ReadIndex round per shard for the reads that arrived since the last.
    func startReadRounds() {
        for r in replicas.values where !r.pendingReads.isEmpty {
            let batch = r.pendingReads
            r.pendingReads = []
            readCounter += 1
            let context = withUnsafeBytes(of: readCounter.bigEndian, Array.init)
            do {
                try r.raft.readIndex(context)
                r.reads[context] = batch
            } catch let RaftError.notLeader(leader) {
                for w in batch { w.reply(.notLeader(leader: leader)) }
            } catch {
                for w in batch { w.reply(.unavailable("\(error)")) }
            }
        }
    }

    func serveConfirmedReads(_ r: ShardReplica) {
        guard !r.confirmedReads.isEmpty else { return }
        if !r.deferred.isEmpty { flushPendingOrStop() }
        let applied = r.raft.appliedIndex
        var waiting: [(index: UInt64, work: ReadWork, reply: ShardReplica.Reply)] = []
        for read in r.confirmedReads {
            if read.index <= applied {
                switch read.work {
                case .query(let request): read.reply(serveRead(shard: r.shard, request: request))
                case .backup: read.reply(startBackup(r))
                }
            } else {
                waiting.append(read)
            }
        }
        r.confirmedReads = waiting
    }

    func serveRead(shard: UInt32, request: [UInt8]) -> ClientResponse.Body {
        do {
            return .ok(
                try env.read { txn in try stateMachine.read(request: request, shard: shard, txn: txn, tables: tables) })
        } catch {
            return .invalid("read failed: \(error)")
        }
    }
}
