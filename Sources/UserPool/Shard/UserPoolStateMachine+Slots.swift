import Foundation
import Sharding
import Storage

/// Reserving reads: what a shard's leader holds in memory so that a password check needs no
/// write unless it fails. A user's checks run at most as many at once as failures it takes
/// to lock it (`Lockout.allowance`), so parallel guesses cannot outrun the lock; a check that
/// finds every slot held waits for one and reads the user again, seeing the failures its
/// predecessors recorded. An SRP challenge's id is claimed once, on the node that read the
/// user for it (`AttemptChallenge`).
extension UserPoolStateMachine {
    public func reserve(
        request: [UInt8], shard: UInt32, now: UInt64, txn: borrowing ReadTransaction, tables: NodeTables
    ) throws -> Reservation {
        typealias K = UserPoolKeys
        let query = try UserPoolQuery.decode(request)
        let ctx = Context(shard: shard, tables: tables)
        let move = try shard == 0 ? nil : ctx.load(K.shardMove, as: ShardMove.self, txn)
        if let refusal = readRefusal(query, move, ctx) { return Reservation(reply: refusal.encoded) }
        switch query {
        case .user:
            // SRP's first step: the user, and (in the node's answer) the node that read it.
            return Reservation(reply: try read(request: request, shard: shard, txn: txn, tables: tables))
        case .attemptSlot(let p, let c, let at, let base, let challenge):
            let user = try ctx.load(K.user(p, c), as: User.self, txn)
            let lockout =
                try user?.lockout ?? ctx.load(K.phantom(p, c), as: PhantomRecord.self, txn)?.lockout ?? Lockout()
            let locked = UserPoolReply.slot(AttemptSlot(outcome: .lockedOut)).encoded
            let allowance = lockout.allowance(at: at, baseSeconds: base)
            guard allowance > 0 else { return Reservation(reply: locked) }
            let granted = AttemptSlot(
                user: user?.withoutSecrets, verifierDigest: user?.verifier?.digest ?? [], clear: lockout.isClear)
            let once = try challenge.map { c throws(PoolError) in
                guard c.id.count == 32 else { throw PoolError(.invalidParameter, "a challenge id is 32 bytes") }
                return Reservation.Once(
                    id: c.id, node: c.node, boot: c.boot,
                    used: UserPoolReply.slot(AttemptSlot(outcome: .replayed)).encoded,
                    lifeMilliseconds: UInt64(SignInStateMachine.challengeSeconds + SignInStateMachine.timestampSkew)
                        * 1000)
            }
            return Reservation(
                reply: UserPoolReply.slot(granted).encoded,
                slot: Reservation.Slot(key: Array("\(p)/\(c)".utf8), allowance: allowance, full: locked), once: once)
        default:
            throw PoolError(.invalidParameter, "not a reserving read")
        }
    }
}
