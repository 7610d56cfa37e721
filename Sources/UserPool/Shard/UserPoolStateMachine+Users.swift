import Crypto
import Foundation
import Sharding
import Storage

/// A user shard's commands: users, sign-in attempts, memberships and unique-value claims.
extension UserPoolStateMachine {
    /// Memberships removed per `purgeGroup` command, so one command stays small.
    static let purgeBatch = 500

    func applyUser(_ cmd: UserPoolCommand, _ ctx: Context, _ txn: borrowing WriteTransaction) throws -> UserPoolReply {
        typealias K = UserPoolKeys
        switch cmd {
        case .createUser(let user, let canonical):
            // Re-checked here, at apply, so two racing sign-ups cannot both win.
            if try ctx.contains(K.user(user.poolId, canonical), txn) {
                return .error(PoolError(.usernameExists, "User already exists"))
            }
            try ctx.store(K.user(user.poolId, canonical), user, txn)
            // The sub's index lives with the user, in the same entry: a sub is 122 random bits,
            // so it needs no uniqueness claim across shards, only a way to be found.
            try txn.put(ctx.key(K.sub(user.poolId, user.sub)), Array(canonical.utf8), in: ctx.tables.data)
            // An imported user arrives with its groups (a new one has none): their member
            // index entries go in the same entry.
            for g in user.groups ?? [] {
                try txn.put(ctx.key(K.member(user.poolId, g, canonical)), Array(canonical.utf8), in: ctx.tables.data)
            }
            try count(user.poolId, by: 1, ctx, txn)
            return .user(user.withoutSecrets)
        case .updateUser(let user, let canonical, let expected):
            guard let current = try ctx.load(K.user(user.poolId, canonical), as: User.self, txn) else {
                return .error(PoolError(.userNotFound, "User does not exist."))
            }
            guard current.version == expected else {
                return .error(PoolError(.conflict, "the user changed concurrently"))
            }
            var next = user
            next.version = try incremented(expected, "a user's version")
            try ctx.store(K.user(user.poolId, canonical), next, txn)
            return .user(next.withoutSecrets)
        case .deleteUser(let poolId, let canonical):
            guard let user = try ctx.load(K.user(poolId, canonical), as: User.self, txn) else {
                return .error(PoolError(.userNotFound, "User does not exist."))
            }
            for g in user.groups ?? [] { try ctx.delete(K.member(poolId, g, canonical), txn) }
            try ctx.delete(K.user(poolId, canonical), txn)
            try ctx.delete(K.sub(poolId, user.sub), txn)
            try count(poolId, by: -1, ctx, txn)
            return .user(user.withoutSecrets)
        case .signInAttempt(let poolId, let canonical, let ok, let digest, let now, let base, let challenge):
            if let challenge, try !useChallenge(poolId, challenge, now: now, ctx, txn) {
                return .attempt(.replayed, nil)
            }
            return try attempt(poolId, canonical, passwordOK: ok, digest: digest, now: now, base: base, ctx, txn)
        case .phantomCode(let poolId, let canonical, let use, let now):
            return try phantomCode(poolId, canonical, use, now: now, ctx, txn)
        case .setMembership(let poolId, let canonical, let group, let member):
            guard var user = try ctx.load(K.user(poolId, canonical), as: User.self, txn) else {
                return .error(PoolError(.userNotFound, "User does not exist."))
            }
            var groups = Set(user.groups ?? [])
            if member {
                groups.insert(group)
                try txn.put(ctx.key(K.member(poolId, group, canonical)), Array(canonical.utf8), in: ctx.tables.data)
            } else {
                groups.remove(group)
                try ctx.delete(K.member(poolId, group, canonical), txn)
            }
            user.groups = groups.sorted()
            user.version = try incremented(user.version, "a user's version")
            try ctx.store(K.user(poolId, canonical), user, txn)
            return .user(user.withoutSecrets)
        case .purgePool(let id):
            return try purgePool(id, ctx, txn)
        case .purgeGroup(let poolId, let group):
            let members = try ctx.entries(K.memberPrefix(poolId, group), limit: Self.purgeBatch + 1, txn)
            for (k, v) in members.prefix(Self.purgeBatch) {
                let canonical = String(decoding: v, as: UTF8.self)
                if var user = try ctx.load(K.user(poolId, canonical), as: User.self, txn) {
                    user.groups = (user.groups ?? []).filter { $0 != group }
                    user.version = try incremented(user.version, "a user's version")
                    try ctx.store(K.user(poolId, canonical), user, txn)
                }
                try txn.delete(k, in: ctx.tables.data)
            }
            return .more(members.count > Self.purgeBatch)
        default:
            throw PoolError(.internalError, "not a user command")
        }
    }

    /// Keeps the pool's user count on this shard (DescribeUserPool's EstimatedNumberOfUsers
    /// adds the shards' counts, without a scan).
    func count(_ poolId: String, by delta: Int64, _ ctx: Context, _ txn: borrowing WriteTransaction) throws {
        let key = ctx.key(UserPoolKeys.userCount(poolId))
        let current =
            try txn.get(key, in: ctx.tables.data).map { Int64(bitPattern: $0.reduce(0) { $0 << 8 | UInt64($1) }) } ?? 0
        let next = max(0, current.addingReportingOverflow(delta).partialValue)
        try txn.put(key, withUnsafeBytes(of: UInt64(bitPattern: next).bigEndian, Array.init), in: ctx.tables.data)
    }

