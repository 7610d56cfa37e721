import AuthCrypto
import CognitoModel
import Foundation
import Testing

@testable import UserPool

/// Fixtures for sign-in: a pool, a client, a user with a real verifier.
enum SignInFixtures {
    static let pool = Pool(
        id: "us-east-1_SignIn", name: "signin", createdAt: 1, modifiedAt: 1, policy: PasswordPolicy(),
        schema: SchemaRules.standardSchema, usernameAttributes: [], aliasAttributes: [], autoVerifiedAttributes: [],
        caseSensitive: false, mfaConfiguration: .off, deletionProtection: .inactive, allowAdminCreateUserOnly: false,
        tags: [:])

    static func client(hides: Bool = true, secret: String? = nil) -> AppClient {
        AppClient(
            id: "client1", poolId: pool.id, name: "app", secret: secret, explicitAuthFlows: [], readAttributes: nil,
            writeAttributes: nil, preventUserExistenceErrors: hides ? .enabled : .legacy, refreshTokenValidity: 30,
            accessTokenValidity: nil, idTokenValidity: nil, tokenValidityUnits: nil, createdAt: 1, modifiedAt: 1)
    }

    static let verifier = PasswordVerifier(salt: Array(0..<16), verifier: (0..<384).map { UInt8($0 % 251) },
                                           powers: Array(repeating: 7, count: 3 * 384))

    static func user(status: UserStatusType = .confirmed, enabled: Bool = true) -> User {
        User(poolId: pool.id, username: "alice", sub: "2c1e6a9e-0b7f-4f0e-9d55-8a1f3c7b6d42", attributes: [:],
             status: status, enabled: enabled, createdAt: 1, modifiedAt: 1, verifier: verifier,
             temporaryPasswordExpiresAt: status == .forceChangePassword ? 50 : nil, failedAttempts: 0, lockedUntil: nil,
             lastFailureAt: nil, version: 1)
    }

    static func machine(client: AppClient = client(), pool: Pool = pool, now: Int64 = 100) -> SignInStateMachine {
        SignInStateMachine(context: .init(pool: pool, client: client, now: now, lockoutBaseSeconds: 1, fakeKey: Array(repeating: 9, count: 32)))
    }
}

@Suite("Sign-in as a state machine")
struct SignInTests {
    typealias F = SignInFixtures

    /// The actions a password sign-in takes for `user` (nil: no such user) up to the record.
    static func passwordRun(_ user: User?) -> [String] {
        var m = F.machine()
        var steps: [String] = []
        var action = m.received(.initiate(.password("pw", admin: false), username: "Alice", secretHash: nil))
        steps.append("\(action)".components(separatedBy: "(").first!)
        action = m.received(.resolved(user, node: 0, boot: 0))
        guard case .reserve(let slotFor, nil) = action else { return steps + ["\(action)"] }
        steps.append("reserve \(slotFor)")
        action = m.received(.reserved(AttemptSlot(user: user?.withoutSecrets, verifierDigest: user?.verifier?.digest ?? [])))
        guard case .checkPassword(_, let verifier, _) = action else { return steps + ["\(action)"] }
        steps.append("checkPassword powers=\(verifier.powers.count) v=\(verifier.verifier.count) salt=\(verifier.salt.count)")
        action = m.received(.checked(passwordOK: false))
        guard case .record(let canonical, let ok, let digest) = action else { return steps + ["\(action)"] }
        steps.append("record \(canonical) \(ok) \(digest.count)")
        return steps
    }

    @Test("an unknown user takes the same steps, with a verifier of the same shape, as a known one")
    func unknownLooksKnown() {
        let known = Self.passwordRun(F.user())
        let unknown = Self.passwordRun(nil)
        #expect(known == unknown)
        #expect(known.count == 4)
    }

