import AuthCrypto
import CognitoModel
import Foundation
import Sharding
import Storage
import Testing

@testable import UserPool

@Suite("The user shard's rules")
struct ShardRulesTests {
    static let pool = PointReadTests.pool
    static var user: User {
        var u = PointReadTests.user
        u.failedAttempts = 0
        u.lastFailureAt = nil
        return u
    }

    static func attempt(
        _ shard: Shard, ok: Bool, digest: [UInt8]? = nil, now: Int64, name: String = "alice", challenge: [UInt8]? = nil
    ) throws -> AttemptOutcome {
        let reply = try shard.apply(
            .signInAttempt(
                poolId: pool.id, canonical: name, passwordOK: ok, verifierDigest: digest ?? user.verifier!.digest, now: now,
                lockoutBaseSeconds: 1, challenge: challenge))
        guard case .attempt(let outcome, _) = reply else { Issue.record("not an attempt reply: \(reply)"); return .refused }
        return outcome
    }

    @Test("five wrong passwords lock the user for one second; while locked nothing is counted or revealed")
    func fiveFailuresLock() throws {
        let shard = try Shard()
        try shard.apply(.createUser(Self.user, canonical: "alice"))
        for _ in 0..<5 { #expect(try Self.attempt(shard, ok: false, now: 1_000) == .refused) }
        // Locked: even the right password gets no verdict, and the count does not move.
        #expect(try Self.attempt(shard, ok: true, now: 1_000) == .lockedOut)
        #expect(try Self.attempt(shard, ok: false, now: 1_001) == .lockedOut)
        // After the lock: the right password clears the count.
        #expect(try Self.attempt(shard, ok: true, now: 1_002) == .accepted)
        #expect(try Self.attempt(shard, ok: false, now: 1_003) == .refused)
    }

    @Test("each further failure doubles the lock, up to 15 minutes; 15 quiet minutes after the lock forget the count")
    func lockDoubles() {
        var l = Lockout()
        for _ in 0..<5 { l.fail(at: 0, baseSeconds: 1) }
        #expect(l.lockedUntil == 2)
        l.fail(at: 10, baseSeconds: 1)
        #expect(l.lockedUntil == 13)
        // Quiet is counted from the end of the lock: 15 minutes after the failure, but only
        // 15 - 13 s after the lock, remembers.
        l.fail(at: 13 + 899, baseSeconds: 1)
        #expect(l.failedAttempts == 7)
        var fresh = Lockout()
        for _ in 0..<6 { fresh.fail(at: 0, baseSeconds: 1) }
        fresh.fail(at: 3 + 901, baseSeconds: 1)
        #expect(fresh.failedAttempts == 1)
    }

    @Test("the longest lock never resets the count: waiting it out buys one guess, not five (≤ ~110 a day)")
    func maximumLockKeepsCount() {
        var l = Lockout()
        for _ in 0..<20 { l.fail(at: 100, baseSeconds: 1) }
        #expect(l.lockedUntil == Int64(1_001))  // 100 + 1 + 900
        // Waiting 15 quiet minutes after the lock: still at the longest lock.
        l.fail(at: 1_001 + 901, baseSeconds: 1)
        #expect(l.failedAttempts == 21 && l.lockedUntil == 1_902 + 901)
        // An attacker who guesses whenever the lock allows, for a day, counting every guess
        // whose result would be revealed (the lock has expired).
        var a = Lockout()
        var t: Int64 = 0
        var revealed = 0
        while t < 86_400 {
            if !a.isLocked(at: t) {
                revealed += 1
                a.fail(at: t, baseSeconds: 1)
            }
            t = max(t + 1, a.lockedUntil ?? t + 1)
        }
        #expect(revealed <= 120, "\(revealed) guesses in a day")
        // A quiet day forgets even the longest lock.
        a.fail(at: t + 86_400 + 901, baseSeconds: 1)
        #expect(a.failedAttempts == 1)
        // Extreme times do not trap.
        var extreme = Lockout(failedAttempts: 30, lockedUntil: .max, lastFailureAt: .min)
        extreme.fail(at: .max, baseSeconds: .max)
        extreme.fail(at: .min, baseSeconds: .min)
    }

    @Test("an SRP challenge is answered once: a replayed PASSWORD_VERIFIER counts nothing; its mark is dropped after its life")
    func challengeSingleUse() throws {
        let shard = try Shard()
        try shard.apply(.createUser(Self.user, canonical: "alice"))
        let block = SignInStateMachine.challengeId([1, 2, 3])
        #expect(try Self.attempt(shard, ok: true, now: 1_000, challenge: block) == .accepted)
        #expect(try Self.attempt(shard, ok: true, now: 1_001, challenge: block) == .replayed)
        // For a name no user has too, and a wrong answer is counted only the first time.
        let other = SignInStateMachine.challengeId([4])
        #expect(try Self.attempt(shard, ok: false, now: 1_000, name: "ghost", challenge: other) == .refused)
        for _ in 0..<10 {
            #expect(try Self.attempt(shard, ok: false, now: 1_000, name: "ghost", challenge: other) == .replayed)
        }
        #expect(try Self.attempt(shard, ok: true, now: 1_002) == .accepted)
        // A later answered challenge drops the marks whose blocks can no longer open.
        _ = try Self.attempt(shard, ok: true, now: 1_000 + 301, challenge: SignInStateMachine.challengeId([9]))
        let left = try shard.env.read { txn in
            try txn.get(ShardKeys.key(1, UserPoolKeys.usedChallenge(Self.pool.id, block)), in: shard.tables.data)
        }
        #expect(left == nil)
        #expect(throws: (any Error).self) { try Self.attempt(shard, ok: true, now: .max, challenge: SignInStateMachine.challengeId([7])) }
        #expect(throws: (any Error).self) { try Self.attempt(shard, ok: true, now: 5, challenge: [1, 2]) }
    }

    @Test("a right password checked against a verifier that has changed since is refused")
    func staleVerifierRefused() throws {
        let shard = try Shard()
        try shard.apply(.createUser(Self.user, canonical: "alice"))
        #expect(try Self.attempt(shard, ok: true, digest: Array(repeating: 1, count: 32), now: 5) == .refused)
    }

    @Test("a name no user has locks the same way, and is forgotten after it has been quiet")
    func phantomLocks() throws {
        let shard = try Shard()
        for _ in 0..<5 { #expect(try Self.attempt(shard, ok: false, now: 1_000, name: "ghost") == .refused) }
        #expect(try Self.attempt(shard, ok: true, now: 1_000, name: "ghost") == .lockedOut)
        // Much later, another unknown name's attempt prunes the quiet one.
        #expect(try Self.attempt(shard, ok: false, now: 1_000 + 90_000, name: "other") == .refused)
        let left = try shard.env.read { txn in try txn.get(ShardKeys.key(1, UserPoolKeys.phantom(Self.pool.id, "ghost")), in: shard.tables.data) }
        #expect(left == nil)
    }

    @Test("what the node keeps of a write is a reference, never the record or its verifier; a retry reads it again")
    func retainedIsSmall() throws {
        let shard = try Shard()
        let created = try shard.applied(.createUser(Self.user, canonical: "alice"))
        let verifierText = Base64.encode(Self.user.verifier!.verifier)
        #expect(!String(decoding: created.reply, as: UTF8.self).contains(verifierText))
        #expect(!String(decoding: created.retained, as: UTF8.self).contains(verifierText))
        #expect(created.retained.count < 200)
        guard case .user(let again?) = try shard.retry(created.retained) else { Issue.record("no user on retry"); return }
        #expect(again.username == "Alice" && again.verifier == nil)
        let failed = try shard.applied(.signInAttempt(poolId: Self.pool.id, canonical: "alice", passwordOK: false,
                                                     verifierDigest: [], now: 9, lockoutBaseSeconds: 1))
        #expect(failed.retained.count < 200)
        guard case .attempt(.refused, nil) = try shard.retry(failed.retained) else { Issue.record("retry of an attempt"); return }
    }

    @Test("a malformed or untagged command throws, for the node to reject; keys of any input have a bounded length")
    func malformedAndLongInput() throws {
        let shard = try Shard()
        #expect(throws: (any Error).self) { try shard.applyBytes(Array("{\"nonsense\":1}".utf8)) }
        #expect(throws: (any Error).self) { try shard.applyBytes([UserPoolCommand.tag] + Array("{".utf8)) }
        let rejection = UserPoolStateMachine().rejection(of: DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "")), command: [])
        guard case .error(let e) = try UserPoolReply.decode(rejection) else { Issue.record("rejection is not an error"); return }
        #expect(e.code == .invalidParameter)
        // 128 four-byte characters as a username, 2,048 as an alias value: fixed-length keys.
        var long = Self.user
        long.username = String(repeating: "😀", count: 128)
        try shard.apply(.createUser(long, canonical: long.username))
        #expect(UserPoolKeys.user(Self.pool.id, long.username).count == "u/\(Self.pool.id)/".utf8.count + 32)
        let value = String(repeating: "😀", count: 2_048)
        try shard.apply(.reserveAlias(poolId: Self.pool.id, attribute: "email", value: value, owner: "x", now: 1, staleBefore: 0, takeOver: nil))
        guard case .alias(let claim?) = try UserPoolReply.decode(try shard.read(.alias(poolId: Self.pool.id, attribute: "email", value: value)))
        else { Issue.record("no claim"); return }
        #expect(claim.value == value)
    }

