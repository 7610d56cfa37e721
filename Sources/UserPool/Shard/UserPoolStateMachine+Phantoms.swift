import Foundation
import Storage

/// What a name no user has spends of the limits a real user has, so that an answer, its
/// cost and its limits say nothing about whether the user exists
/// (PreventUserExistenceErrors): failed sign-ins and the lock they lead to, codes sent and
/// wrong codes. Each name's counters are one record (`x/`), found for pruning by the time it
/// was last touched (`xo/`), and forgotten once every window they matter in is over.
extension UserPoolStateMachine {
    /// Quiet phantoms dropped per command that touches one, so a shard's phantoms stay few.
    static let phantomPruneBatch = 8
    /// How long a phantom is kept after it was last touched: longer than the lockout's and
    /// the code limits' memory, so forgetting it changes no answer.
    static let phantomMemory = max(Lockout.memorySeconds, CodeRules.memorySeconds)

    /// Counts a failed sign-in of a name no user has, as `attempt` counts a user's.
    func phantomAttempt(
        _ poolId: String, _ canonical: String, now: Int64, base: Int64, _ ctx: Context,
        _ txn: borrowing WriteTransaction
    ) throws -> UserPoolReply {
        var record = try loadPhantom(poolId, canonical, ctx, txn)
        var lockout = record.lockout
        if lockout.isLocked(at: now) { return .attempt(.lockedOut, nil) }
        lockout.fail(at: now, baseSeconds: base)
        record.lockout = lockout
        try storePhantom(record, poolId, canonical, now: now, ctx, txn)
        return .attempt(.refused, nil)
    }

    /// Counts a code sent to, or a wrong code given for, a name whose answer must look like
    /// a user's: refused with LimitExceeded where a user's would be; a check is always a
    /// mismatch.
    func phantomCode(
        _ poolId: String, _ canonical: String, _ use: PhantomCodeUse, now: Int64, _ ctx: Context,
        _ txn: borrowing WriteTransaction
    ) throws -> UserPoolReply {
        var record = try loadPhantom(poolId, canonical, ctx, txn)
        var codes = record.codes ?? CodeState()
        let reply: UserPoolReply
        switch use {
        case .send:
            do throws(PoolError) {
                try CodeRules.countSend(&codes, now: now)
                reply = .ok
            } catch {
                return .error(error)
            }
        case .check:
            let verdict = CodeRules.countWrong(&codes, now: now)
            guard verdict != .limited, let refusal = verdict.refusal else { return .error(CodeRules.limited) }
            reply = .error(refusal)
        }
        record.codes = codes
        try storePhantom(record, poolId, canonical, now: now, ctx, txn)
        return reply
    }

    private func loadPhantom(
        _ poolId: String, _ canonical: String, _ ctx: Context, _ txn: borrowing WriteTransaction
    ) throws -> PhantomRecord {
        try ctx.load(UserPoolKeys.phantom(poolId, canonical), as: PhantomRecord.self, txn) ?? PhantomRecord()
    }

    /// Writes a phantom touched at `now`, moves its place in the time order, and forgets a
    /// few phantoms of the pool quiet for longer than `phantomMemory`.
    private func storePhantom(
        _ record: PhantomRecord, _ poolId: String, _ canonical: String, now: Int64, _ ctx: Context,
        _ txn: borrowing WriteTransaction
    ) throws {
        typealias K = UserPoolKeys
        var record = record
        if let last = record.touchedAt ?? record.lastFailureAt {
            try ctx.delete(K.phantomOrder(poolId, last, canonical), txn)
        }
        record.touchedAt = now
        try ctx.store(K.phantom(poolId, canonical), record, txn)
        try txn.put(ctx.key(K.phantomOrder(poolId, now, canonical)), Array(canonical.utf8), in: ctx.tables.data)
        let stale = try ctx.entries(K.phantomOrderPrefix(poolId), limit: Self.phantomPruneBatch, txn)
        let (cutoff, overflow) = now.subtractingReportingOverflow(Self.phantomMemory)
        guard !overflow else { return }
        let prefix = ctx.key(K.phantomOrderPrefix(poolId)).count
        for (k, v) in stale {
            let at = Int64(bitPattern: k.dropFirst(prefix).prefix(8).reduce(0) { $0 << 8 | UInt64($1) })
            guard at < cutoff else { break }
            try txn.delete(k, in: ctx.tables.data)
            try ctx.delete(K.phantom(poolId, String(decoding: v, as: UTF8.self)), txn)
        }
    }
}

/// What a phantom counts: the fields of `Lockout` (so records written before code counters
/// existed still read), the code counters, and when it was last touched.
struct PhantomRecord: Codable {
    var failedAttempts = 0
    var lockedUntil: Int64?
    var lastFailureAt: Int64?
    var codes: CodeState?
    var touchedAt: Int64?

    var lockout: Lockout {
        get { Lockout(failedAttempts: failedAttempts, lockedUntil: lockedUntil, lastFailureAt: lastFailureAt) }
        set {
            failedAttempts = newValue.failedAttempts
            lockedUntil = newValue.lockedUntil
            lastFailureAt = newValue.lastFailureAt
        }
    }
}

/// What a phantom code command counts.
public enum PhantomCodeUse: String, Codable, Sendable {
    /// A code "sent" (ForgotPassword, ResendConfirmationCode).
    case send
    /// A code given (ConfirmSignUp, ConfirmForgotPassword): always wrong.
    case check
}