    @Test("without PreventUserExistenceErrors an unknown user is UserNotFoundException")
    func legacyRevealsUnknown() {
        var m = F.machine(client: F.client(hides: false))
        _ = m.received(.initiate(.password("pw", admin: false), username: "nobody", secretHash: nil))
        guard case .fail(let e) = m.received(.resolved(nil, node: 0, boot: 0)) else { Issue.record("expected a failure"); return }
        #expect(e.code == .userNotFound)
    }

    @Test("a fake user's verifier and USER_ID_FOR_SRP are the same on every attempt, and UUIDs where usernames are")
    func fakeUserIsStable() {
        let key = Array(repeating: UInt8(3), count: 32)
        let a = FakeUser.verifier(key: key, pool: "p", canonical: "bob")
        #expect(a == FakeUser.verifier(key: key, pool: "p", canonical: "bob"))
        #expect(a != FakeUser.verifier(key: key, pool: "p", canonical: "bob2"))
        #expect(a.salt.count == 16 && a.verifier.count == 384 && a.powers.count == 3 * 384)
        var emailPool = F.pool
        emailPool.usernameAttributes = [.email]
        let id = FakeUser.userIdForSrp(key: key, pool: emailPool, identifier: "Bob@Example.com")
        #expect(id == FakeUser.userIdForSrp(key: key, pool: emailPool, identifier: "bob@example.com"))
        #expect(id.count == 36 && Array(id)[14] == "4")
        #expect(FakeUser.userIdForSrp(key: key, pool: F.pool, identifier: "Bob") == "bob")
    }

    @Test("the verdict is the shard's: locked says nothing of the password, refused and accepted as recorded")
    func outcomesAreTheShards() {
        func finish(_ outcome: AttemptOutcome, _ user: User?) -> AuthAction {
            var m = F.machine()
            _ = m.received(.initiate(.password("pw", admin: false), username: "alice", secretHash: nil))
            _ = m.received(.resolved(F.user(), node: 0, boot: 0))
            // Failures to clear: a right password is written too.
            _ = m.received(.reserved(AttemptSlot(user: F.user().withoutSecrets, verifierDigest: F.verifier.digest, clear: false)))
            guard case .record(_, true, _) = m.received(.checked(passwordOK: true)) else { return .fail(PoolError(.internalError, "no record")) }
            return m.received(.recorded(outcome, user))
        }
        guard case .fail(let locked) = finish(.lockedOut, nil) else { Issue.record("locked"); return }
        #expect(locked.message == "Password attempts exceeded")
        guard case .fail(let refused) = finish(.refused, nil) else { Issue.record("refused"); return }
        #expect(refused.message == "Incorrect username or password.")
        guard case .issueTokens(let u, let at) = finish(.accepted, F.user()) else { Issue.record("tokens"); return }
        #expect(u.username == "alice" && at == 100)
    }

    @Test("a slot refused (locked, replayed) fails before any check; a right password with nothing to clear writes nothing")
    func slots() {
        for (refusal, message) in [(AttemptOutcome.lockedOut, "Password attempts exceeded"),
                                   (.replayed, "Invalid session for the user, session is expired.")] {
            var m = F.machine()
            _ = m.received(.initiate(.password("pw", admin: false), username: "alice", secretHash: nil))
            _ = m.received(.resolved(F.user(), node: 0, boot: 0))
            guard case .fail(let e) = m.received(.reserved(AttemptSlot(outcome: refusal))) else { Issue.record("\(refusal)"); return }
            #expect(e.message == message)
        }
        // Nothing to clear: tokens straight after the check.
        var m = F.machine()
        _ = m.received(.initiate(.password("pw", admin: false), username: "alice", secretHash: nil))
        _ = m.received(.resolved(F.user(), node: 0, boot: 0))
        _ = m.received(.reserved(AttemptSlot(user: F.user().withoutSecrets, verifierDigest: F.verifier.digest)))
        guard case .issueTokens(let u, _) = m.received(.checked(passwordOK: true)) else { Issue.record("no tokens"); return }
        #expect(u.username == "alice")
        // The verifier changed since it was read: the shard decides (a failure, counted).
        var changed = F.machine()
        _ = changed.received(.initiate(.password("pw", admin: false), username: "alice", secretHash: nil))
        _ = changed.received(.resolved(F.user(), node: 0, boot: 0))
        _ = changed.received(.reserved(AttemptSlot(user: F.user().withoutSecrets, verifierDigest: [1, 2, 3])))
        guard case .record(_, true, let digest) = changed.received(.checked(passwordOK: true)) else { Issue.record("no record"); return }
        #expect(digest == F.verifier.digest)
        // A name no user has: a "right" password is still a failure to write.
        var unknown = F.machine()
        _ = unknown.received(.initiate(.password("pw", admin: false), username: "nobody", secretHash: nil))
        _ = unknown.received(.resolved(nil, node: 0, boot: 0))
        _ = unknown.received(.reserved(AttemptSlot()))
        guard case .record = unknown.received(.checked(passwordOK: true)) else { Issue.record("no record for nobody"); return }
    }