    @Test("listings continue after the key of a name, and see keys whose hash starts with 0xff")
    func listingsSeeEveryKey() throws {
        let shard = try Shard()
        var names: [String] = []
        for i in 0..<600 {
            var u = Self.user
            u.username = "user\(i)"
            try shard.apply(.createUser(u, canonical: u.username))
            names.append(u.username)
        }
        var seen: [String] = []
        var after: String?
        while true {
            guard case .users(let batch) = try UserPoolReply.decode(try shard.read(.users(poolId: Self.pool.id, after: after, limit: 60)))
            else { Issue.record("not a listing"); return }
            seen += batch.map(\.username)
            guard batch.count == 60 else { break }
            after = batch.last!.username
        }
        #expect(seen.sorted() == names.sorted())
    }
}

@Suite("Token lifetimes and revocation")
struct TokenRulesTests {
    static func client(access: Int?, refresh: Int = 30, units: TokenValidityUnitsType? = nil) -> AppClient {
        var c = SignInFixtures.client()
        c.accessTokenValidity = access
        c.refreshTokenValidity = refresh
        c.tokenValidityUnits = units
        return c
    }

    @Test("Cognito's ranges, in the default units, without overflow")
    func ranges() {
        #expect(TokenRules.validate(Self.client(access: 1)) == nil)
        #expect(TokenRules.seconds(.access, of: Self.client(access: 1)) == 3_600)
        #expect(TokenRules.seconds(.access, of: Self.client(access: nil)) == 3_600)
        #expect(TokenRules.validate(Self.client(access: 25)) != nil)
        #expect(TokenRules.validate(Self.client(access: 4, units: TokenValidityUnitsType(accessToken: .minutes))) != nil)
        #expect(TokenRules.validate(Self.client(access: .max)) != nil)
        #expect(TokenRules.validate(Self.client(access: nil, refresh: 3_651)) != nil)
        #expect(TokenRules.validate(Self.client(access: 1, units: TokenValidityUnitsType(accessToken: .unrecognized("weeks")))) != nil)
        #expect(TokenRules.seconds(.access, of: Self.client(access: .max)) == 86_400)
    }

