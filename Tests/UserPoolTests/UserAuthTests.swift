import CognitoModel
import Testing

@testable import UserPool

/// Choice-based sign-in (USER_AUTH) in the sign-in machine, state by state.
@Suite("USER_AUTH: choosing a first factor")
struct UserAuthTests {
    typealias F = SignInFixtures

    static func client(hides: Bool = true) -> AppClient {
        var c = F.client(hides: hides)
        c.explicitAuthFlows = [.allowUserAuth, .allowRefreshTokenAuth]
        return c
    }

    static func pool(factors: [AuthFactorType]? = [.password, .emailOtp, .smsOtp], mfa: UserPoolMfaType = .off) -> Pool
    {
        var p = F.pool
        p.settings.allowedFirstAuthFactors = factors
        p.mfaConfiguration = mfa
        return p
    }

    static func user(emailVerified: Bool = true) -> User {
        var u = F.user()
        u.attributes = ["email": "alice@example.com", "email_verified": emailVerified ? "true" : "false"]
        return u
    }

    static func start(
        _ parameters: [String: String], pool: Pool = pool(), client: AppClient = client(), session: String? = nil
    ) -> (SignInStateMachine, AuthAction) {
        var m = F.machine(client: client, pool: pool)
        let action = m.received(.initiate(.userAuth, parameters: parameters, admin: false, session: session))
        return (m, action)
    }

    @Test("a client without ALLOW_USER_AUTH is refused before any read")
    func clientMustAllow() {
        let (_, action) = Self.start(["USERNAME": "alice"], client: F.client())
        guard case .fail(let e) = action else { Issue.record("not refused: \(action)"); return }
        #expect(e.code == .invalidParameter)
        #expect(e.message == "USER_AUTH flow not enabled for this client")
    }

    @Test("no preference: SELECT_CHALLENGE offers what the user can meet, and what the pool allows")
    func selectChallenge() {
        var (m, action) = Self.start(["USERNAME": "alice"])
        guard case .resolve("alice") = action else { Issue.record("no resolve: \(action)"); return }
        guard case .offerChallenges(let session, let offered) = m.received(.resolved(Self.user(), node: 1, boot: 1))
        else { Issue.record("no choice"); return }
        #expect(offered == [.password, .passwordSrp, .emailOtp])
        #expect(session.challenge == .selectChallenge)
        #expect(session.username == "alice")

        // An unverified email is no first factor; the pool's default is PASSWORD alone.
        var m2 = Self.start(["USERNAME": "alice"]).0
        guard
            case .offerChallenges(_, let offered2) = m2.received(
                .resolved(Self.user(emailVerified: false), node: 1, boot: 1))
        else { Issue.record("no choice"); return }
        #expect(offered2 == [.password, .passwordSrp])
        var m3 = Self.start(["USERNAME": "alice"], pool: Self.pool(factors: nil)).0
        guard case .offerChallenges(_, let offered3) = m3.received(.resolved(Self.user(), node: 1, boot: 1)) else {
            Issue.record("no choice")
            return
        }
        #expect(offered3 == [.password, .passwordSrp])
        // MFA ON keeps users to passwords.
        var m4 = Self.start(["USERNAME": "alice"], pool: Self.pool(mfa: .on)).0
        guard case .offerChallenges(_, let offered4) = m4.received(.resolved(Self.user(), node: 1, boot: 1)) else {
            Issue.record("no choice")
            return
        }
        #expect(offered4 == [.password, .passwordSrp])
    }

    @Test("PREFERRED_CHALLENGE the user can meet goes straight to it")
    func preferred() {
        var (m, _) = Self.start(["USERNAME": "alice", "PREFERRED_CHALLENGE": "PASSWORD", "PASSWORD": "pw"])
        guard case .reserve(let canonical, nil) = m.received(.resolved(Self.user(), node: 1, boot: 1)) else {
            Issue.record("no password check")
            return
        }
        #expect(canonical == "alice")

        var (srp, _) = Self.start(["USERNAME": "alice", "PREFERRED_CHALLENGE": "PASSWORD_SRP", "SRP_A": "abcd"])
        guard case .challenge(let state) = srp.received(.resolved(Self.user(), node: 4, boot: 5)) else {
            Issue.record("no SRP challenge")
            return
        }
        #expect(state.node == 4)

        var (otp, _) = Self.start(["USERNAME": "alice", "PREFERRED_CHALLENGE": "EMAIL_OTP"])
        guard case .sendSignInCode(let user, let session) = otp.received(.resolved(Self.user(), node: 1, boot: 1))
        else {
            Issue.record("no code sent")
            return
        }
        #expect(user.username == "alice")
        #expect(session.challenge == .emailOtp)

        // Preferred but not available: the choice instead.
        var (sms, _) = Self.start(["USERNAME": "alice", "PREFERRED_CHALLENGE": "SMS_OTP"])
        guard case .offerChallenges = sms.received(.resolved(Self.user(), node: 1, boot: 1)) else {
            Issue.record("no choice")
            return
        }
    }