    @Test("SRP's second step takes its slot naming the challenge's id and the node (and its run) that read the user")
    func claimSlot() {
        let state = SRPChallengeState(pool: F.pool.id, client: "client1", identifier: "alice", canonical: "alice",
                                      userIdForSrp: "alice", b: [1], B: [2], clientA: "abcd", verifier: F.verifier, issuedAt: 100,
                                      node: 3, boot: 42)
        var m = F.machine()
        let block: [UInt8] = [9, 8, 7]
        guard case .reserve(let canonical, let challenge?) = m.received(
            .claim(state, block: block, username: "alice", secretHash: nil, signature: "x", timestamp: CognitoTimestamp.format(100)))
        else { Issue.record("no reserve"); return }
        #expect(canonical == "alice" && challenge.node == 3 && challenge.boot == 42 && challenge.id == SignInStateMachine.challengeId(block))
        guard case .checkClaim = m.received(.reserved(AttemptSlot(user: F.user().withoutSecrets, verifierDigest: F.verifier.digest)))
        else { Issue.record("no check"); return }
    }

    @Test("after a right password: disabled, unconfirmed, reset-required and expired temporary passwords are refused")
    func statusChecks() {
        func finish(_ user: User, now: Int64 = 100) -> AuthAction {
            var m = F.machine(now: now)
            _ = m.received(.initiate(.password("pw", admin: false), username: "alice", secretHash: nil))
            _ = m.received(.resolved(user, node: 0, boot: 0))
            _ = m.received(.reserved(AttemptSlot(user: user.withoutSecrets, verifierDigest: F.verifier.digest)))
            return m.received(.checked(passwordOK: true))
        }
        guard case .fail(let disabled) = finish(F.user(enabled: false)) else { Issue.record("disabled"); return }
        #expect(disabled.message == "User is disabled.")
        guard case .fail(let unconfirmed) = finish(F.user(status: .unconfirmed)) else { Issue.record("unconfirmed"); return }
        #expect(unconfirmed.code == .userNotConfirmed)
        guard case .fail(let reset) = finish(F.user(status: .resetRequired)) else { Issue.record("reset"); return }
        #expect(reset.code == .passwordResetRequired)
        guard case .newPasswordRequired = finish(F.user(status: .forceChangePassword), now: 40) else { Issue.record("new"); return }
        guard case .fail(let expired) = finish(F.user(status: .forceChangePassword), now: 60) else { Issue.record("expired"); return }
        #expect(expired.message.contains("Temporary password has expired"))
    }