    @Test("a family begun before a sign-out or a disable is revoked; one begun after is not")
    func revocation() {
        var rng = SystemRandomNumberGenerator()
        var user = SignInFixtures.user()
        let early = timeOrderedUUIDString(milliseconds: 1_000, using: &rng)
        let late = timeOrderedUUIDString(milliseconds: 3_000, using: &rng)
        #expect(uuidMilliseconds(early) == 1_000)
        #expect(!TokenRules.isRevoked(originJti: early, user: user))
        user.signedOutAt = 2_000
        #expect(TokenRules.isRevoked(originJti: early, user: user))
        #expect(!TokenRules.isRevoked(originJti: late, user: user))
        #expect(TokenRules.isRevoked(originJti: "not-a-uuid", user: user))
        user.revokedOrigins = [late]
        #expect(TokenRules.isRevoked(originJti: late, user: user))
    }

    @Test("users may not write the verification flags; a changed email is unverified unless an admin says otherwise")
    func verificationFlags() {
        #expect(AttributeRules.checkWritable(["email_verified": "true"], client: nil, pool: nil)?.code == .notAuthorized)
        #expect(AttributeRules.checkWritable(["name": "x"], client: nil, pool: nil) == nil)
        var u = SignInFixtures.user()
        u.attributes = ["email": "a@x.io", "email_verified": "true"]
        var byUser = u
        AttributeRules.apply(["email": "b@x.io", "email_verified": "true"], to: &byUser, byAdmin: false)
        #expect(byUser.attributes == ["email": "b@x.io", "email_verified": "false"])
        var byAdmin = u
        AttributeRules.apply(["email": "c@x.io", "email_verified": "true"], to: &byAdmin, byAdmin: true)
        #expect(byAdmin.attributes == ["email": "c@x.io", "email_verified": "true"])
        var same = u
        AttributeRules.apply(["email": "a@x.io"], to: &same, byAdmin: false)
        #expect(same.attributes["email_verified"] == "true")
    }
}
