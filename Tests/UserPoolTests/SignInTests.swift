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
            id: "client1", poolId: pool.id, name: "app", secret: secret,
            explicitAuthFlows: [.allowUserPasswordAuth, .allowUserSrpAuth, .allowRefreshTokenAuth], readAttributes: nil,
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

    /// USER_PASSWORD_AUTH for `username` with the password "pw".
    static func password(_ username: String) -> AuthEvent {
        .initiate(.userPasswordAuth, parameters: ["USERNAME": username, "PASSWORD": "pw"], admin: false)
    }

    static func srp(_ username: String, secretHash: String?) -> AuthEvent {
        var parameters = ["USERNAME": username, "SRP_A": "abcd"]
        parameters["SECRET_HASH"] = secretHash
        return .initiate(.userSrpAuth, parameters: parameters, admin: false)
    }

    /// PASSWORD_VERIFIER answered: the machine asks for the SECRET_BLOCK opened, and gets
    /// `state` back in the box `block`.
    static func claim(
        _ m: inout SignInStateMachine, _ state: SRPChallengeState, block: [UInt8], username: String,
        secretHash: String?, timestamp: String
    ) -> AuthAction {
        var responses = ["USERNAME": username, "PASSWORD_CLAIM_SIGNATURE": "x", "TIMESTAMP": timestamp,
                         "PASSWORD_CLAIM_SECRET_BLOCK": "sealed"]
        responses["SECRET_HASH"] = secretHash
        guard case .open("sealed", .srpChallenge) = m.received(.respond(.passwordVerifier, responses: responses, session: nil))
        else { return .fail(PoolError(.internalError, "no open")) }
        return m.received(.opened(state.encoded, box: block))
    }
}

@Suite("Sign-in as a state machine")
struct SignInTests {
    typealias F = SignInFixtures