    @Test("what a preference needs is checked before any read, and an unknown one is refused")
    func preferenceParameters() {
        for (parameters, message) in [
            (["USERNAME": "alice", "PREFERRED_CHALLENGE": "PASSWORD"], "Missing required parameter PASSWORD"),
            (["USERNAME": "alice", "PREFERRED_CHALLENGE": "PASSWORD_SRP"], "Missing required parameter SRP_A"),
            (["USERNAME": "alice", "PREFERRED_CHALLENGE": "SMS_MFA"], "Invalid PREFERRED_CHALLENGE SMS_MFA"),
            (["PREFERRED_CHALLENGE": "EMAIL_OTP"], "Missing required parameter USERNAME"),
        ] {
            guard case .fail(let e) = Self.start(parameters).1 else {
                Issue.record("not refused: \(parameters)")
                continue
            }
            #expect(e.message == message)
        }
    }

    @Test("a name no user has gets the same choice, and a code that never went out")
    func unknownUser() {
        var (m, _) = Self.start(["USERNAME": "nobody"])
        guard case .offerChallenges(let session, let offered) = m.received(.resolved(nil, node: 1, boot: 1)) else {
            Issue.record("no choice")
            return
        }
        #expect(offered == [.password, .passwordSrp, .emailOtp, .smsOtp])
        #expect(session.username == "nobody")
        var (otp, _) = Self.start(["USERNAME": "nobody", "PREFERRED_CHALLENGE": "EMAIL_OTP"])
        guard case .pretendSignInCode(let fake) = otp.received(.resolved(nil, node: 1, boot: 1)) else {
            Issue.record("no pretend code")
            return
        }
        #expect(fake.challenge == .emailOtp)
        // Its answer: a wrong code, as for a real user.
        var answer = F.machine(client: Self.client(), pool: Self.pool())
        _ = answer.received(
            .respond(.emailOtp, responses: ["USERNAME": "nobody", "EMAIL_OTP_CODE": "123456"], session: "s"))
        _ = answer.received(.opened(fake.encoded, box: []))
        guard case .fail(let e) = answer.received(.userRead(nil)) else { Issue.record("not refused"); return }
        #expect(e.code == .codeMismatch)

        // A client that reveals existence says so.
        var open = Self.start(["USERNAME": "nobody"], client: Self.client(hides: false)).0
        guard case .fail(let e2) = open.received(.resolved(nil, node: 1, boot: 1)) else {
            Issue.record("not refused"); return
        }
        #expect(e2.code == .userNotFound)
    }

    @Test("SELECT_CHALLENGE answered: the answer must be one offered, with what it needs")
    func answered() {
        let session = SignInSession(
            challenge: .selectChallenge, pool: F.pool.id, client: "client1", username: "alice", identifier: "alice",
            issuedAt: 100)
        var m = F.machine(client: Self.client(), pool: Self.pool())
        guard
            case .open("s", .session) = m.received(
                .respond(.selectChallenge, responses: ["USERNAME": "alice", "ANSWER": "EMAIL_OTP"], session: "s"))
        else { Issue.record("no open"); return }
        guard case .resolve("alice") = m.received(.opened(session.encoded, box: [])) else {
            Issue.record("no resolve"); return
        }
        guard case .sendSignInCode(_, let codeSession) = m.received(.resolved(Self.user(), node: 1, boot: 1)) else {
            Issue.record("no code")
            return
        }
        #expect(codeSession.challenge == .emailOtp)

        var unverified = F.machine(client: Self.client(), pool: Self.pool())
        _ = unverified.received(
            .respond(.selectChallenge, responses: ["USERNAME": "alice", "ANSWER": "EMAIL_OTP"], session: "s"))
        _ = unverified.received(.opened(session.encoded, box: []))
        guard case .fail(let e) = unverified.received(.resolved(Self.user(emailVerified: false), node: 1, boot: 1))
        else {
            Issue.record("not refused")
            return
        }
        #expect(e.message == "Invalid ANSWER EMAIL_OTP for SELECT_CHALLENGE")

        // A SELECT_CHALLENGE session cannot answer another challenge.
        var other = F.machine(client: Self.client(), pool: Self.pool())
        _ = other.received(.respond(.emailOtp, responses: ["USERNAME": "alice", "EMAIL_OTP_CODE": "1"], session: "s"))
        guard case .fail(let e2) = other.received(.opened(session.encoded, box: [])) else {
            Issue.record("not refused"); return
        }
        #expect(e2.code == .notAuthorized)
    }

