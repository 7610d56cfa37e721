import NodeRPC
import Raft
import Storage

/// Membership changes: replicas created for a group that adds this node, changes
/// proposed on a leader, and replicas deleted once their group no longer lists this node.
extension NodeRuntime {
    func membership(shard: UInt32, step: MembershipStep, reply: @escaping ShardReplica.Reply) {
        guard shard <= config.shards else { return reply(missing(shard)) }
        switch step {
        case .addReplica:
            guard replicas[shard] == nil else { return reply(.ok([])) }
            do {
                // Whatever an earlier replica of the shard left here goes first, durably.
                try flushStaged()
                try env.write(sync: true) { [tables] txn in try LMDBRaftStorage.destroy(txn, tables, shard: shard) }
                try addReplica(shard: shard, bootstrapVoters: [])
            } catch {
                return fail("creating a replica of shard \(shard)", error)
            }
            logger.info("shard \(shard): empty replica created; it fills from the leader's snapshot")
            reply(.ok([]))
        case .change(let kind, let node):
            guard let r = replicas[shard] else { return reply(missing(shard)) }
            guard r.raft.role == .leader else { return reply(.notLeader(leader: r.raft.leader)) }
            guard config.node(node) != nil else {
                return reply(.invalid("node \(node) is not in the cluster definition: add its [[nodes]] entry first"))
            }
            let change = ConfChange(kind, node)
            do {
                let index = try r.raft.proposeConfChange(change)
                r.confChanges[index] = (change, reply)
                logger.info("shard \(shard): proposed \(kind) \(node) at index \(index)")
            } catch .notLeader(let leader) {
                reply(.notLeader(leader: leader))
            } catch .confChangeInProgress {
                reply(.unavailable("shard \(shard): another membership change is being applied; retry"))
            } catch .invalidConfChange(let why) {
                reply(.invalid("shard \(shard): \(why)"))
            } catch {
                reply(.unavailable("shard \(shard): \(error)"))
            }
        case .transferLeader(let to):
            guard let r = replicas[shard] else { return reply(missing(shard)) }
            do {
                try r.raft.transferLeadership(to: to)
                reply(.ok([]))
            } catch .notLeader(let leader) {
                reply(.notLeader(leader: leader))
            } catch {
                reply(.invalid("shard \(shard): \(error)"))
            }
        case .dropReplica:
            guard let r = replicas[shard] else { return reply(.ok([])) }
            guard r.raft.role != .leader else {
                return reply(.invalid("node \(nodeId) leads shard \(shard): transfer leadership first"))
            }
            retiring.insert(shard)
            retireReplicas()
            reply(stopped ? .unavailable("node \(nodeId) is stopping") : .ok([]))
        }
    }

    /// Deletes the replicas in `retiring`: what is staged reaches LMDB first, then the
    /// shard's records go in one synced commit, then the write-ahead log starts a new epoch
    /// so that no record of the shard is replayed into LMDB at the next start.
    func retireReplicas() {
        let shards = retiring.sorted()
        retiring = []
        do {
            try flushStaged()
            for shard in shards {
                guard let r = replicas.removeValue(forKey: shard) else { continue }
                r.failWaiters(reason: "node \(nodeId) is no longer a member of shard \(shard)")
            }
            try env.write(sync: true) { [tables] txn in
                for shard in shards { try LMDBRaftStorage.destroy(txn, tables, shard: shard) }
            }
            try wal.checkpoint()
        } catch {
            return fail("deleting the replica(s) of shard(s) \(shards)", error)
        }
        logger.info("shard(s) \(shards): replica deleted; this node is no longer a member")
    }
}