    /// The actions a password sign-in takes for `user` (nil: no such user) up to the record.
    static func passwordRun(_ user: User?) -> [String] {
        var m = F.machine()
        var steps: [String] = []
        var action = m.received(F.password("Alice"))
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

    @Test("a flow the client does not allow, or no flow of the operation, is refused before any read")
    func flowsChecked() {
        var srpOnly = F.client()
        srpOnly.explicitAuthFlows = [.allowUserSrpAuth]
        var m = F.machine(client: srpOnly)
        guard case .fail(let e1) = m.received(F.password("alice")) else { Issue.record("a flow not allowed"); return }
        #expect(e1.message == "USER_PASSWORD_AUTH flow not enabled for this client")
        var admin = F.machine()
        guard case .fail(let e2) = admin.received(.initiate(.adminUserPasswordAuth, parameters: [:], admin: false)) else {
            Issue.record("an admin flow in InitiateAuth")
            return
        }
        #expect(e2.code == .invalidParameter)
        var custom = F.machine()
        guard case .fail(let e3) = custom.received(.initiate(.customAuth, parameters: [:], admin: false)) else {
            Issue.record("CUSTOM_AUTH")
            return
        }
        #expect(e3.code == .unsupportedOperation)
    }

    @Test("without PreventUserExistenceErrors an unknown user is UserNotFoundException")
    func legacyRevealsUnknown() {
        var m = F.machine(client: F.client(hides: false))
        _ = m.received(F.password("nobody"))
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
            _ = m.received(F.password("alice"))
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
        guard case .issueTokens(let u, let at, nil) = finish(.accepted, F.user()) else { Issue.record("tokens"); return }
        #expect(u.username == "alice" && at == 100)
        var m = F.machine()
        _ = m.received(F.password("alice"))
        _ = m.received(.resolved(F.user(), node: 1, boot: 1))
        _ = m.received(.reserved(AttemptSlot(user: F.user().withoutSecrets, verifierDigest: F.verifier.digest)))
        guard case .issueTokens = m.received(.checked(passwordOK: true)) else { Issue.record("no tokens"); return }
        #expect(m.amr == ["pwd"])
    }

    @Test("a slot refused (locked, replayed) fails before any check; a right password with nothing to clear writes nothing")
    func slots() {
        for (refusal, message) in [(AttemptOutcome.lockedOut, "Password attempts exceeded"),
                                   (.replayed, "Invalid session for the user, session is expired.")] {
            var m = F.machine()
            _ = m.received(F.password("alice"))
            _ = m.received(.resolved(F.user(), node: 0, boot: 0))
            guard case .fail(let e) = m.received(.reserved(AttemptSlot(outcome: refusal))) else { Issue.record("\(refusal)"); return }
            #expect(e.message == message)
        }
        // Nothing to clear: tokens straight after the check.
        var m = F.machine()
        _ = m.received(F.password("alice"))
        _ = m.received(.resolved(F.user(), node: 0, boot: 0))
        _ = m.received(.reserved(AttemptSlot(user: F.user().withoutSecrets, verifierDigest: F.verifier.digest)))
        guard case .issueTokens(let u, _, nil) = m.received(.checked(passwordOK: true)) else { Issue.record("no tokens"); return }
        #expect(u.username == "alice")
        // The verifier changed since it was read: the shard decides (a failure, counted).
        var changed = F.machine()
        _ = changed.received(F.password("alice"))
        _ = changed.received(.resolved(F.user(), node: 0, boot: 0))
        _ = changed.received(.reserved(AttemptSlot(user: F.user().withoutSecrets, verifierDigest: [1, 2, 3])))
        guard case .record(_, true, let digest) = changed.received(.checked(passwordOK: true)) else { Issue.record("no record"); return }
        #expect(digest == F.verifier.digest)
        // A name no user has: a "right" password is still a failure to write.
        var unknown = F.machine()
        _ = unknown.received(F.password("nobody"))
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
        guard case .reserve(let canonical, let challenge?) = F.claim(&m, state, block: block, username: "alice", secretHash: nil, timestamp: CognitoTimestamp.format(100))
        else { Issue.record("no reserve"); return }
        #expect(canonical == "alice" && challenge.node == 3 && challenge.boot == 42 && challenge.id == SignInStateMachine.challengeId(block))
        guard case .checkClaim = m.received(.reserved(AttemptSlot(user: F.user().withoutSecrets, verifierDigest: F.verifier.digest)))
        else { Issue.record("no check"); return }
    }

    @Test("after a right password: disabled, unconfirmed, reset-required and expired temporary passwords are refused")
    func statusChecks() {
        func finish(_ user: User, now: Int64 = 100) -> AuthAction {
            var m = F.machine(now: now)
            _ = m.received(F.password("alice"))
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
        guard case .askNewPassword = finish(F.user(status: .forceChangePassword), now: 40) else { Issue.record("new"); return }
        guard case .fail(let expired) = finish(F.user(status: .forceChangePassword), now: 60) else { Issue.record("expired"); return }
        #expect(expired.message.contains("Temporary password has expired"))
    }

    @Test("a client with a secret needs SECRET_HASH at InitiateAuth and at the challenge response")
    func secretHashEveryStep() {
        let client = F.client(secret: "s3cret")
        var m = F.machine(client: client)
        guard case .fail(let e) = m.received(F.srp("alice", secretHash: nil)) else {
            Issue.record("no secret hash accepted")
            return
        }
        #expect(e.code == .notAuthorized)
        let good = SecretHash.compute(clientSecret: "s3cret", username: "alice", clientId: client.id)
        var ok = F.machine(client: client)
        guard case .resolve = ok.received(F.srp("alice", secretHash: good)) else {
            Issue.record("a right secret hash refused")
            return
        }
        let state = SRPChallengeState(pool: F.pool.id, client: client.id, identifier: "alice", canonical: "alice",
                                      userIdForSrp: "alice", b: [1], B: [2], clientA: "abcd", verifier: F.verifier, issuedAt: 100,
                                      node: 1, boot: 1)
        var step2 = F.machine(client: client)
        let stamp = CognitoTimestamp.format(100)
        guard case .fail(let missing) = F.claim(&step2, state, block: [1, 2, 3], username: "alice", secretHash: nil, timestamp: stamp)
        else { Issue.record("step 2 without secret hash accepted"); return }
        #expect(missing.code == .notAuthorized)
        var step2ok = F.machine(client: client)
        guard case .reserve = F.claim(&step2ok, state, block: [1, 2, 3], username: "alice", secretHash: good, timestamp: stamp)
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
        guard case .fail = F.claim(&m1, other, block: [1, 2, 3], username: "alice", secretHash: nil, timestamp: CognitoTimestamp.format(100))
        else { Issue.record("another client's state accepted"); return }
        var m2 = F.machine()
        guard case .fail = F.claim(&m2, state, block: [1, 2, 3], username: "mallory", secretHash: nil, timestamp: CognitoTimestamp.format(100))
        else { Issue.record("another user accepted"); return }
        var m3 = F.machine()
        guard case .fail = F.claim(&m3, state, block: [1, 2, 3], username: "alice", secretHash: nil, timestamp: CognitoTimestamp.format(100 + 301))
        else { Issue.record("a stale timestamp accepted"); return }
        var m4 = F.machine()
        _ = F.claim(&m4, state, block: [1, 2, 3], username: "alice", secretHash: nil, timestamp: CognitoTimestamp.format(100))
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

    // MARK: NEW_PASSWORD_REQUIRED, refresh, ChangePassword

    static let newPassword = "N3w!passw0rd"

    /// NEW_PASSWORD_REQUIRED answered with `responses`, the Session opening to `session`.
    static func respondNewPassword(
        _ responses: [String: String], session: SignInSession?, client: AppClient = F.client()
    ) -> (SignInStateMachine, AuthAction) {
        var m = F.machine(client: client, now: 50)
        guard case .open("s", .session) = m.received(.respond(.newPasswordRequired, responses: responses, session: "s"))
        else { return (m, .fail(PoolError(.internalError, "no open"))) }
        let action = m.received(.opened(session?.encoded, box: []))
        return (m, action)
    }

    @Test("a temporary password leads to NEW_PASSWORD_REQUIRED with a typed session naming the user and the name given")
    func newPasswordChallenge() {
        let temporary = F.user(status: .forceChangePassword)
        var m = F.machine(now: 40)
        _ = m.received(F.password("Alice"))
        _ = m.received(.resolved(temporary, node: 0, boot: 0))
        _ = m.received(.reserved(AttemptSlot(user: temporary.withoutSecrets, verifierDigest: F.verifier.digest)))
        guard case .askNewPassword(let session, _) = m.received(.checked(passwordOK: true)) else {
            Issue.record("no NEW_PASSWORD_REQUIRED")
            return
        }
        #expect(session.challenge == .newPasswordRequired && session.username == "alice")
        #expect(session.identifier == "Alice" && session.issuedAt == 40 && session.client == "client1")
        #expect(SignInSession(decoding: session.encoded) == session)
        // Another kind of sealed state is not a session, nor is a truncated one.
        #expect(SignInSession(decoding: Array(session.encoded.dropLast())) == nil)
        let srp = SRPChallengeState(pool: "p", client: "c", identifier: "a", canonical: "a", userIdForSrp: "a", b: [], B: [],
                                    clientA: "ab", verifier: F.verifier, issuedAt: 1, node: 1, boot: 1)
        #expect(SignInSession(decoding: srp.encoded) == nil)
        #expect(SRPChallengeState(decoding: session.encoded) == nil)
    }

    @Test("NEW_PASSWORD_REQUIRED: session, name, policy and attributes checked first; then the user read whole, its history, the write, tokens")
    func newPasswordSteps() {
        let session = SignInSession(challenge: .newPasswordRequired, pool: F.pool.id, client: "client1", username: "alice",
                                    identifier: "Alice@example.com", issuedAt: 40)
        let good = ["USERNAME": "alice", "NEW_PASSWORD": Self.newPassword, "userAttributes.name": "Al"]
        // Refusals before any read.
        guard case .fail(let expired) = Self.respondNewPassword(good, session: nil).1 else { Issue.record("no session accepted"); return }
        #expect(expired.message == "Invalid session for the user, session is expired.")
        var otherClient = session
        otherClient.client = "client2"
        guard case .fail(let e1) = Self.respondNewPassword(good, session: otherClient).1 else { Issue.record("another client's session"); return }
        #expect(e1.code == .notAuthorized)
        var mallory = good
        mallory["USERNAME"] = "mallory"
        guard case .fail(let e2) = Self.respondNewPassword(mallory, session: session).1 else { Issue.record("another user"); return }
        #expect(e2.code == .notAuthorized)
        var weak = good
        weak["NEW_PASSWORD"] = "short"
        guard case .fail(let e3) = Self.respondNewPassword(weak, session: session).1 else { Issue.record("a weak password"); return }
        #expect(e3.code == .invalidPassword)
        var missing = good
        missing["NEW_PASSWORD"] = nil
        guard case .fail(let e4) = Self.respondNewPassword(missing, session: session).1 else { Issue.record("no password"); return }
        #expect(e4.code == .invalidParameter)
        // The name given at sign-in (an alias) is as good as the username.
        var byAlias = good
        byAlias["USERNAME"] = "alice@example.com"
        guard case .readUser("alice") = Self.respondNewPassword(byAlias, session: session).1 else { Issue.record("alias refused"); return }
        // The whole way.
        var (m, action) = Self.respondNewPassword(good, session: session)
        guard case .readUser("alice") = action else { Issue.record("no read: \(action)"); return }
        let user = F.user(status: .forceChangePassword)
        guard case .checkHistory(let password, _) = m.received(.userRead(user)), password == Self.newPassword else {
            Issue.record("no history check")
            return
        }
        guard case .setPassword(_, .completeNew(let set, let attributes)) = m.received(.historyChecked(reused: false)) else {
            Issue.record("no write")
            return
        }
        #expect(set == Self.newPassword && attributes == ["name": "Al"])
        guard case .issueTokens(let u, let at, nil) = m.received(.passwordSet(user)) else { Issue.record("no tokens"); return }
        #expect(u.username == "alice" && at == 50)
        // A password the history keeps the user from, or a user gone: refused.
        var (reusing, _) = Self.respondNewPassword(good, session: session)
        _ = reusing.received(.userRead(user))
        guard case .fail(let reused) = reusing.received(.historyChecked(reused: true)) else { Issue.record("reuse"); return }
        #expect(reused.code == .passwordHistoryPolicyViolation)
        var (gone, _) = Self.respondNewPassword(good, session: session)
        guard case .fail(let e5) = gone.received(.userRead(nil)) else { Issue.record("a user gone"); return }
        #expect(e5.code == .notAuthorized)
    }

    @Test("a refresh: the token's pool and client, SECRET_HASH, the same user, not revoked, enabled; the family kept")
    func refreshSteps() {
        let token = RefreshTokenState(pool: F.pool.id, client: "client1", username: "alice", sub: F.user().sub, authTime: 7,
                                      origin: "o1")
        func refresh(_ token: RefreshTokenState?, client: AppClient = F.client(), secretHash: String? = nil) -> (SignInStateMachine, AuthAction) {
            var m = F.machine(client: client)
            var parameters = ["REFRESH_TOKEN": "t"]
            parameters["SECRET_HASH"] = secretHash
            guard case .open("t", .refreshToken) = m.received(.initiate(.refreshTokenAuth, parameters: parameters, admin: false))
            else { return (m, .fail(PoolError(.internalError, "no open"))) }
            let action = m.received(.opened(token?.encoded, box: []))
            return (m, action)
        }
        var (m, action) = refresh(token)
        guard case .readUser("alice") = action else { Issue.record("no read"); return }
        guard case .issueTokens(_, 7, "o1") = m.received(.userRead(F.user())) else { Issue.record("no tokens"); return }
        guard case .fail(let bad) = refresh(nil).1 else { Issue.record("a bad token"); return }
        #expect(bad.message == "Invalid Refresh Token")
        var other = token
        other.client = "client2"
        guard case .fail = refresh(other).1 else { Issue.record("another client's token"); return }
        var changed = F.user()
        changed.sub = "another"
        var (m2, _) = refresh(token)
        guard case .fail(let e1) = m2.received(.userRead(changed)) else { Issue.record("another sub"); return }
        #expect(e1.message == "Invalid Refresh Token")
        var revoked = F.user()
        revoked.revokedOrigins = ["o1"]
        var (m3, _) = refresh(token)
        guard case .fail(let e2) = m3.received(.userRead(revoked)) else { Issue.record("revoked"); return }
        #expect(e2.message == "Refresh Token has been revoked")
        var (m4, _) = refresh(token)
        guard case .fail(let e3) = m4.received(.userRead(F.user(enabled: false))) else { Issue.record("disabled"); return }
        #expect(e3.message == "User is disabled.")
        // A client with a secret: SECRET_HASH over the token's user, unless the secret itself was checked.
        let secretClient = F.client(secret: "s3cret")
        guard case .fail(let e4) = refresh(token, client: secretClient).1 else { Issue.record("no SECRET_HASH"); return }
        #expect(e4.code == .notAuthorized)
        let hash = SecretHash.compute(clientSecret: "s3cret", username: "alice", clientId: secretClient.id)
        guard case .readUser = refresh(token, client: secretClient, secretHash: hash).1 else { Issue.record("good SECRET_HASH"); return }
        var byToken = F.machine(client: secretClient)
        _ = byToken.received(.refresh(token: "t"))
        guard case .readUser = byToken.received(.opened(token.encoded, box: [])) else { Issue.record("GetTokensFromRefreshToken"); return }
        var noToken = F.machine()
        guard case .fail(let e5) = noToken.received(.initiate(.refreshTokenAuth, parameters: [:], admin: false)) else {
            Issue.record("no REFRESH_TOKEN")
            return
        }
        #expect(e5.code == .invalidParameter)
    }

    @Test("refresh tokens sealed in the earlier form still open")
    func legacyRefreshToken() {
        var bytes: [UInt8] = [2]
        for field in ["us-east-1_SignIn", "client1", "alice", "sub-1", "77", "o9"] {
            let utf8 = Array(field.utf8)
            bytes += [0, 0, 0, UInt8(utf8.count)] + utf8
        }
        #expect(RefreshTokenState(decoding: bytes) == RefreshTokenState(pool: "us-east-1_SignIn", client: "client1",
                                                                         username: "alice", sub: "sub-1", authTime: 77, origin: "o9"))
        #expect(RefreshTokenState(decoding: Array(bytes.dropLast())) == nil)
        #expect(RefreshTokenState(decoding: bytes + [0, 0, 0, 0]) == nil)
    }

    @Test("ChangePassword: the new password's policy first, the previous one checked under a slot, then history and the write")
    func changePasswordSteps() {
        let user = F.user()
        var weak = F.machine()
        guard case .fail(let e1) = weak.received(.changePassword(user, previous: "pw", proposed: "short")) else { Issue.record("weak"); return }
        #expect(e1.code == .invalidPassword)
        var noPrevious = F.machine()
        guard case .fail(let e2) = noPrevious.received(.changePassword(user, previous: nil, proposed: Self.newPassword)) else {
            Issue.record("no previous")
            return
        }
        #expect(e2.code == .invalidParameter)
        // Right, nothing to clear: no attempt written.
        var m = F.machine()
        guard case .reserve("alice", nil) = m.received(.changePassword(user, previous: "pw", proposed: Self.newPassword)) else {
            Issue.record("no slot")
            return
        }
        guard case .checkPassword("pw", _, "alice") = m.received(.reserved(AttemptSlot(user: user.withoutSecrets, verifierDigest: F.verifier.digest)))
        else { Issue.record("no check"); return }
        guard case .readUser("alice") = m.received(.checked(passwordOK: true)) else { Issue.record("no read"); return }
        guard case .checkHistory(Self.newPassword, _) = m.received(.userRead(user)) else { Issue.record("no history"); return }
        guard case .setPassword(_, .change(Self.newPassword)) = m.received(.historyChecked(reused: false)) else { Issue.record("no write"); return }
        guard case .finished = m.received(.passwordSet(user)) else { Issue.record("not finished"); return }
        // Wrong: the failure is written before the verdict.
        var wrong = F.machine()
        _ = wrong.received(.changePassword(user, previous: "nope", proposed: Self.newPassword))
        _ = wrong.received(.reserved(AttemptSlot(user: user.withoutSecrets, verifierDigest: F.verifier.digest)))
        guard case .record("alice", false, _) = wrong.received(.checked(passwordOK: false)) else { Issue.record("no record"); return }
        guard case .fail(let e3) = wrong.received(.recorded(.refused, nil)) else { Issue.record("refused"); return }
        #expect(e3.message == "Incorrect username or password.")
        // Locked: refused with no check at all.
        var locked = F.machine()
        _ = locked.received(.changePassword(user, previous: "pw", proposed: Self.newPassword))
        guard case .fail(let e4) = locked.received(.reserved(AttemptSlot(outcome: .lockedOut))) else { Issue.record("locked"); return }
        #expect(e4.message == PoolError.lockedOutMessage)
    }

    // MARK: TOTP as a second factor

    static func totpPool(_ mode: UserPoolMfaType) -> Pool {
        var pool = F.pool
        pool.mfaConfiguration = mode
        pool.settings.softwareTokenMfa = SoftwareTokenMfaConfigType(enabled: true)
        return pool
    }

    static func totpUser(enabled: Bool = true) -> User {
        var user = F.user()
        var mfa = UserMfa()
        mfa.totpSecret = [1, 2, 3]
        mfa.totpVerified = true
        mfa.enabled = enabled ? [MfaRules.softwareToken] : []
        user.mfa = mfa
        return user
    }

    /// A password sign-in of `user` in `pool` up to what follows a right password.
    static func afterPassword(_ user: User, pool: Pool) -> AuthAction {
        var m = F.machine(pool: pool)
        _ = m.received(F.password("Alice"))
        _ = m.received(.resolved(user, node: 0, boot: 0))
        _ = m.received(.reserved(AttemptSlot(user: user.withoutSecrets, verifierDigest: F.verifier.digest)))
        return m.received(.checked(passwordOK: true))
    }

    @Test("which second factor a right password meets: OPTIONAL asks those who turned TOTP on, ON asks everyone")
    func secondFactor() {
        guard case .askChallenge(let session, _) = Self.afterPassword(Self.totpUser(), pool: Self.totpPool(.optional))
        else { Issue.record("no SOFTWARE_TOKEN_MFA"); return }
        #expect(session.challenge == .softwareTokenMfa && session.username == "alice" && session.identifier == "Alice")
        #expect(SignInSession(decoding: session.encoded) == session)
        guard case .issueTokens = Self.afterPassword(Self.totpUser(enabled: false), pool: Self.totpPool(.optional))
        else { Issue.record("OPTIONAL with TOTP off asked for it"); return }
        guard case .askChallenge = Self.afterPassword(Self.totpUser(enabled: false), pool: Self.totpPool(.on))
        else { Issue.record("ON did not ask for the verified authenticator"); return }
        // ON with no factor: MFA_SETUP, never tokens.
        guard case .askChallenge(let setup, let parameters) = Self.afterPassword(F.user(), pool: Self.totpPool(.on)) else {
            Issue.record("ON without a factor gave no MFA_SETUP")
            return
        }
        #expect(setup.challenge == .mfaSetup && !setup.factorVerified)
        #expect(parameters["MFAS_CAN_SETUP"] == "[\"SOFTWARE_TOKEN_MFA\"]")
        // Its session finishes the sign-in only once an authenticator was verified with it.
        func finish(_ session: SignInSession) -> (SignInStateMachine, AuthAction) {
            var m = F.machine(pool: Self.totpPool(.on))
            _ = m.received(.respond(.mfaSetup, responses: ["USERNAME": "alice"], session: "s"))
            let action = m.received(.opened(session.encoded, box: []))
            return (m, action)
        }
        guard case .fail(let early) = finish(setup).1 else { Issue.record("MFA_SETUP finished unverified"); return }
        #expect(early.code == .notAuthorized)
        var verified = setup
        verified.factorVerified = true
        #expect(SignInSession(decoding: verified.encoded) == verified)
        var (m, action) = finish(verified)
        guard case .readUser("alice") = action else { Issue.record("no read"); return }
        guard case .issueTokens = m.received(.userRead(Self.totpUser())) else { Issue.record("no tokens"); return }
        #expect(throws: PoolError.self) { try MfaRules.setupSession(verified) }
        // The pool no longer allows TOTP: OPTIONAL signs in on the password.
        var off = Self.totpPool(.optional)
        off.settings.softwareTokenMfa = SoftwareTokenMfaConfigType(enabled: false)
        guard case .issueTokens = Self.afterPassword(Self.totpUser(), pool: off) else { Issue.record("TOTP off in the pool"); return }
    }

    @Test("SOFTWARE_TOKEN_MFA: the session's user, a slot, the code's step written once, then tokens; a wrong code is a counted failure")
    func totpSteps() {
        let pool = Self.totpPool(.optional)
        var session = SignInSession(challenge: .softwareTokenMfa, pool: pool.id, client: "client1", username: "alice",
                                    identifier: "alice", issuedAt: 90)
        session.methods = ["pwd"]
        func respond(_ code: String?) -> (SignInStateMachine, AuthAction) {
            var m = F.machine(pool: pool)
            var responses = ["USERNAME": "alice"]
            responses["SOFTWARE_TOKEN_MFA_CODE"] = code
            _ = m.received(.respond(.softwareTokenMfa, responses: responses, session: "s"))
            let action = m.received(.opened(session.encoded, box: []))
            return (m, action)
        }
        guard case .fail(let missing) = respond(nil).1 else { Issue.record("no code"); return }
        #expect(missing.code == .invalidParameter)
        var (m, action) = respond("123456")
        guard case .readUser("alice") = action else { Issue.record("no read"); return }
        let user = Self.totpUser()
        guard case .reserve("alice", nil) = m.received(.userRead(user)) else { Issue.record("no slot"); return }
        guard case .checkTotp(_, "123456") = m.received(.reserved(AttemptSlot(user: user.withoutSecrets, verifierDigest: F.verifier.digest)))
        else { Issue.record("no check"); return }
        guard case .useTotpStep(_, 77) = m.received(.totpChecked(step: 77)) else { Issue.record("no step write"); return }
        guard case .issueTokens(_, 100, nil) = m.received(.stepUsed(user)) else { Issue.record("no tokens"); return }
        // The password, carried by the session, and the code: the ID token's amr.
        #expect(m.amr == ["pwd", "otp", "mfa"])
        #expect(SignInSession(decoding: session.encoded)?.methods == ["pwd"])
        // Wrong: a failure written, then CodeMismatchException.
        var (wrong, _) = respond("000000")
        _ = wrong.received(.userRead(user))
        _ = wrong.received(.reserved(AttemptSlot(user: user.withoutSecrets, verifierDigest: F.verifier.digest)))
        guard case .record("alice", false, _) = wrong.received(.totpChecked(step: nil)) else { Issue.record("no record"); return }
        guard case .fail(let mismatch) = wrong.received(.recorded(.refused, nil)) else { Issue.record("no refusal"); return }
        #expect(mismatch.code == .codeMismatch && mismatch.message == "Invalid code received for user")
        // Locked: refused with no check.
        var (locked, _) = respond("123456")
        _ = locked.received(.userRead(user))
        guard case .fail(let e) = locked.received(.reserved(AttemptSlot(outcome: .lockedOut))) else { Issue.record("locked"); return }
        #expect(e.message == PoolError.lockedOutMessage)
        // The authenticator deleted since: the session is no good.
        var (gone, _) = respond("123456")
        guard case .fail(let e2) = gone.received(.userRead(F.user())) else { Issue.record("no authenticator"); return }
        #expect(e2.code == .notAuthorized)
    }

    @Test("a TOTP step is written once: the write refuses a step not after the last used")
    func stepOnce() throws {
        var user = Self.totpUser()
        try MfaRules.useStep(&user, step: 10)
        #expect(user.mfa?.totpLastStep == 10)
        #expect(throws: PoolError.self) { try MfaRules.useStep(&user, step: 10) }
        #expect(throws: PoolError.self) { try MfaRules.useStep(&user, step: 9) }
        try MfaRules.useStep(&user, step: 11)
    }

    @Test("preferences: TOTP on needs a verified authenticator, preferred needs it on; SMS and email refused by name")
    func preferences() throws {
        var user = F.user()
        let on = SoftwareTokenMfaSettingsType(enabled: true, preferredMfa: true)
        #expect(throws: PoolError.self) {
            try MfaRules.setPreference(&user, softwareToken: on, sms: nil, email: nil, webAuthn: nil, pool: F.pool, now: 1)
        }
        user = Self.totpUser(enabled: false)
        try MfaRules.setPreference(&user, softwareToken: on, sms: nil, email: nil, webAuthn: nil, pool: F.pool, now: 1)
        #expect(MfaRules.settings(user).list == [MfaRules.softwareToken] && MfaRules.settings(user).preferred == MfaRules.softwareToken)
        try MfaRules.setPreference(&user, softwareToken: SoftwareTokenMfaSettingsType(enabled: false), sms: nil, email: nil,
                                   webAuthn: nil, pool: F.pool, now: 1)
        #expect(MfaRules.settings(user).list == nil && MfaRules.settings(user).preferred == nil)
        #expect(throws: PoolError.self) {
            try MfaRules.setPreference(&user, softwareToken: nil, sms: SMSMfaSettingsType(enabled: true), email: nil,
                                       webAuthn: nil, pool: F.pool, now: 1)
        }
        // The secrets stay out of replies, the flag that they exist does not.
        let stripped = Self.totpUser().withoutSecrets
        #expect(stripped.mfa?.totpSecret == nil && stripped.mfa?.totpVerified == true)
    }

    // MARK: Email codes, and a choice of factors

    static func bothPool(_ mode: UserPoolMfaType) -> Pool {
        var pool = totpPool(mode)
        pool.settings.emailMfa = EmailMfaConfigType()
        return pool
    }

    static func bothUser(enabled: [String], preferred: String? = nil) -> User {
        var user = totpUser()
        user.attributes["email"] = "alice@example.com"
        user.mfa?.enabled = enabled
        user.mfa?.preferred = preferred
        return user
    }

    @Test("two factors on and none preferred: SELECT_MFA_TYPE; preferred, or the only one the user has: that one")
    func factorChoice() {
        let both = [MfaRules.softwareToken, MfaRules.emailOtp]
        guard case .askChallenge(let select, let parameters) = Self.afterPassword(Self.bothUser(enabled: both), pool: Self.bothPool(.optional))
        else { Issue.record("no SELECT_MFA_TYPE"); return }
        #expect(select.challenge == .selectMfaType && parameters["MFAS_CAN_CHOOSE"] == "[\"SOFTWARE_TOKEN_MFA\",\"EMAIL_OTP\"]")
        guard case .sendSignInCode(_, let email) = Self.afterPassword(
            Self.bothUser(enabled: both, preferred: MfaRules.emailOtp), pool: Self.bothPool(.optional))
        else { Issue.record("the preferred factor was not asked"); return }
        #expect(email.challenge == .emailOtp)
        // MFA ON, nothing turned on, no authenticator: the email the user has.
        var emailOnly = F.user()
        emailOnly.attributes["email"] = "alice@example.com"
        guard case .sendSignInCode = Self.afterPassword(emailOnly, pool: Self.bothPool(.on)) else { Issue.record("ON with an email"); return }
        // The pool stopped sending codes by email: that factor is gone from the choice.
        guard case .askChallenge(let totpOnly, _) = Self.afterPassword(Self.bothUser(enabled: both), pool: Self.totpPool(.optional))
        else { Issue.record("no TOTP"); return }
        #expect(totpOnly.challenge == .softwareTokenMfa)
    }

    @Test("SELECT_MFA_TYPE's ANSWER must be one of the user's factors; EMAIL_OTP's code is checked on the record")
    func selectAndEmail() {
        let pool = Self.bothPool(.optional)
        let user = Self.bothUser(enabled: [MfaRules.softwareToken, MfaRules.emailOtp])
        func respond(_ name: ChallengeNameType, _ responses: [String: String]) -> (SignInStateMachine, AuthAction) {
            var m = F.machine(pool: pool)
            let session = SignInSession(challenge: name, pool: pool.id, client: "client1", username: "alice",
                                        identifier: "alice", issuedAt: 90)
            _ = m.received(.respond(name, responses: ["USERNAME": "alice"].merging(responses) { a, _ in a }, session: "s"))
            let action = m.received(.opened(session.encoded, box: []))
            return (m, action)
        }
        guard case .fail(let noAnswer) = respond(.selectMfaType, [:]).1 else { Issue.record("no ANSWER"); return }
        #expect(noAnswer.code == .invalidParameter)
        var (sms, _) = respond(.selectMfaType, ["ANSWER": "SMS_MFA"])
        guard case .fail(let e1) = sms.received(.userRead(user)) else { Issue.record("SMS_MFA chosen"); return }
        #expect(e1.code == .invalidParameter)
        var (chosen, _) = respond(.selectMfaType, ["ANSWER": "EMAIL_OTP"])
        guard case .sendSignInCode(_, let session) = chosen.received(.userRead(user)) else { Issue.record("no code sent"); return }
        #expect(session.challenge == .emailOtp && session.identifier == "alice")
        var (totp, _) = respond(.selectMfaType, ["ANSWER": "SOFTWARE_TOKEN_MFA"])
        guard case .askChallenge(let t, _) = totp.received(.userRead(user)) else { Issue.record("no TOTP challenge"); return }
        #expect(t.challenge == .softwareTokenMfa)
        // EMAIL_OTP: the code checked (used, or counted) on the record, then tokens.
        guard case .fail(let noCode) = respond(.emailOtp, [:]).1 else { Issue.record("no code"); return }
        #expect(noCode.code == .invalidParameter)
        var (m, action) = respond(.emailOtp, ["EMAIL_OTP_CODE": "123456"])
        guard case .readUser("alice") = action else { Issue.record("no read"); return }
        guard case .checkSignInCode(_, "123456") = m.received(.userRead(user)) else { Issue.record("no check"); return }
        guard case .issueTokens = m.received(.signInCodeChecked(nil)) else { Issue.record("no tokens"); return }
        var (wrong, _) = respond(.emailOtp, ["EMAIL_OTP_CODE": "000000"])
        _ = wrong.received(.userRead(user))
        guard case .fail(let e2) = wrong.received(.signInCodeChecked(PoolError(.codeMismatch, "Invalid code received for user")))
        else { Issue.record("a wrong code"); return }
        #expect(e2.code == .codeMismatch)
    }

    @Test("email MFA: refused in the LITE tier, its message must carry the code; preferences need an address")
    func emailConfiguration() throws {
        var lite = F.pool
        lite.settings.userPoolTier = .lite
        #expect(throws: PoolError.self) {
            try MfaRules.configure(&lite, mfaConfiguration: .optional, softwareToken: nil, sms: nil, email: EmailMfaConfigType(),
                                   webAuthn: nil, now: 1)
        }
        var pool = F.pool
        #expect(throws: PoolError.self) {
            try MfaRules.configure(&pool, mfaConfiguration: .optional, softwareToken: nil, sms: nil,
                                   email: EmailMfaConfigType(message: "no code here"), webAuthn: nil, now: 1)
        }
        try MfaRules.configure(&pool, mfaConfiguration: .optional, softwareToken: nil, sms: nil,
                               email: EmailMfaConfigType(message: "code {####}"), webAuthn: nil, now: 1)
        #expect(MfaRules.allowsEmail(pool) && !MfaRules.allowsSoftwareToken(pool))
        var noEmail = F.user()
        #expect(throws: PoolError.self) {
            try MfaRules.setPreference(&noEmail, softwareToken: nil, sms: nil, email: EmailMfaSettingsType(enabled: true),
                                       webAuthn: nil, pool: pool, now: 1)
        }
        var withEmail = Self.bothUser(enabled: [])
        try MfaRules.setPreference(&withEmail, softwareToken: nil, sms: nil,
                                   email: EmailMfaSettingsType(enabled: true, preferredMfa: true), webAuthn: nil, pool: pool, now: 1)
        #expect(MfaRules.settings(withEmail).list == [MfaRules.emailOtp] && MfaRules.settings(withEmail).preferred == MfaRules.emailOtp)
    }

    @Test("SMS_MFA: a user with a phone in a pool that sends SMS codes; the legacy MFAOptions turn it on and off")
    func smsFactor() throws {
        var pool = F.pool
        pool.mfaConfiguration = .optional
        pool.settings.smsMfa = SmsMfaConfigType(smsAuthenticationMessage: "code {####}")
        var user = F.user()
        user.attributes["phone_number"] = "+15550100"
        #expect(throws: PoolError.self) {
            try MfaRules.setLegacySettings(&user, [MFAOptionType(deliveryMedium: .email, attributeName: "email")], pool: pool, now: 1)
        }
        try MfaRules.setLegacySettings(&user, [MFAOptionType(deliveryMedium: .sms, attributeName: "phone_number")], pool: pool, now: 1)
        #expect(MfaRules.settings(user).list == [MfaRules.smsMfa] && MfaRules.legacyOptions(user)?.count == 1)
        guard case .sendSignInCode(_, let session) = Self.afterPassword(user, pool: pool) else { Issue.record("no SMS code"); return }
        #expect(session.challenge == .smsMfa)
        var m = F.machine(pool: pool)
        _ = m.received(.respond(.smsMfa, responses: ["USERNAME": "alice", "SMS_MFA_CODE": "123456"], session: "s"))
        guard case .readUser = m.received(.opened(session.encoded, box: [])) else { Issue.record("no read"); return }
        guard case .checkSignInCode(_, "123456") = m.received(.userRead(user)) else { Issue.record("no check"); return }
        try MfaRules.setLegacySettings(&user, [], pool: pool, now: 1)
        #expect(MfaRules.settings(user).list == nil && MfaRules.legacyOptions(user) == nil)
        // SMS MFA needs an SmsConfiguration somewhere.
        var bare = F.pool
        #expect(throws: PoolError.self) {
            try MfaRules.configure(&bare, mfaConfiguration: .optional, softwareToken: nil, sms: SmsMfaConfigType(), email: nil,
                                   webAuthn: nil, now: 1)
        }
    }
}
