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
                case .reserve(let request): serveReserve(r, request: request, reply: read.reply)
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

    // MARK: Reserving reads

    /// The clock slots and once ids live by: milliseconds of ticks, which only move forward.
    var slotClock: UInt64 { ticks &* UInt64(config.tickMilliseconds) }

    /// Serves a confirmed reserving read: the state machine says what it found and what to
    /// hold; granted, it is answered with a ticket; with every slot of its key held, it waits
    /// (a bounded number per key and per replica) for a release, or is answered `full`.
    func serveReserve(_ r: ShardReplica, request: [UInt8], reply: @escaping ShardReplica.Reply) {
        guard r.raft.role == .leader else { return reply(.notLeader(leader: r.raft.leader)) }
        if r.slots.term != r.raft.term {
            // A new term: nothing an earlier one held counts; whoever waited reads again.
            r.slots.reset(term: r.raft.term)
            for (_, list) in r.waiting { for w in list { r.pendingReads.append((.reserve(w.request), w.reply)) } }
            r.waiting = [:]
            r.waitingCount = 0
        }
        let reservation: Reservation
        do {
            let now = UInt64(max(0, wallClock() * 1000))
            reservation = try env.read { txn in
                try stateMachine.reserve(request: request, shard: r.shard, now: now, txn: txn, tables: tables)
            }
        } catch {
            return reply(.invalid("reserving read failed: \(error)"))
        }
        func answer(_ ticket: UInt64, _ bytes: [UInt8], elsewhere: Bool = false) {
            reply(
                .ok(
                    ReservedReply(
                        node: nodeId, boot: boot, term: r.raft.term, ticket: ticket, claimElsewhere: elsewhere,
                        reply: bytes
                    ).encoded))
        }
        switch r.slots.take(reservation, now: slotClock) {
        case .granted(let ticket):
            guard let once = reservation.once else { return answer(ticket, reservation.reply) }
            // An id this node issued is claimed here; another node's, by the front there.
            guard once.node == nodeId else { return answer(ticket, reservation.reply, elsewhere: true) }
            guard claim(boot: once.boot, id: once.id, life: once.lifeMilliseconds) else {
                release(r, ticket: ticket)
                return answer(0, once.used)
            }
            answer(ticket, reservation.reply)
        case .full:
            guard let slot = reservation.slot else { return answer(0, reservation.reply) }
            guard slot.allowance > 0, r.waitingCount < Self.maxWaitingReserves,
                (r.waiting[slot.key]?.count ?? 0) < Self.maxWaitingPerKey
            else { return answer(0, slot.full) }
            r.waiting[slot.key, default: []].append(
                WaitingReserve(request: request, reply: reply, full: slot.full, since: slotClock))
            r.waitingCount += 1
        }
    }

    /// Claims a once id issued by this run of the node (`boot`), for `life` milliseconds.
    func claim(boot: UInt64, id: [UInt8], life: UInt64? = nil) -> Bool {
        guard boot == self.boot, id.count <= 64 else { return false }
        return claimed.claim(id, now: slotClock, life: min(life ?? Self.onceLife, Self.onceLife))
    }

    /// The longest a once id is remembered (an SRP challenge lives 5 minutes, and its
    /// TIMESTAMP may be 5 minutes off).
    static var onceLife: UInt64 { 600_000 }

    /// Reserving reads waiting at most, per replica and per key, and for how long.
    static var maxWaitingReserves: Int { 4_096 }
    static var maxWaitingPerKey: Int { 64 }
    static var maxWaitMilliseconds: UInt64 { 5_000 }

    /// Gives a ticket back; the key's oldest waiting read is read again.
    func release(_ r: ShardReplica, ticket: UInt64) {
        guard let key = r.slots.release(ticket) else { return }
        wake(r, key)
    }

    /// The oldest read waiting on `key` goes through a new ReadIndex round (it is served
    /// with what was applied meanwhile: the failure its predecessor recorded).
    private func wake(_ r: ShardReplica, _ key: [UInt8]) {
        guard var list = r.waiting[key], !list.isEmpty else { return }
        let next = list.removeFirst()
        r.waiting[key] = list.isEmpty ? nil : list
        r.waitingCount -= 1
        r.pendingReads.append((.reserve(next.request), next.reply))
    }

    /// Each tick: tickets past their life come free (their keys' waiters read again), and
    /// reads that waited too long are answered `full`.
    func tendSlots() {
        let now = slotClock
        for r in replicas.values {
            guard r.slots.heldCount > 0 || r.waitingCount > 0 else { continue }
            for key in r.slots.expire(now: now) { wake(r, key) }
            guard r.waitingCount > 0 else { continue }
            for (key, list) in r.waiting {
                let (late, kept) = (
                    list.filter { now &- $0.since >= Self.maxWaitMilliseconds },
                    list.filter { now &- $0.since < Self.maxWaitMilliseconds }
                )
                guard !late.isEmpty else { continue }
                for w in late {
                    w.reply(
                        .ok(
                            ReservedReply(node: nodeId, boot: boot, term: r.raft.term, ticket: 0, reply: w.full).encoded
                        ))
                }
                r.waiting[key] = kept.isEmpty ? nil : kept
                r.waitingCount -= late.count
            }
        }
    }
}