    @Test("a client with a secret needs SECRET_HASH at InitiateAuth and at the challenge response")
    func secretHashEveryStep() {
        let client = F.client(secret: "s3cret")
        var m = F.machine(client: client)
        guard case .fail(let e) = m.received(.initiate(.srp(clientA: "abcd"), username: "alice", secretHash: nil)) else {
            Issue.record("no secret hash accepted")
            return
        }
        #expect(e.code == .notAuthorized)
        let good = SecretHash.compute(clientSecret: "s3cret", username: "alice", clientId: client.id)
        var ok = F.machine(client: client)
        guard case .resolve = ok.received(.initiate(.srp(clientA: "abcd"), username: "alice", secretHash: good)) else {
            Issue.record("a right secret hash refused")
            return
        }
        let state = SRPChallengeState(pool: F.pool.id, client: client.id, identifier: "alice", canonical: "alice",
                                      userIdForSrp: "alice", b: [1], B: [2], clientA: "abcd", verifier: F.verifier, issuedAt: 100,
                                      node: 1, boot: 1)
        var step2 = F.machine(client: client)
        let stamp = CognitoTimestamp.format(100)
        guard case .fail(let missing) = step2.received(.claim(state, block: [1, 2, 3], username: "alice", secretHash: nil, signature: "x", timestamp: stamp))
        else { Issue.record("step 2 without secret hash accepted"); return }
        #expect(missing.code == .notAuthorized)
        var step2ok = F.machine(client: client)
        guard case .reserve = step2ok.received(.claim(state, block: [1, 2, 3], username: "alice", secretHash: good, signature: "x", timestamp: stamp))
        else { Issue.record("step 2 with secret hash refused"); return }
    }

    @Test("a challenge response for another pool, client or user, or out of time, is refused before any crypto")
    func claimChecks() {
        let state = SRPChallengeState(pool: F.pool.id, client: "client1", identifier: "alice", canonical: "alice",
                                      userIdForSrp: "alice", b: [1], B: [2], clientA: "abcd", verifier: F.verifier, issuedAt: 100,
                                      node: 1, boot: 1)
        var other = state
        other.client = "client2"
        var m1 = F.machine()
        guard case .fail = m1.received(.claim(other, block: [1, 2, 3], username: "alice", secretHash: nil, signature: "x", timestamp: CognitoTimestamp.format(100)))
        else { Issue.record("another client's state accepted"); return }
        var m2 = F.machine()
        guard case .fail = m2.received(.claim(state, block: [1, 2, 3], username: "mallory", secretHash: nil, signature: "x", timestamp: CognitoTimestamp.format(100)))
        else { Issue.record("another user accepted"); return }
        var m3 = F.machine()
        guard case .fail = m3.received(.claim(state, block: [1, 2, 3], username: "alice", secretHash: nil, signature: "x", timestamp: CognitoTimestamp.format(100 + 301)))
        else { Issue.record("a stale timestamp accepted"); return }
        var m4 = F.machine()
        _ = m4.received(.claim(state, block: [1, 2, 3], username: "alice", secretHash: nil, signature: "x", timestamp: CognitoTimestamp.format(100)))
        guard case .fail(let e) = m4.received(.resolved(nil, node: 0, boot: 0)) else { Issue.record("an event out of order accepted"); return }
        #expect(e.code == .internalError)
    }

    @Test("the sealed SRP state survives its encoding and refuses anything else")
    func challengeStateCodec() {
        let state = SRPChallengeState(pool: "p", client: "c", identifier: "Ünïcode", canonical: "ünïcode", userIdForSrp: "u",
                                      b: Array(0..<32), B: Array(repeating: 5, count: 384), clientA: "ab", verifier: F.verifier,
                                      issuedAt: -7, node: .max, boot: 1)
        #expect(SRPChallengeState(decoding: state.encoded) == state)
        #expect(SRPChallengeState(decoding: Array(state.encoded.dropLast())) == nil)
        #expect(SRPChallengeState(decoding: state.encoded + [0]) == nil)
        #expect(SRPChallengeState(decoding: [1] + state.encoded.dropFirst()) == nil)
        #expect(SRPChallengeState(decoding: []) == nil)
    }
}