    @Test("the Session from ConfirmSignUp signs its user in, and no one else")
    func afterSignUp() {
        let user = Self.user()
        let confirmed = SignUpSession(
            confirmed: true, pool: F.pool.id, client: "client1", username: "alice", identifier: "Alice", sub: user.sub,
            issuedAt: 100)
        var (m, action) = Self.start(["USERNAME": "ALICE"], session: "s")
        guard case .open("s", .signUpSession) = action else { Issue.record("no open: \(action)"); return }
        guard case .readUser("alice") = m.received(.opened(confirmed.encoded, box: [])) else {
            Issue.record("no read"); return
        }
        guard case .issueTokens(let signedIn, _, nil) = m.received(.userRead(user)) else {
            Issue.record("no tokens"); return
        }
        #expect(signedIn.username == "alice")

        // Another user of the same name (deleted and made again) is not the one confirmed.
        var again = Self.start(["USERNAME": "alice"], session: "s").0
        _ = again.received(.opened(confirmed.encoded, box: []))
        var other = user
        other.sub = "another"
        guard case .fail(let e) = again.received(.userRead(other)) else { Issue.record("not refused"); return }
        #expect(e.code == .notAuthorized)

        // SignUp's own Session (not yet confirmed), or another name, signs no one in.
        var early = confirmed
        early.confirmed = false
        var first = Self.start(["USERNAME": "alice"], session: "s").0
        guard case .fail = first.receivedOpened(early.encoded) else {
            Issue.record("unconfirmed session accepted")
            return
        }
        var bob = Self.start(["USERNAME": "bob"], session: "s").0
        guard case .fail = bob.receivedOpened(confirmed.encoded) else {
            Issue.record("another name accepted")
            return
        }
    }

    @Test("a passwordless user: any password is checked as a wrong one; ChangePassword sets a first one")
    func passwordless() {
        var user = Self.user()
        user.verifier = nil
        var m = F.machine()
        _ = m.received(F.password("alice"))
        guard case .reserve("alice", nil) = m.received(.resolved(user, node: 1, boot: 1)) else {
            Issue.record("not checked against a stand-in verifier")
            return
        }
        var change = F.machine()
        guard case .readUser("alice") = change.received(.changePassword(user, previous: nil, proposed: "Passw0rd!x"))
        else { Issue.record("no read"); return }
        guard case .checkHistory = change.received(.userRead(user)) else { Issue.record("no history check"); return }
        // An imported user (RESET_REQUIRED) is still told to reset.
        var imported = user
        imported.status = .resetRequired
        var i = F.machine()
        _ = i.received(F.password("alice"))
        guard case .fail(let e) = i.received(.resolved(imported, node: 1, boot: 1)) else { Issue.record("not refused"); return }
        #expect(e.code == .passwordResetRequired)
    }

    @Test("AllowedFirstAuthFactors: PASSWORD always, passwordless not on LITE, SMS with an SMS configuration")
    func policy() throws {
        var pool = F.pool
        #expect(try FirstFactorRules.validate(nil, pool: pool) == nil)
        #expect(
            try FirstFactorRules.validate(
                SignInPolicyType(allowedFirstAuthFactors: [.emailOtp, .password, .emailOtp]), pool: pool)
                == [.emailOtp, .password])
        #expect(throws: PoolError.self) {
            try FirstFactorRules.validate(SignInPolicyType(allowedFirstAuthFactors: [.emailOtp]), pool: pool)
        }
        #expect(throws: PoolError.self) {
            try FirstFactorRules.validate(SignInPolicyType(allowedFirstAuthFactors: [.password, .smsOtp]), pool: pool)
        }
        pool.settings.userPoolTier = .lite
        do {
            _ = try FirstFactorRules.validate(
                SignInPolicyType(allowedFirstAuthFactors: [.password, .emailOtp]), pool: pool)
            Issue.record("LITE allowed EMAIL_OTP")
        } catch {
            #expect(error.code == .featureUnavailableInTier)
        }
    }

    @Test("a sign-in code takes three wrong answers, then its session is over")
    func sessionGuesses() {
        var user = F.user()
        let right: [UInt8] = [1, 2, 3]
        try? CodeRules.issue(&user, purpose: .signIn, attribute: "email", digest: right, now: 100)
        for _ in 0..<CodeRules.maxSessionGuesses {
            #expect(CodeRules.check(&user, purpose: .signIn, attribute: "email", digest: [9], now: 101) == .mismatch)
        }
        #expect(CodeRules.check(&user, purpose: .signIn, attribute: "email", digest: right, now: 102) == .expired)
    }
}

@Suite("USER_AUTH: the WEB_AUTHN factor")
struct PasskeySignInTests {
    typealias F = SignInFixtures

