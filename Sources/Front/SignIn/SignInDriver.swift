import AuthCrypto
import CognitoModel
import Foundation
import NodeRPC
import UserPool

/// What every sign-in answer carries, whichever operation (or page) it goes out through.
struct SignInAnswer: Sendable {
    var challengeName: ChallengeNameType?
    var session: String?
    var challengeParameters: [String: String] = [:]
    var authenticationResult: AuthenticationResultType?
    /// SELECT_CHALLENGE's first factors to choose from (USER_AUTH).
    var availableChallenges: [ChallengeNameType]?
    /// Who signed in, when the caller asked for the user rather than tokens (the managed
    /// login, which hands out an authorization code).
    var signedIn: SignedIn?
}

/// A finished sign-in: the user (read whole), its auth_time and the methods it took.
struct SignedIn: Sendable {
    var user: User
    var authTime: Int64
    var amr: [String] = []
}

/// Runs a `SignInStateMachine`: performs each action it asks for — unsealing, the store's
/// reads and writes, the slot on the user's shard leader, the crypto, sealing and tokens —
/// and feeds the result back, until the machine answers or fails. The rules are all the
/// machine's; the JSON API and the pages drive it the same way.
struct SignInDriver: Sendable {
    let store: PoolStore
    let auth: AuthContext
    let tokens: TokenService
    /// Seconds of the first lockout; doubles with each further failure.
    let lockoutBase: Int64

    var codes: CodeService { CodeService(store: store, codeKey: auth.codeKey) }

    func context(pool: Pool, client: AppClient) -> SignInStateMachine.Context {
        SignInStateMachine.Context(
            pool: pool, client: client, now: tokens.now(), lockoutBaseSeconds: lockoutBase,
            fakeKey: auth.fakeSaltKey.withUnsafeBytes { Array($0) })
    }

    /// Runs one request's machine from `first` to its answer. A slot the user's shard
    /// leader holds for a check is given back before the answer, whatever it is. With
    /// `issue` false a finished sign-in answers `signedIn` and no tokens.
    func run(_ first: AuthEvent, pool: Pool, client: AppClient, issue: Bool = true) async throws -> SignInAnswer {
        var machine = SignInStateMachine(context: context(pool: pool, client: client))
        var held: (ReservedReply, shard: UInt32)?
        do {
            let answer = try await drive(&machine, first, held: &held, issue: issue)
            if let (h, shard) = held { await store.release(h, shard: shard) }
            return answer
        } catch {
            if let (h, shard) = held { await store.release(h, shard: shard) }
            throw error
        }
    }

