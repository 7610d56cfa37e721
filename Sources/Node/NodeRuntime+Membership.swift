import NodeRPC
import Raft
import Sharding
import Storage

/// Membership changes: replicas created for a group that adds this node, changes
/// proposed on a leader, and replicas deleted once their group no longer lists this node.
extension NodeRuntime {
    func membership(shard: UInt32, step: MembershipStep, reply: @escaping ShardReplica.Reply) {
        guard shard <= Placement.maxShards else { return reply(missing(shard)) }
        switch step {
        case .found(let voters):
            guard shard > config.shards else {
                return reply(.invalid("shard \(shard) is one of the definition's; its founding is the placement's"))
            }
            guard voters.contains(nodeId), Set(voters).count == voters.count, !voters.contains(0),
                voters.count <= MembershipStep.maxFoundingVoters
            else {
                return reply(
                    .invalid("shard \(shard): founding voters \(voters) must be distinct and name node \(nodeId)"))
            }
            guard replicas[shard] == nil else { return reply(.ok([])) }
            do {
                try flushStaged()
                try env.write(sync: true) { [tables] txn in try LMDBRaftStorage.destroy(txn, tables, shard: shard) }
                try addReplica(shard: shard, bootstrapVoters: Set(voters))
            } catch {
                return fail("founding shard \(shard)", error)
            }
            logger.info("shard \(shard): founded with voters \(voters.sorted())")
            reply(.ok([]))
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
        case .change(let kind, let node, let address):
            guard let r = replicas[shard] else { return reply(missing(shard)) }
            guard r.raft.role == .leader else { return reply(.notLeader(leader: r.raft.leader)) }
            guard node != 0 else { return reply(.invalid("node id 0 means none")) }
            guard kind != .incarnation else {
                return reply(.invalid("incarnations are recorded by the shard's leader, not on request"))
            }
            guard kind == .remove || !deniedNodes.contains(node) else {
                return reply(
                    .invalid("node \(node) was removed from the cluster; a replacement joins under a new id"))
            }
            // Only a learner that has received the log votes: a voter that never answered
            // would count against the quorum from the start.
            if kind == .addVoter && !r.raft.confState.voters.contains(node) {
                guard r.raft.confState.learners.contains(node), (r.raft.matchIndex(of: node) ?? 0) > 0 else {
                    return reply(
                        .invalid("shard \(shard): node \(node) must be a learner that has received the log first"))
                }
            }
            // An added node's addresses go with the change, so every member can reach it.
            let known = address ?? self.address(of: node)
            guard kind == .remove || known != nil else {
                return reply(
                    .invalid(
                        "node \(node) is not in the cluster definition and no address was given (add-node --peer "
                            + "--admin)"))
            }
            let change = ConfChange(kind, node, context: kind == .remove ? [] : known?.encoded ?? [])
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
            // Only a replica its group has let go of: deleting a member's log would make it
            // forget what it acknowledged.
            guard !r.raft.confState.members.contains(nodeId) else {
                return reply(
                    .invalid(
                        "node \(nodeId) is still a member of shard \(shard) as far as it has applied; remove it first "
                            + "(`cognate cluster remove-node` or `move-replica`)"))
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

    // MARK: Addresses

    /// A node's addresses: the definition's, else those its membership changes gave.
    func address(of node: UInt64) -> NodeAddress? {
        if let entry = config.node(node) { return NodeAddress(peer: entry.peer, admin: entry.admin) }
        return addressBook[node]
    }

    static func memberKey(_ shard: UInt32, _ node: UInt64) -> [UInt8] {
        ShardKeys.key(shard, withUnsafeBytes(of: node.bigEndian, Array.init))
    }

    /// Marks a node removed from shard 0, which every node holds: the node left the
    /// cluster, and its identity is denied from then on (13 bytes, so the address scan,
    /// which reads 12-byte keys, skips it).
    static func deniedKey(_ node: UInt64) -> [UInt8] {
        ShardKeys.key(0, [0xff] + withUnsafeBytes(of: node.bigEndian, Array.init))
    }

    /// Keeps an added member's addresses in the shard's state (so a snapshot carries them)
    /// and drops a removed one's, in the transaction that applies the change. A node
    /// removed from shard 0 is denied for good (it rejoins under a new id).
    func recordAddress(_ txn: borrowing WriteTransaction, shard: UInt32, _ change: ConfChange) throws {
        let key = Self.memberKey(shard, change.node)
        switch change.kind {
        case .addLearner, .addVoter:
            // A context that is not an address (none, or from a newer version) records nothing.
            guard (try? NodeAddress(encoded: change.context)) != nil else { return }
            try txn.put(key, change.context, in: tables.members)
        case .remove:
            _ = try txn.delete(key, in: tables.members)
            if shard == 0 { try txn.put(Self.deniedKey(change.node), [], in: tables.members) }
        case .incarnation:
            return
        }
        addressesChanged = true
    }

    /// The nodes removed from the cluster (shard 0's removals).
    func readDenied() throws -> Set<UInt64> {
        try env.read { txn in
            var denied: Set<UInt64> = []
            let prefix = ShardKeys.key(0, [0xff])
            try txn.scan(tables.members, from: prefix, to: ShardKeys.key(0, [0xff, 0xff])) { key, _ in
                guard key.count == 13 else { return true }
                denied.insert(key[5...].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
                return true
            }
            return denied
        }
    }

    /// The addresses of nodes the definition does not list, from every shard's members.
    func readAddresses() throws -> [UInt64: NodeAddress] {
        try env.read { txn in
            var book: [UInt64: NodeAddress] = [:]
            try txn.scan(tables.members) { key, value in
                guard key.count == 12 else { return true }
                let node = key[4...].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                if config.node(node) == nil, let address = try? NodeAddress(encoded: Array(value)) {
                    book[node] = address
                }
                return true
            }
            return book
        }
    }

    /// Reads the addresses again after a membership change or snapshot; tells the
    /// transport of new or moved nodes.
    func learnAddresses() {
        addressesChanged = false
        let book: [UInt64: NodeAddress]
        do {
            book = try readAddresses()
        } catch {
            return fail("reading members' addresses", error)
        }
        for (node, address) in book where addressBook[node] != address {
            logger.info("node \(node) is at \(address.peer) (admin \(address.admin)), from a membership change")
            onPeerAddress?(node, address)
        }
        addressBook = book
        do {
            let denied = try readDenied()
            for node in denied.subtracting(deniedNodes).sorted() {
                logger.notice("node \(node) was removed from the cluster: its certificate is refused from now on")
                onPeerDenied?(node)
            }
            deniedNodes = denied
        } catch {
            return fail("reading removed nodes", error)
        }
    }
}