    static func user() -> User {
        var u = UserAuthTests.user()
        u.passkeys = [
            Passkey(
                id: [1, 2, 3], publicKey: [4], signCount: 0, rpId: "example.com", name: nil, createdAt: 1,
                transports: [], attachment: nil)
        ]
        return u
    }

    static func pool() -> Pool {
        var p = UserAuthTests.pool(factors: [.password, .webAuthn])
        p.settings.webAuthn = WebAuthnConfigurationType(relyingPartyId: "example.com")
        return p
    }

    /// WEB_AUTHN answered, up to the slot's check.
    static func answered(_ slot: AttemptSlot) -> (SignInStateMachine, AuthAction) {
        let session = SignInSession(
            challenge: .webAuthn, pool: F.pool.id, client: "client1", username: "alice", identifier: "alice",
            issuedAt: 100, passkeyChallenge: [9, 9], node: 3, boot: 4)
        var m = F.machine(client: UserAuthTests.client(), pool: pool())
        _ = m.received(.respond(.webAuthn, responses: ["USERNAME": "alice", "CREDENTIAL": "{}"], session: "s"))
        guard case .readUser("alice") = m.received(.opened(session.encoded, box: [7])) else {
            return (m, .fail(PoolError(.internalError, "no read")))
        }
        guard case .reserve("alice", let claim?) = m.received(.userRead(user())) else {
            return (m, .fail(PoolError(.internalError, "no reserve")))
        }
        #expect(claim.node == 3 && claim.boot == 4)
        #expect(claim.id == SignInStateMachine.challengeId([7]))
        let action = m.received(.reserved(slot))
        return (m, action)
    }

    @Test("a user with a passkey is offered WEB_AUTHN; its challenge carries the reading node")
    func offered() {
        var m = F.machine(client: UserAuthTests.client(), pool: Self.pool())
        _ = m.received(.initiate(.userAuth, parameters: ["USERNAME": "alice"], admin: false))
        guard case .offerChallenges(_, let offered) = m.received(.resolved(Self.user(), node: 1, boot: 1)) else {
            Issue.record("no choice")
            return
        }
        #expect(offered == [.password, .passwordSrp, .webAuthn])
        var p = F.machine(client: UserAuthTests.client(), pool: Self.pool())
        _ = p.received(
            .initiate(.userAuth, parameters: ["USERNAME": "alice", "PREFERRED_CHALLENGE": "WEB_AUTHN"], admin: false))
        guard case .askPasskey(let session, _) = p.received(.resolved(Self.user(), node: 5, boot: 6)) else {
            Issue.record("no passkey challenge")
            return
        }
        #expect(session.challenge == .webAuthn && session.node == 5 && session.boot == 6)
    }

    @Test("an answer: checked under a slot; a refusal is recorded before it is told; a zero counter writes nothing")
    func answered() {
        var (m, action) = Self.answered(AttemptSlot(user: Self.user(), clear: true))
        guard case .checkPasskey(_, "{}", [9, 9]) = action else { Issue.record("no check: \(action)"); return }
        let refusal = PoolError(.init(.webAuthnOriginNotAllowed), "origin")
        guard case .record("alice", false, _) = m.received(.passkeyChecked(.failure(refusal))) else {
            Issue.record("not recorded")
            return
        }
        guard case .fail(let e) = m.received(.recorded(.refused, nil)) else { Issue.record("not refused"); return }
        #expect(e == refusal)

        var (ok, _) = Self.answered(AttemptSlot(user: Self.user(), clear: true))
        let use = PasskeyUse(credentialId: [1, 2, 3], signCount: 0, storedCount: 0)
        guard case .issueTokens(let user, _, nil) = ok.received(.passkeyChecked(.success(use))) else {
            Issue.record("no tokens")
            return
        }
        #expect(user.verifier != nil)  // the record read whole, never the slot's copy

        var (counted, _) = Self.answered(AttemptSlot(user: Self.user(), clear: true))
        let grown = PasskeyUse(credentialId: [1, 2, 3], signCount: 5, storedCount: 4)
        guard case .usePasskey(let written, grown) = counted.received(.passkeyChecked(.success(grown))) else {
            Issue.record("no write")
            return
        }
        #expect(written.verifier != nil)

        let refusedAction = Self.answered(AttemptSlot(outcome: .replayed)).1
        guard case .fail(let e2) = refusedAction else { Issue.record("replay not refused"); return }
        #expect(e2.code == .notAuthorized)
    }
}

extension SignInStateMachine {
    /// Feeds an opened box to a machine that asked for one.
    fileprivate mutating func receivedOpened(_ plain: [UInt8]) -> AuthAction { received(.opened(plain, box: [])) }
}