    /// Counts a password check in log order: while locked nothing is counted or revealed;
    /// a right password clears the count only if the verifier is still the one checked.
    private func attempt(
        _ poolId: String, _ canonical: String, passwordOK: Bool, digest: [UInt8], now: Int64, base: Int64,
        _ ctx: Context, _ txn: borrowing WriteTransaction
    ) throws -> UserPoolReply {
        let key = UserPoolKeys.user(poolId, canonical)
        guard var user = try ctx.load(key, as: User.self, txn) else {
            return try phantomAttempt(poolId, canonical, now: now, base: base, ctx, txn)
        }
        var lockout = user.lockout
        if lockout.isLocked(at: now) { return .attempt(.lockedOut, nil) }
        let current = user.verifier.map(\.digest) ?? []
        if passwordOK && !current.isEmpty && current == digest {
            if !lockout.isClear {
                user.lockout = Lockout()
                user.version = try incremented(user.version, "a user's version")
                try ctx.store(key, user, txn)
            }
            return .attempt(.accepted, user.withoutSecrets)
        }
        lockout.fail(at: now, baseSeconds: base)
        user.lockout = lockout
        user.version = try incremented(user.version, "a user's version")
        try ctx.store(key, user, txn)
        return .attempt(.refused, nil)
    }

    /// How many answered challenges' marks past their life are dropped per attempt.
    static let challengePruneBatch = 8

    /// Marks an SRP challenge answered; false if it was answered before (a replayed
    /// PASSWORD_VERIFIER). A mark lives as long as a SECRET_BLOCK can open, then is dropped.
    func useChallenge(
        _ poolId: String, _ id: [UInt8], now: Int64, _ ctx: Context, _ txn: borrowing WriteTransaction
    ) throws -> Bool {
        typealias K = UserPoolKeys
        guard id.count == 32 else { throw PoolError(.invalidParameter, "a challenge id is 32 bytes") }
        if try ctx.contains(K.usedChallenge(poolId, id), txn) { return false }
        let (expires, overflow) = now.addingReportingOverflow(SignInStateMachine.challengeSeconds)
        guard !overflow else { throw PoolError(.invalidParameter, "a sign-in attempt's time is out of range") }
        try txn.put(ctx.key(K.usedChallenge(poolId, id)), [], in: ctx.tables.data)
        try txn.put(ctx.key(K.usedChallengeOrder(poolId, expires, id)), [], in: ctx.tables.data)
        let prefix = ctx.key(K.usedChallengeOrderPrefix(poolId)).count
        for (k, _) in try ctx.entries(K.usedChallengeOrderPrefix(poolId), limit: Self.challengePruneBatch, txn) {
            let tail = Array(k.dropFirst(prefix))
            guard tail.count == 40 else { break }
            let at = Int64(bitPattern: tail.prefix(8).reduce(0) { $0 << 8 | UInt64($1) })
            guard at < now else { break }
            try txn.delete(k, in: ctx.tables.data)
            try ctx.delete(K.usedChallenge(poolId, Array(tail.dropFirst(8))), txn)
        }
        return true
    }

    func applyAlias(_ cmd: UserPoolCommand, _ ctx: Context, _ txn: borrowing WriteTransaction) throws -> UserPoolReply {
        typealias K = UserPoolKeys
        switch cmd {
        case .reserveAlias(let poolId, let attribute, let value, let owner, let now, let staleBefore, let takeOver):
            let k = K.alias(poolId, attribute, value)
            if let claim = try ctx.load(k, as: AliasClaim.self, txn), claim.owner != owner {
                let stale = claim.state == .reserved && claim.since < staleBefore
                // The front decides: taken, or stale and worth a check.
                guard stale && takeOver == claim.owner else { return .alias(claim) }
            }
            try ctx.store(
                k, AliasClaim(owner: owner, state: .reserved, since: now, attribute: attribute, value: value), txn)
            return .ok
        case .commitAlias(let poolId, let attribute, let value, let owner):
            let k = K.alias(poolId, attribute, value)
            if let claim = try ctx.load(k, as: AliasClaim.self, txn), claim.owner != owner { return .alias(claim) }
            try ctx.store(
                k, AliasClaim(owner: owner, state: .committed, since: 0, attribute: attribute, value: value), txn)
            return .ok
        case .releaseAlias(let poolId, let attribute, let value, let owner):
            let k = K.alias(poolId, attribute, value)
            if let claim = try ctx.load(k, as: AliasClaim.self, txn), claim.owner == owner { try ctx.delete(k, txn) }
            return .ok
        default:
            throw PoolError(.internalError, "not an alias command")
        }
    }
}

/// A fingerprint of a verifier: a sign-in attempt names the one it checked, so a password
/// changed in between is not accepted.
public enum PasswordVerifierDigest {
    public static func of(salt: [UInt8], verifier: [UInt8]) -> [UInt8] {
        var h = SHA256()
        h.update(data: salt)
        h.update(data: verifier)
        return Array(h.finalize())
    }
}