    private func drive(
        _ machine: inout SignInStateMachine, _ first: AuthEvent, held: inout (ReservedReply, shard: UInt32)?,
        issue: Bool
    ) async throws -> SignInAnswer {
        let context = machine.context
        var action = machine.received(first)
        while true {
            switch action {
            case .open(let text, let kind):
                let opened = tokens.open(text, kind)
                action = machine.received(.opened(opened?.plain, box: opened?.box ?? []))
            case .resolve(let identifier):
                let (user, readBy) = try await store.resolveForSignIn(pool: context.pool, identifier: identifier)
                action = machine.received(.resolved(user, node: readBy?.node ?? 0, boot: readBy?.boot ?? 0))
            case .reserve(let canonical, let challenge):
                let (slot, h, shard) = try await reserve(context, canonical: canonical, challenge: challenge)
                held = (h, shard)
                action = machine.received(.reserved(slot))
            case .checkPassword(let password, let verifier, let userId):
                let poolName = SRPHash.poolName(fromPoolId: context.pool.id)
                let ok = try await auth.crypto {
                    WorkspacePool.shared.with {
                        $0.verify(password: password, poolName: poolName, userIdForSrp: userId, against: verifier)
                    }
                }
                action = machine.received(.checked(passwordOK: ok))
            case .checkClaim(let state, let block, let signature, let timestamp):
                let ok = try await checkClaim(state, signature: signature, timestamp: timestamp, secretBlock: block)
                action = machine.received(.checked(passwordOK: ok))
            case .record(let canonical, let ok, let digest):
                let (outcome, user) = try await record(context, canonical: canonical, ok: ok, digest: digest)
                action = machine.received(.recorded(outcome, user))
            case .readUser(let canonical):
                action = machine.received(.userRead(try await store.user(pool: context.pool.id, canonical: canonical)))
            case .checkHistory(let password, let user):
                let reused = try await auth.reusesPassword(
                    password, user: user, username: user.username, pool: context.pool)
                action = machine.received(.historyChecked(reused: reused))
            case .setPassword(let user, let change):
                action = machine.received(.passwordSet(try await setPassword(user, change, context: context)))
            case .challenge(let state):
                return try await srpChallenge(state)
            case .askNewPassword(var session, let attributes):
                session.methods = machine.methods
                let encoded = (try? APICoding.encode(attributes)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
                return SignInAnswer(
                    challengeName: session.challenge,
                    session: tokens.seal(
                        session.encoded, .session, seconds: SignInRules.sessionSeconds(context.client)),
                    challengeParameters: [
                        "USER_ID_FOR_SRP": session.username, "requiredAttributes": "[]", "userAttributes": encoded,
                    ])
            case .askChallenge(var session, let parameters):
                session.methods = machine.methods
                return SignInAnswer(
                    challengeName: session.challenge,
                    session: tokens.seal(
                        session.encoded, .session, seconds: SignInRules.sessionSeconds(context.client)),
                    challengeParameters: parameters)
            case .checkTotp(let user, let code):
                let step = user.mfa?.totpSecret.flatMap { sealed in
                    (try? auth.open(sealed, now: 0, \.keySealer)).flatMap {
                        TOTP.matchingStep(code, secret: $0, now: context.now, after: user.mfa?.totpLastStep)
                    }
                }
                action = machine.received(.totpChecked(step: step))
            case .useTotpStep(let user, let step):
                let saved = try await store.modify(user, in: context.pool) { (u: inout User) throws(PoolError) in
                    try MfaRules.useStep(&u, step: step)
                }
                action = machine.received(.stepUsed(saved))
            case .offerChallenges(var session, let available):
                session.methods = machine.methods
                return SignInAnswer(
                    challengeName: .selectChallenge,
                    session: tokens.seal(
                        session.encoded, .session, seconds: SignInRules.sessionSeconds(context.client)),
                    availableChallenges: available)
            case .sendSignInCode(let user, var session):
                session.methods = machine.methods
                return try await sendSignInCode(user, session, context: context)
            case .pretendSignInCode(let session):
                let medium: DeliveryMediumType = session.challenge == .smsOtp ? .sms : .email
                let destination = FakeUser.signInDestination(
                    medium, key: context.fakeKey, pool: context.pool.id, identifier: session.identifier)
                return codeChallenge(session, medium: medium, destination: destination, context: context)
            case .checkSignInCode(let user, let code):
                var refusal: PoolError?
                do {
                    try await codes.use(
                        code, user: user, pool: context.pool, purpose: .signIn, attribute: "email", now: context.now
                    ) { (u: inout User, _: String?) throws(PoolError) in u.lockout = Lockout() }
                } catch let error as PoolError where [.codeMismatch, .expiredCode, .limitExceeded].contains(error.code)
                {
                    // A session's code is gone once used, expired, or guessed wrong too often.
                    refusal =
                        switch error.code {
                        case .codeMismatch: PoolError(.codeMismatch, "Invalid code received for user")
                        case .expiredCode:
                            PoolError(.notAuthorized, "Invalid session for the user, session is expired.")
                        default: error
                        }
                }
                action = machine.received(.signInCodeChecked(refusal))
            case .askPasskey(var session, let user):
                session.methods = machine.methods
                if session.node == 0 {
                    // A second factor: the node that held the password's slot claims it, or
                    // (after SELECT_MFA_TYPE) the one that reads the user now.
                    if let (h, _) = held {
                        (session.node, session.boot) = (h.node, h.boot)
                    } else {
                        let (_, readBy) = try await store.userForSignIn(
                            pool: context.pool.id, canonical: PoolRules.canonical(user.username, in: context.pool))
                        (session.node, session.boot) = (readBy?.node ?? 0, readBy?.boot ?? 0)
                    }
                }
                var rng = SystemRandomNumberGenerator()
                let challenge = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let expectation = try PasskeyRules.expectation(context.pool, challenge: challenge)
                session.passkeyChallenge = challenge
                return SignInAnswer(
                    challengeName: .webAuthn,
                    session: tokens.seal(
                        session.encoded, .session, seconds: SignInRules.sessionSeconds(context.client)),
                    challengeParameters: [
                        "CREDENTIAL_REQUEST_OPTIONS": PasskeyRules.requestOptions(
                            user, challenge: challenge, expectation: expectation)
                    ])
            case .checkPasskey(let user, let credential, let challenge):
                action = machine.received(
                    .passkeyChecked(await checkPasskey(user, credential: credential, challenge: challenge, context)))
            case .usePasskey(let user, let use):
                let t = context.now
                let saved = try await store.modify(user, in: context.pool) { (u: inout User) throws(PoolError) in
                    try PasskeyRules.use(&u, id: use.credentialId, signCount: use.signCount, now: t)
                }
                action = machine.received(.passkeyUsed(saved))
            case .issueTokens(let user, let authTime, let origin):
                guard issue else {
                    return SignInAnswer(signedIn: SignedIn(user: user, authTime: authTime, amr: machine.amr))
                }
                let result = try tokens.tokens(
                    pool: context.pool, client: context.client, user: user, authTime: authTime, origin: origin,
                    scopes: machine.refreshScopes, amr: machine.amr)
                return SignInAnswer(authenticationResult: result)
            case .rotateRefresh(let user, let token):
                var rng = SystemRandomNumberGenerator()
                let next = randomUUIDString(using: &rng)
                let (t, grace) = (context.now, RefreshRotationRules.graceSeconds(context.client))
                var verdict = RefreshRotationRules.Verdict.rotate
                let saved = try await store.modify(user, in: context.pool) { (u: inout User) throws(PoolError) in
                    verdict = try RefreshRotationRules.rotate(
                        &u, origin: token.origin, from: token.rotation, to: next, now: t, grace: grace)
                }
                guard case .retry(let current) = verdict else {
                    action = machine.received(.rotated(saved, rotation: next))
                    continue
                }
                action = machine.received(.rotated(saved, rotation: current))
            case .issueRotated(let user, let token, let rotation):
                var result = try tokens.tokens(
                    pool: context.pool, client: context.client, user: user, authTime: token.authTime,
                    origin: token.origin, scopes: token.scopes)
                var next = token
                next.rotation = rotation
                result.refreshToken = tokens.seal(
                    next.encoded, .refreshToken, seconds: TokenRules.seconds(.refresh, of: context.client))
                return SignInAnswer(authenticationResult: result)
            case .finished:
                return SignInAnswer()
            case .fail(let error):
                throw error
            }
        }
    }

    /// A slot for one check of `canonical` on its shard's leader; a challenge read on
    /// another node (the lead moved since) is claimed there.
    private func reserve(
        _ context: SignInStateMachine.Context, canonical: String, challenge: AttemptChallenge?
    ) async throws -> (AttemptSlot, ReservedReply, UInt32) {
        let query = UserPoolQuery.attemptSlot(
            poolId: context.pool.id, canonical: canonical, now: context.now, lockoutBaseSeconds: lockoutBase,
            challenge: challenge)
        let (reply, h, shard) = try await store.reserve(
            store.userShard(pool: context.pool.id, canonical: canonical), query)
        guard case .slot(var slot) = reply else {
            await store.release(h, shard: shard)
            throw PoolError(.internalError, "unexpected reply reserving a sign-in attempt")
        }
        if h.claimElsewhere, let challenge,
            await !store.claim(node: challenge.node, boot: challenge.boot, id: challenge.id)
        {
            slot = AttemptSlot(outcome: .replayed)
        }
        return (slot, h, shard)
    }

    /// Proposes a failed attempt (or a success that clears failures) to the shard of
    /// `canonical`; its verdict is the one that counts.
    private func record(
        _ context: SignInStateMachine.Context, canonical: String, ok: Bool, digest: [UInt8]
    ) async throws -> (AttemptOutcome, User?) {
        let command = UserPoolCommand.signInAttempt(
            poolId: context.pool.id, canonical: canonical, passwordOK: ok, verifierDigest: digest, now: context.now,
            lockoutBaseSeconds: lockoutBase, challenge: nil)
        guard
            case .attempt(let outcome, let user) = try await store.propose(
                store.userShard(pool: context.pool.id, canonical: canonical), command)
        else { throw PoolError(.internalError, "unexpected reply recording a sign-in attempt") }
        return (outcome, user)
    }

    private func setPassword(
        _ user: User, _ change: PasswordChange, context: SignInStateMachine.Context
    ) async throws -> User {
        let pool = context.pool
        let t = context.now
        switch change {
        case .completeNew(let password, let attributes):
            let verifier = auth.makeVerifier(pool: pool, username: user.username, password: password)
            return try await store.modify(user, in: pool) { (u: inout User) throws(PoolError) in
                try UserRules.completeNewPassword(&u, verifier: verifier, policy: pool.policy, now: t)
                AttributeRules.apply(attributes, to: &u, byAdmin: false)
            }
        case .change(let password):
            let verifier = auth.makeVerifier(pool: pool, username: user.username, password: password)
            return try await store.modify(user, in: pool) { (u: inout User) throws(PoolError) in
                UserRules.changePassword(&u, verifier: verifier, policy: pool.policy, now: t)
            }
        }
    }

    /// EMAIL_OTP or SMS_MFA: a code to the user's email or phone, its hash on the record
    /// (read whole) and its message in the outbox in one write; the challenge says where it
    /// went.
    private func sendSignInCode(
        _ user: User, _ session: SignInSession, context: SignInStateMachine.Context
    ) async throws -> SignInAnswer {
        let pool = context.pool
        let (medium, attribute) =
            [.smsMfa, .smsOtp].contains(session.challenge)
            ? (DeliveryMediumType.sms, "phone_number") : (DeliveryMediumType.email, "email")
        guard
            let current = try await store.user(pool: pool.id, canonical: PoolRules.canonical(user.username, in: pool)),
            let destination = current.attributes[attribute]
        else { throw PoolError(.notAuthorized, "Invalid session for the user, session is expired.") }
        try await codes.send(current, pool: pool, purpose: .signIn, attribute: attribute, now: context.now) { code in
            MessageRules.authentication(
                user: current, pool: pool, medium: medium, destination: destination, code: code, now: context.now)
        }
        return codeChallenge(session, medium: medium, destination: destination, context: context)
    }

    /// The challenge a sent code answers with: where it went, masked.
    private func codeChallenge(
        _ session: SignInSession, medium: DeliveryMediumType, destination: String,
        context: SignInStateMachine.Context
    ) -> SignInAnswer {
        let attribute = medium == .sms ? "phone_number" : "email"
        let delivery = MessageRules.delivery(medium, attribute: attribute, destination: destination)
        return SignInAnswer(
            challengeName: session.challenge,
            session: tokens.seal(session.encoded, .session, seconds: SignInRules.sessionSeconds(context.client)),
            challengeParameters: [
                "CODE_DELIVERY_DELIVERY_MEDIUM": delivery.deliveryMedium?.rawValue ?? medium.rawValue,
                "CODE_DELIVERY_DESTINATION": delivery.destination ?? "",
            ])
    }

    /// A WEB_AUTHN answer: the assertion in CREDENTIAL, checked against the user's passkey of
    /// that id, the session's challenge and the pool's relying party.
    private func checkPasskey(
        _ user: User, credential: String, challenge: [UInt8], _ context: SignInStateMachine.Context
    ) async -> Result<PasskeyUse, PoolError> {
        do throws(PoolError) {
            let c = try PasskeyRules.CredentialJSON(text: credential)
            guard let key = user.passkeys?.first(where: { $0.id == c.id }) else {
                throw PoolError(.notAuthorized, "Incorrect username or password.")
            }
            guard let authenticatorData = c.authenticatorData, let signature = c.signature else {
                throw PoolError(.invalidParameter, "CREDENTIAL has no authenticatorData or signature.")
            }
            let expectation = try PasskeyRules.expectation(context.pool, challenge: challenge)
            let checked: Result<(signCount: UInt32, userVerified: Bool), WebAuthn.Failure>
            do {
                checked = try await auth.crypto {
                    Result { () throws(WebAuthn.Failure) in
                        try WebAuthn.assert(
                            clientDataJSON: c.clientDataJSON, authenticatorData: authenticatorData,
                            signature: signature, publicKey: key.publicKey, storedCount: key.signCount,
                            expected: expectation)
                    }
                }
            } catch {
                throw PoolError(.internalError, "the passkey check did not run")
            }
            switch checked {
            case .success(let r):
                return .success(PasskeyUse(credentialId: key.id, signCount: r.signCount, storedCount: key.signCount))
            case .failure(let failure):
                throw PasskeyRules.refusal(failure)
            }
        } catch {
            return .failure(error)
        }
    }

    /// Step 1 of SRP: b, B, and the sealed state as SECRET_BLOCK.
    private func srpChallenge(_ state: SRPChallengeState) async throws -> SignInAnswer {
        let verifier = state.verifier
        let challenge = try await auth.crypto {
            var rng = SystemRandomNumberGenerator()
            return WorkspacePool.shared.with { $0.startChallenge(verifier: verifier, using: &rng) }
        }
        var sealed = state
        sealed.b = challenge.b
        sealed.B = challenge.B
        let block = tokens.seal(sealed.encoded, .srpChallenge, seconds: SignInStateMachine.challengeSeconds)
        return SignInAnswer(
            challengeName: .passwordVerifier,
            challengeParameters: [
                "SALT": verifier.saltHex, "SRP_B": challenge.BHex, "USER_ID_FOR_SRP": state.userIdForSrp,
                "USERNAME": state.userIdForSrp, "SECRET_BLOCK": block,
            ])
    }

    /// Step 2 of SRP: S, the key, and the client's signature, at the same cost for every
    /// user, real or not.
    private func checkClaim(
        _ state: SRPChallengeState, signature: String, timestamp: String, secretBlock: [UInt8]
    ) async throws -> Bool {
        let poolName = SRPHash.poolName(fromPoolId: state.pool)
        return try await auth.crypto {
            WorkspacePool.shared.with { w in
                let challenge = SRPServerChallenge(b: state.b, B: state.B)
                guard
                    let key = try? w.passwordKey(
                        clientAHex: state.clientA, challenge: challenge, verifier: state.verifier)
                else { return false }
                return SRPWorkspace.verifyClaim(
                    signatureBase64: signature, key: key, poolName: poolName, userIdForSrp: state.userIdForSrp,
                    secretBlock: secretBlock, timestamp: timestamp)
            }
        }
    }
}
