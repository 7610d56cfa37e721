import AuthCrypto
import CognitoModel
import Crypto

/// Sign-in as one state machine in swift-nio's style: the front feeds it events and performs
/// the actions it returns (unsealing, reads, the slot the user's shard leader holds for a
/// check, crypto, writes, sealing, tokens), and holds no rule of its own. One machine runs
/// one request: InitiateAuth's first step (SRP, password, refresh), a challenge response
/// (PASSWORD_VERIFIER, NEW_PASSWORD_REQUIRED), GetTokensFromRefreshToken, or the verdict
/// on ChangePassword's previous password and the change.
///
/// The rules it keeps:
/// - the client must allow the flow, and a client with a secret needs SECRET_HASH over the
///   username at every step that names one;
/// - a name no user has gets a challenge (or a password check) of the same shape and cost
///   as a real user's when the client hides existence, and UserNotFoundException otherwise;
/// - a password is checked only under a slot of the user's shard leader, which lets at
///   most as many checks run at once as failures it takes to lock the user: a locked
///   user's password is never checked, so parallel guesses cannot outrun the lock, and a
///   name no user has locks the same way (ChangePassword's previous password too);
/// - a failure is written before its verdict is revealed, and so is a success that clears
///   earlier failures; a success with nothing to clear writes nothing;
/// - an SRP challenge is answered once: its id is claimed once, on the node that read the
///   user for it (a node restarted since refuses it: the client starts again);
/// - after a right password: disabled, unconfirmed, reset-required and expired temporary
///   passwords are refused; a temporary password leads to NEW_PASSWORD_REQUIRED, answered
///   with a sealed `SignInSession` naming its challenge;
/// - a new password meets the pool's policy and its history; a refresh token works while
///   its user is the same one (same sub), enabled, and its family not revoked.
///
/// Pure: time is `now` in the context, randomness and keys stay with the front.
public struct SignInStateMachine: Sendable {
    public struct Context: Sendable {
        public var pool: Pool
        public var client: AppClient
        /// Unix seconds.
        public var now: Int64
        public var lockoutBaseSeconds: Int64
        /// The key fake users' verifiers and ids are drawn from (stable across key rotation).
        public var fakeKey: [UInt8]

        public init(pool: Pool, client: AppClient, now: Int64, lockoutBaseSeconds: Int64, fakeKey: [UInt8]) {
            self.pool = pool
            self.client = client
            self.now = now
            self.lockoutBaseSeconds = lockoutBaseSeconds
            self.fakeKey = fakeKey
        }
    }

    public enum Flow: Sendable, Equatable {
        /// USER_SRP_AUTH with the client's A (hex).
        case srp(clientA: String)
        /// USER_PASSWORD_AUTH, or ADMIN_USER_PASSWORD_AUTH (`admin`).
        case password(String, admin: Bool)
    }

    /// The check a slot is taken for.
    enum Check {
        case password(String, verifier: PasswordVerifier, userIdForSrp: String)
        case claim(SRPChallengeState, block: [UInt8], signature: String, timestamp: String)
        case totp(User, code: String)
        case passkey(User, credential: String, challenge: [UInt8])
    }

    /// What a right password leads to.
    enum Purpose {
        /// A sign-in by the name the user gave (a username or an alias).
        case signIn(identifier: String)
        case changePassword(proposed: String)
        /// A second factor's code, for the sign-in `session` began, of `user` (read whole).
        case mfa(SignInSession, user: User)
        /// A passkey's assertion (WEB_AUTHN) of `user` (read whole), and once checked, why it
        /// was refused.
        case passkey(User, refusal: PoolError?)
    }

    /// A USER_AUTH first factor being chosen: the name signed in with, the challenge the
    /// client wants (PREFERRED_CHALLENGE, or a SELECT_CHALLENGE ANSWER, which must be one of
    /// those offered), and the parameters that came with it (PASSWORD, SRP_A).
    struct Choice {
        var identifier: String
        var wanted: ChallengeNameType?
        var parameters: [String: String]
        var answering: Bool
        var admin: Bool
    }

    /// A sealed text the front was asked to open, and what comes with it.
    enum Opening {
        case signUpSession(identifier: String)
        case secretBlock(responses: [String: String])
        case session(ChallengeNameType, responses: [String: String])
        case refreshToken(username: String?, secretHash: String?, secretChecked: Bool)
    }

    /// A user read, and what it is for.
    enum Reading {
        case refresh(RefreshTokenState)
        case newPassword(SignInSession, password: String, attributes: [String: String])
        case changePassword(proposed: String)
        case mfaCode(SignInSession, code: String)
        case mfaSetUp(SignInSession)
        case emailCode(SignInSession, code: String)
        case selected(SignInSession, answer: String)
        case autoSignIn(SignUpSession)
        case passkey(SignInSession, credential: String, claim: [UInt8])
    }

    enum State {
        case idle
        case opening(Opening)
        case resolving(Flow, identifier: String)
        case choosing(Choice)
        case reserving(canonical: String, digest: [UInt8], check: Check, purpose: Purpose)
        case checking(canonical: String, digest: [UInt8], slot: AttemptSlot, purpose: Purpose)
        case recording(canonical: String, purpose: Purpose)
        case reading(Reading)
        case checkingHistory(User, PasswordChange)
        case writing(PasswordChange)
        case usingStep
        case usingPasskey
        case checkingCode(User, method: String)
        case rotating(RefreshTokenState)
        case done
    }

    public let context: Context
    private var state = State.idle
    /// The methods completed so far (`amr`, RFC 8176): `pwd` for a password or SRP, `otp`
    /// for an authenticator's or an emailed code, `sms` for a texted one, `hwk` for a
    /// passkey. A session carries them to the next step; the ID token gets them.
    public private(set) var methods: [String] = []

    /// The ID token's `amr`: the methods, and `mfa` when there were two.
    public var amr: [String] { methods.count >= 2 ? methods + ["mfa"] : methods }

    private mutating func completed(_ method: String) {
        if !methods.contains(method) { methods.append(method) }
    }
    /// The scopes of the refresh token a refresh runs on (an OAuth 2.0 sign-in's), for the
    /// tokens it yields; nil for the API's sign-ins.
    public private(set) var refreshScopes: [String]?

    public init(context: Context) { self.context = context }

    /// How long a SECRET_BLOCK is good for, and how far a client's TIMESTAMP may be off.
    public static let challengeSeconds: Int64 = 300
    public static let timestampSkew: Int64 = 300

    static let invalidSession = PoolError(.notAuthorized, "Invalid session for the user, session is expired.")
    static let invalidRefresh = PoolError(.notAuthorized, "Invalid Refresh Token")
    static let invalidAccess = PoolError(.notAuthorized, "Invalid Access Token")
    static let codeMismatch = PoolError(.codeMismatch, "Invalid code received for user")

    public mutating func received(_ event: AuthEvent) -> AuthAction {
        switch (state, event) {
        case (.idle, .initiate(let flow, let parameters, let admin, let session)):
            if flow == .userAuth { return userAuth(parameters, admin: admin, session: session) }
            return initiate(flow, parameters, admin: admin)
        case (.idle, .respond(let name, let responses, let session)):
            return respond(name, responses, session: session)
        case (.idle, .refresh(let token)):
            state = .opening(.refreshToken(username: nil, secretHash: nil, secretChecked: true))
            return .open(token, .refreshToken)
        case (.idle, .managedPasskey(let username)):
            // The managed login's passkey button: USER_AUTH's WEB_AUTHN for the name typed.
            return choose(
                Choice(
                    identifier: username, wanted: .webAuthn, parameters: ["USERNAME": username], answering: false,
                    admin: true))
        case (.idle, .managedLogin(let username, let password)):
            // The managed login's own form: the client's ExplicitAuthFlows are for the API,
            // and its secret is checked where the code is redeemed.
            state = .resolving(.password(password, admin: true), identifier: username)
            return .resolve(identifier: username)
        case (.idle, .changePassword(let user, let previous, let proposed)):
            return changePassword(user, previous: previous, proposed: proposed)
        case (.opening(let opening), .opened(let plain, let box)):
            return opened(opening, plain: plain, box: box)
        case (.resolving(let flow, let identifier), .resolved(let user, let node, let boot)):
            return resolved(user, readBy: (node, boot), flow: flow, identifier: identifier)
        case (.choosing(let choice), .resolved(let user, let node, let boot)):
            return chosen(choice, user: user, readBy: (node, boot))
        case (.reserving(let canonical, let digest, let check, let purpose), .reserved(let slot)):
            if let refused = slot.outcome {
                state = .done
                return recorded(refused, nil, purpose: purpose, canonical: canonical)
            }
            state = .checking(canonical: canonical, digest: digest, slot: slot, purpose: purpose)
            switch check {
            case .password(let password, let verifier, let userId):
                return .checkPassword(password: password, verifier: verifier, userIdForSrp: userId)
            case .claim(let challenge, let block, let signature, let timestamp):
                return .checkClaim(challenge, block: block, signature: signature, timestamp: timestamp)
            case .totp(let user, let code):
                return .checkTotp(user, code: code)
            case .passkey(let user, let credential, let challenge):
                return .checkPasskey(user, credential: credential, challenge: challenge)
            }
        case (.checking(let canonical, let digest, let slot, .passkey(let user, _)), .passkeyChecked(let result)):
            switch result {
            case .success(let use):
                if let refusal = Self.statusRefusal(user) { return fail(refusal) }
                // A counter of 0 that stays 0 (most passkeys): nothing to write.
                guard use.signCount != 0 || use.storedCount != 0 || !slot.clear else {
                    state = .done
                    return .issueTokens(user, authTime: context.now, origin: nil)
                }
                state = .usingPasskey
                return .usePasskey(user, use)
            case .failure(let refusal):
                // Refused: a failed sign-in, written before the refusal, as a wrong password.
                state = .recording(canonical: canonical, purpose: .passkey(user, refusal: refusal))
                return .record(canonical: canonical, passwordOK: false, verifierDigest: digest)
            }
        case (.usingPasskey, .passkeyUsed(let user)):
            completed("hwk")
            state = .done
            return .issueTokens(user, authTime: context.now, origin: nil)
        case (.checking(let canonical, let digest, _, let purpose), .totpChecked(let step)):
            guard let step, case .mfa(_, let user) = purpose else {
                // A wrong code counts as a failed sign-in, written before the refusal.
                state = .recording(canonical: canonical, purpose: purpose)
                return .record(canonical: canonical, passwordOK: false, verifierDigest: digest)
            }
            state = .usingStep
            return .useTotpStep(user, step: step)
        case (.usingStep, .stepUsed(let user)):
            completed("otp")
            state = .done
            return .issueTokens(user, authTime: context.now, origin: nil)
        case (.checkingCode(let user, let method), .signInCodeChecked(let refusal)):
            if let refusal { return fail(refusal) }
            completed(method)
            // A passwordless first factor meets the status checks a right password meets.
            if let refusal = Self.statusRefusal(user) { return fail(refusal) }
            state = .done
            return .issueTokens(user, authTime: context.now, origin: nil)
        case (.checking(let canonical, let digest, let slot, let purpose), .checked(let ok)):
            // Right, for a user whose verifier is still the one checked, with no failures to
            // clear: nothing to write.
            if ok, let user = slot.user, !digest.isEmpty, digest == slot.verifierDigest, slot.clear {
                return recorded(.accepted, user, purpose: purpose, canonical: canonical)
            }
            state = .recording(canonical: canonical, purpose: purpose)
            return .record(canonical: canonical, passwordOK: ok, verifierDigest: digest)
        case (.recording(let canonical, let purpose), .recorded(let outcome, let user)):
            return recorded(outcome, user, purpose: purpose, canonical: canonical)
        case (.reading(let reading), .userRead(let user)):
            return read(user, for: reading)
        case (.rotating(let token), .rotated(let user, let rotation)):
            state = .done
            return .issueRotated(user, token: token, rotation: rotation)
        case (.checkingHistory(let user, let change), .historyChecked(let reused)):
            if reused { return fail(PasswordHistoryRules.violation) }
            state = .writing(change)
            return .setPassword(user, change)
        case (.writing(let change), .passwordSet(let user)):
            state = .done
            switch change {
            case .completeNew: return .issueTokens(user, authTime: context.now, origin: nil)
            case .change: return .finished
            }
        default:
            return fail(PoolError(.internalError, "a sign-in step arrived out of order"))
        }
    }

    private mutating func fail(_ error: PoolError) -> AuthAction {
        state = .done
        return .fail(error)
    }

    // MARK: First steps

    private mutating func initiate(_ flow: AuthFlowType, _ params: [String: String], admin: Bool) -> AuthAction {
        let adminFlows: [AuthFlowType] = [.adminUserPasswordAuth, .adminNoSrpAuth]
        let userFlows: [AuthFlowType] = [.userSrpAuth, .userPasswordAuth, .refreshTokenAuth, .refreshToken]
        guard userFlows.contains(flow) || (admin && adminFlows.contains(flow)) else {
            if flow == .customAuth {
                return fail(PoolError.notSupported("The auth flow \(flow.rawValue)"))
            }
            return fail(
                PoolError(
                    .invalidParameter,
                    "Invalid AuthFlow \(flow.rawValue) for \(admin ? "AdminInitiateAuth" : "InitiateAuth")"))
        }
        guard SignInRules.allows(context.client, flow) else {
            return fail(PoolError(.invalidParameter, "\(flow.rawValue) flow not enabled for this client"))
        }
        let machineFlow: Flow
        switch flow {
        case .refreshTokenAuth, .refreshToken:
            guard !RefreshRotationRules.enabled(context.client) else {
                return fail(
                    PoolError(
                        .invalidParameter,
                        "Refresh token rotation is enabled for this app client: refresh with "
                            + "GetTokensFromRefreshToken."))
            }
            guard let token = params["REFRESH_TOKEN"] else {
                return fail(PoolError(.invalidParameter, "Missing required parameter REFRESH_TOKEN"))
            }
            state = .opening(
                .refreshToken(username: params["USERNAME"], secretHash: params["SECRET_HASH"], secretChecked: false))
            return .open(token, .refreshToken)
        case .userSrpAuth:
            guard let a = params["SRP_A"] else {
                return fail(PoolError(.invalidParameter, "Missing required parameter SRP_A"))
            }
            machineFlow = .srp(clientA: a)
        default:
            guard let password = params["PASSWORD"] else {
                return fail(PoolError(.invalidParameter, "Missing required parameter PASSWORD"))
            }
            machineFlow = .password(password, admin: admin)
        }
        guard let username = params["USERNAME"] else {
            return fail(PoolError(.invalidParameter, "Missing required parameter USERNAME"))
        }
        if let refusal = SignInRules.checkSecretHash(context.client, username: username, given: params["SECRET_HASH"]) {
            return fail(refusal)
        }
        if case .srp(let a) = machineFlow, (try? SRPHex.validate(a)) == nil {
            return fail(PoolError(.invalidParameter, "SRP_A is not valid hex"))
        }
        state = .resolving(machineFlow, identifier: username)
        return .resolve(identifier: username)
    }

    private mutating func respond(
        _ name: ChallengeNameType, _ responses: [String: String], session: String?
    ) -> AuthAction {
        switch name {
        case .passwordVerifier:
            state = .opening(.secretBlock(responses: responses))
            return .open(responses["PASSWORD_CLAIM_SECRET_BLOCK"], .srpChallenge)
        case .newPasswordRequired, .softwareTokenMfa, .mfaSetup, .emailOtp, .smsMfa, .smsOtp, .selectMfaType,
            .selectChallenge, .webAuthn:
            state = .opening(.session(name, responses: responses))
            return .open(session, .session)
        case .unrecognized(let other):
            return fail(PoolError(.invalidParameter, "Invalid ChallengeName \(other)"))
        default:
            return fail(PoolError.notSupported("The challenge \(name.rawValue)"))
        }
    }

    private mutating func changePassword(_ user: User, previous: String?, proposed: String) -> AuthAction {
        do throws(PoolError) {
            try PoolRules.validatePassword(proposed, policy: context.pool.policy)
        } catch {
            return fail(error)
        }
        let canonical = PoolRules.canonical(user.username, in: context.pool)
        guard let verifier = user.verifier else {
            // A passwordless user sets a first password: the access token is the proof.
            state = .reading(.changePassword(proposed: proposed))
            return .readUser(canonical: canonical)
        }
        guard let previous else {
            return fail(PoolError(.invalidParameter, "PreviousPassword is required for a user with a password"))
        }
        state = .reserving(
            canonical: canonical, digest: verifier.digest,
            check: .password(previous, verifier: verifier, userIdForSrp: user.username),
            purpose: .changePassword(proposed: proposed))
        return .reserve(canonical: canonical, challenge: nil)
    }

    // MARK: Sealed state back from the client

    private mutating func opened(_ opening: Opening, plain: [UInt8]?, box: [UInt8]) -> AuthAction {
        switch opening {
        case .secretBlock(let responses):
            guard let plain, let challenge = SRPChallengeState(decoding: plain) else {
                return fail(Self.invalidSession)
            }
            return claim(
                challenge, block: box, username: responses["USERNAME"], secretHash: responses["SECRET_HASH"],
                signature: responses["PASSWORD_CLAIM_SIGNATURE"], timestamp: responses["TIMESTAMP"])
        case .session(let name, let responses):
            guard let plain, let session = SignInSession(decoding: plain), session.challenge == name,
                session.pool == context.pool.id, session.client == context.client.id
            else { return fail(Self.invalidSession) }
            methods = session.methods
            if let refusal = checkSessionUser(session, responses) { return fail(refusal) }
            switch session.challenge {
            case .softwareTokenMfa: return mfaCode(session, responses)
            case .webAuthn:
                guard let credential = responses["CREDENTIAL"] else {
                    return fail(PoolError(.invalidParameter, "Missing required parameter CREDENTIAL"))
                }
                state = .reading(.passkey(session, credential: credential, claim: Self.challengeId(box)))
                return .readUser(canonical: PoolRules.canonical(session.username, in: context.pool))
            case .selectChallenge:
                guard let answer = responses["ANSWER"] else {
                    return fail(PoolError(.invalidParameter, "Missing required parameter ANSWER"))
                }
                let wanted = ChallengeNameType(rawValue: answer)
                guard FirstFactorRules.choices.contains(wanted) else {
                    return fail(PoolError(.invalidParameter, "Invalid ANSWER \(answer) for SELECT_CHALLENGE"))
                }
                return choose(
                    Choice(
                        identifier: session.identifier, wanted: wanted, parameters: responses, answering: true,
                        admin: false))
            case .emailOtp, .smsMfa, .smsOtp:
                let parameter =
                    switch session.challenge {
                    case .emailOtp: "EMAIL_OTP_CODE"
                    case .smsOtp: "SMS_OTP_CODE"
                    default: "SMS_MFA_CODE"
                    }
                guard let code = responses[parameter] else {
                    return fail(PoolError(.invalidParameter, "Missing required parameter \(parameter)"))
                }
                state = .reading(.emailCode(session, code: code))
                return .readUser(canonical: PoolRules.canonical(session.username, in: context.pool))
            case .selectMfaType:
                guard let answer = responses["ANSWER"] else {
                    return fail(PoolError(.invalidParameter, "Missing required parameter ANSWER"))
                }
                state = .reading(.selected(session, answer: answer))
                return .readUser(canonical: PoolRules.canonical(session.username, in: context.pool))
            case .mfaSetup:
                // Finished only once VerifySoftwareToken saw a code of the new authenticator.
                guard session.factorVerified else { return fail(Self.invalidSession) }
                state = .reading(.mfaSetUp(session))
                return .readUser(canonical: PoolRules.canonical(session.username, in: context.pool))
            default: return newPassword(session, responses)
            }
        case .signUpSession(let identifier):
            let pool = context.pool
            guard let plain, let session = SignUpSession(decoding: plain), session.confirmed,
                session.pool == pool.id, session.client == context.client.id, session.names(identifier, in: pool)
            else { return fail(Self.invalidSession) }
            state = .reading(.autoSignIn(session))
            return .readUser(canonical: PoolRules.canonical(session.username, in: pool))
        case .refreshToken(let username, let secretHash, let secretChecked):
            guard let plain, let token = RefreshTokenState(decoding: plain), token.pool == context.pool.id,
                token.client == context.client.id
            else { return fail(Self.invalidRefresh) }
            if !secretChecked,
                let refusal = SignInRules.checkSecretHash(
                    context.client, username: username ?? token.username, given: secretHash)
            {
                return fail(refusal)
            }
            refreshScopes = token.scopes
            state = .reading(.refresh(token))
            return .readUser(canonical: PoolRules.canonical(token.username, in: context.pool))
        }
    }

    private mutating func newPassword(_ session: SignInSession, _ responses: [String: String]) -> AuthAction {
        let pool = context.pool
        guard let password = responses["NEW_PASSWORD"] else {
            return fail(PoolError(.invalidParameter, "Missing required parameter NEW_PASSWORD"))
        }
        var attributes: [String: String] = [:]
        for (k, v) in responses where k.hasPrefix("userAttributes.") {
            attributes[String(k.dropFirst("userAttributes.".count))] = v
        }
        do throws(PoolError) {
            try PoolRules.validatePassword(password, policy: pool.policy)
            attributes = try AttributeRules.validate(attributes, pool: pool, writer: .user)
        } catch {
            return fail(error)
        }
        if let refusal = AttributeRules.checkWritable(attributes, client: context.client, pool: pool) {
            return fail(refusal)
        }
        state = .reading(.newPassword(session, password: password, attributes: attributes))
        return .readUser(canonical: PoolRules.canonical(session.username, in: pool))
    }

    /// USERNAME names the session's user (by username or the name signed in with), and
    /// SECRET_HASH is over it when the client has a secret.
    private func checkSessionUser(_ session: SignInSession, _ responses: [String: String]) -> PoolError? {
        let pool = context.pool
        guard let username = responses["USERNAME"] else {
            return PoolError(.invalidParameter, "Missing required parameter USERNAME")
        }
        let named = PoolRules.canonical(username, in: pool)
        guard
            named == PoolRules.canonical(session.username, in: pool)
                || named == PoolRules.canonical(session.identifier, in: pool)
        else { return Self.invalidSession }
        return SignInRules.checkSecretHash(context.client, username: username, given: responses["SECRET_HASH"])
    }

    private mutating func mfaCode(_ session: SignInSession, _ responses: [String: String]) -> AuthAction {
        guard let code = responses["SOFTWARE_TOKEN_MFA_CODE"] else {
            return fail(PoolError(.invalidParameter, "Missing required parameter SOFTWARE_TOKEN_MFA_CODE"))
        }
        state = .reading(.mfaCode(session, code: code))
        return .readUser(canonical: PoolRules.canonical(session.username, in: context.pool))
    }

    private mutating func read(_ user: User?, for reading: Reading) -> AuthAction {
        switch reading {
        case .refresh(let token):
            guard let user, user.sub == token.sub else { return fail(Self.invalidRefresh) }
            guard !TokenRules.isRevoked(originJti: token.origin, user: user) else {
                return fail(PoolError(.notAuthorized, "Refresh Token has been revoked"))
            }
            guard user.enabled else { return fail(PoolError(.notAuthorized, "User is disabled.")) }
            if RefreshRotationRules.enabled(context.client) {
                // A rotating family: the current token is replaced (a write); the one just
                // replaced gets the current one again within the grace period.
                do {
                    switch try RefreshRotationRules.check(
                        user, origin: token.origin, rotation: token.rotation, now: context.now)
                    {
                    case .rotate:
                        state = .rotating(token)
                        return .rotateRefresh(user, token)
                    case .retry(let current):
                        state = .done
                        return .issueRotated(user, token: token, rotation: current)
                    }
                } catch {
                    return fail(error)
                }
            }
            // Same auth_time, same token family, no new refresh token.
            state = .done
            return .issueTokens(user, authTime: token.authTime, origin: token.origin)
        case .newPassword(_, let password, let attributes):
            guard let user else { return fail(Self.invalidSession) }
            let change = PasswordChange.completeNew(password: password, attributes: attributes)
            state = .checkingHistory(user, change)
            return .checkHistory(password: password, user: user)
        case .changePassword(let proposed):
            guard let user else { return fail(Self.invalidAccess) }
            state = .checkingHistory(user, .change(password: proposed))
            return .checkHistory(password: proposed, user: user)
        case .emailCode(let session, let code):
            // A code "sent" to a name no user has (a client that hides existence) is wrong.
            if user == nil && context.client.hidesUserExistence { return fail(Self.codeMismatch) }
            guard let user, user.enabled else { return fail(Self.invalidSession) }
            state = .checkingCode(user, method: [.smsMfa, .smsOtp].contains(session.challenge) ? "sms" : "otp")
            return .checkSignInCode(user, code: code)
        case .selected(let session, let answer):
            guard let user, user.enabled else { return fail(Self.invalidSession) }
            guard MfaRules.factors(pool: context.pool, user: user).contains(answer) else {
                return fail(PoolError(.invalidParameter, "Invalid ANSWER \(answer) for SELECT_MFA_TYPE"))
            }
            state = .done
            return secondFactor(ChallengeNameType(rawValue: answer), user: user, identifier: session.identifier)
        case .passkey(let session, let credential, let claim):
            guard let user, user.enabled, !(user.passkeys ?? []).isEmpty else { return fail(Self.invalidSession) }
            // Checked under a slot, naming the session: each challenge is answered once, and
            // parallel guesses cannot outrun the lock.
            let canonical = PoolRules.canonical(user.username, in: context.pool)
            state = .reserving(
                canonical: canonical, digest: user.verifier?.digest ?? [],
                check: .passkey(user, credential: credential, challenge: session.passkeyChallenge),
                purpose: .passkey(user, refusal: nil))
            return .reserve(
                canonical: canonical, challenge: AttemptChallenge(id: claim, node: session.node, boot: session.boot))
        case .autoSignIn(let session):
            guard let user, user.sub == session.sub, user.enabled, user.status == .confirmed else {
                return fail(Self.invalidSession)
            }
            state = .done
            guard let challenge = MfaRules.challenge(pool: context.pool, user: user) else {
                return .issueTokens(user, authTime: context.now, origin: nil)
            }
            return secondFactor(challenge, user: user, identifier: session.username)
        case .mfaSetUp:
            guard let user, user.enabled, user.mfa?.totpVerified == true else { return fail(Self.invalidSession) }
            // The authenticator's first code (VerifySoftwareToken) was the second factor.
            completed("otp")
            state = .done
            return .issueTokens(user, authTime: context.now, origin: nil)
        case .mfaCode(let session, let code):
            guard let user, user.enabled, user.mfa?.totpVerified == true else { return fail(Self.invalidSession) }
            // Checked under a slot, as a password is: parallel guesses cannot outrun the lock.
            let canonical = PoolRules.canonical(user.username, in: context.pool)
            state = .reserving(
                canonical: canonical, digest: user.verifier?.digest ?? [], check: .totp(user, code: code),
                purpose: .mfa(session, user: user))
            return .reserve(canonical: canonical, challenge: nil)
        }
    }

    // MARK: Choice-based sign-in (USER_AUTH)

    private mutating func userAuth(_ params: [String: String], admin: Bool, session: String?) -> AuthAction {
        guard SignInRules.allows(context.client, .userAuth) else {
            return fail(PoolError(.invalidParameter, "USER_AUTH flow not enabled for this client"))
        }
        guard let username = params["USERNAME"] else {
            return fail(PoolError(.invalidParameter, "Missing required parameter USERNAME"))
        }
        if let refusal = SignInRules.checkSecretHash(context.client, username: username, given: params["SECRET_HASH"]) {
            return fail(refusal)
        }
        if let session {
            // Straight after ConfirmSignUp: its Session signs the user in.
            state = .opening(.signUpSession(identifier: username))
            return .open(session, .signUpSession)
        }
        var wanted: ChallengeNameType?
        if let preferred = params["PREFERRED_CHALLENGE"] {
            wanted = ChallengeNameType(rawValue: preferred)
            guard FirstFactorRules.choices.contains(wanted!) else {
                return fail(PoolError(.invalidParameter, "Invalid PREFERRED_CHALLENGE \(preferred)"))
            }
        }
        return choose(Choice(identifier: username, wanted: wanted, parameters: params, answering: false, admin: admin))
    }

    /// Checks what the wanted challenge needs, then finds the user.
    private mutating func choose(_ choice: Choice) -> AuthAction {
        switch choice.wanted {
        case .password:
            guard choice.parameters["PASSWORD"] != nil else {
                return fail(PoolError(.invalidParameter, "Missing required parameter PASSWORD"))
            }
        case .passwordSrp:
            guard let a = choice.parameters["SRP_A"] else {
                return fail(PoolError(.invalidParameter, "Missing required parameter SRP_A"))
            }
            if (try? SRPHex.validate(a)) == nil {
                return fail(PoolError(.invalidParameter, "SRP_A is not valid hex"))
            }
        default: break
        }
        state = .choosing(choice)
        return .resolve(identifier: choice.identifier)
    }

    /// The wanted first factor when the user can meet it; otherwise SELECT_CHALLENGE with
    /// the ones offered (a SELECT_CHALLENGE answer must be one of them).
    private mutating func chosen(
        _ choice: Choice, user: User?, readBy: (node: UInt64, boot: UInt64)
    ) -> AuthAction {
        let pool = context.pool
        guard user != nil || context.client.hidesUserExistence else {
            return fail(PoolError(.userNotFound, "User does not exist."))
        }
        let offered = FirstFactorRules.available(pool: pool, user: user)
        let session = SignInSession(
            challenge: .selectChallenge, pool: pool.id, client: context.client.id,
            username: user?.username ?? choice.identifier, identifier: choice.identifier, issuedAt: context.now)
        guard let wanted = choice.wanted, offered.contains(wanted) else {
            if choice.answering {
                let answer = choice.wanted?.rawValue ?? ""
                return fail(PoolError(.invalidParameter, "Invalid ANSWER \(answer) for SELECT_CHALLENGE"))
            }
            guard !offered.isEmpty else {
                // Imported without a password, and no passwordless factor to use instead.
                return fail(PoolError(.passwordResetRequired, "Password reset required for the user"))
            }
            state = .done
            return .offerChallenges(session, available: offered)
        }
        switch wanted {
        case .password:
            return resolved(
                user, readBy: readBy, flow: .password(choice.parameters["PASSWORD"] ?? "", admin: choice.admin),
                identifier: choice.identifier)
        case .passwordSrp:
            return resolved(
                user, readBy: readBy, flow: .srp(clientA: choice.parameters["SRP_A"] ?? ""),
                identifier: choice.identifier)
        case .emailOtp, .smsOtp:
            var codeSession = session
            codeSession.challenge = wanted
            state = .done
            guard let user else { return .pretendSignInCode(codeSession) }
            return .sendSignInCode(user, codeSession)
        case .webAuthn:
            // Offered only to a user with a passkey.
            guard let user else { return fail(Self.invalidSession) }
            var passkeySession = session
            passkeySession.challenge = .webAuthn
            passkeySession.node = readBy.node
            passkeySession.boot = readBy.boot
            state = .done
            return .askPasskey(passkeySession, user: user)
        default:
            return fail(PoolError.notSupported("The \(wanted.rawValue) first factor"))
        }
    }

    /// Why a user whose factor was right still may not sign in, or nil.
    static func statusRefusal(_ user: User) -> PoolError? {
        guard user.enabled else { return PoolError(.notAuthorized, "User is disabled.") }
        switch user.status {
        case .confirmed: return nil
        case .unconfirmed: return PoolError(.userNotConfirmed, "User is not confirmed.")
        case .resetRequired: return PoolError(.passwordResetRequired, "Password reset required for the user")
        default: return PoolError(.notAuthorized, "Incorrect username or password.")
        }
    }

    // MARK: Password checks

    private mutating func resolved(
        _ user: User?, readBy: (node: UInt64, boot: UInt64), flow: Flow, identifier: String
    ) -> AuthAction {
        let pool = context.pool
        guard user != nil || context.client.hidesUserExistence else {
            return fail(PoolError(.userNotFound, "User does not exist."))
        }
        if let user, user.verifier == nil, user.status == .resetRequired {
            // Imported by a CSV job: no password yet, and only a reset gives one. (A
            // passwordless user has none either: any password is a wrong one, checked
            // against a verifier of a name no user has.)
            guard user.enabled else { return fail(PoolError(.notAuthorized, "User is disabled.")) }
            return fail(PoolError(.passwordResetRequired, "Password reset required for the user"))
        }
        let canonical =
            user.map { PoolRules.canonical($0.username, in: pool) } ?? PoolRules.canonical(identifier, in: pool)
        let verifier =
            user?.verifier ?? FakeUser.verifier(key: context.fakeKey, pool: pool.id, canonical: canonical)
        let userIdForSrp =
            user?.username ?? FakeUser.userIdForSrp(key: context.fakeKey, pool: pool, identifier: identifier)
        switch flow {
        case .srp(let clientA):
            state = .done
            return .challenge(
                SRPChallengeState(
                    pool: pool.id, client: context.client.id, identifier: identifier, canonical: canonical,
                    userIdForSrp: userIdForSrp, b: [], B: [], clientA: clientA, verifier: verifier,
                    issuedAt: context.now, node: readBy.node, boot: readBy.boot))
        case .password(let password, _):
            state = .reserving(
                canonical: canonical, digest: verifier.digest,
                check: .password(password, verifier: verifier, userIdForSrp: userIdForSrp),
                purpose: .signIn(identifier: identifier))
            return .reserve(canonical: canonical, challenge: nil)
        }
    }

    private mutating func claim(
        _ challenge: SRPChallengeState, block: [UInt8], username: String?, secretHash: String?, signature: String?,
        timestamp: String?
    ) -> AuthAction {
        guard challenge.pool == context.pool.id, challenge.client == context.client.id else {
            return fail(Self.invalidSession)
        }
        guard let signature, let timestamp else {
            return fail(PoolError(.invalidParameter, "Missing PASSWORD_CLAIM_SIGNATURE or TIMESTAMP"))
        }
        guard let username else { return fail(PoolError(.invalidParameter, "Missing required parameter USERNAME")) }
        // The name the client signs in as: what it gave, or the USER_ID_FOR_SRP it was told.
        guard username == challenge.userIdForSrp || username == challenge.identifier else {
            return fail(PoolError(.notAuthorized, "Incorrect username or password."))
        }
        if let refusal = SignInRules.checkSecretHash(context.client, username: username, given: secretHash) {
            return fail(refusal)
        }
        guard let signedAt = try? CognitoTimestamp.parse(timestamp) else {
            return fail(PoolError(.invalidParameter, "TIMESTAMP is not in the expected format"))
        }
        guard abs(signedAt - context.now) <= Self.timestampSkew else {
            return fail(
                PoolError(
                    .notAuthorized, "TIMESTAMP is not within \(Self.timestampSkew / 60) minutes of the server time"))
        }
        state = .reserving(
            canonical: challenge.canonical, digest: challenge.verifier.digest,
            check: .claim(challenge, block: block, signature: signature, timestamp: timestamp),
            purpose: .signIn(identifier: challenge.identifier))
        return .reserve(
            canonical: challenge.canonical,
            challenge: AttemptChallenge(id: Self.challengeId(block), node: challenge.node, boot: challenge.boot))
    }

    /// The id a SECRET_BLOCK is answered under: its sealed bytes' SHA-256 (every box is
    /// sealed with a fresh nonce, so no two challenges share one).
    public static func challengeId(_ block: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: block)) }

    /// The shard's verdict on a checked password, and what follows from it.
    private mutating func recorded(
        _ outcome: AttemptOutcome, _ user: User?, purpose: Purpose, canonical: String
    ) -> AuthAction {
        switch outcome {
        case .lockedOut: return fail(PoolError(.notAuthorized, PoolError.lockedOutMessage))
        case .replayed: return fail(Self.invalidSession)
        case .refused:
            if case .mfa = purpose { return fail(Self.codeMismatch) }
            if case .passkey(_, let refusal?) = purpose { return fail(refusal) }
            return fail(PoolError(.notAuthorized, "Incorrect username or password."))
        case .accepted: break
        }
        let identifier: String
        switch purpose {
        case .mfa:
            return fail(Self.codeMismatch)
        case .passkey(_, let refusal):
            return fail(refusal ?? Self.invalidSession)
        case .changePassword(let proposed):
            // The record the change replaces is read whole (history included).
            state = .reading(.changePassword(proposed: proposed))
            return .readUser(canonical: canonical)
        case .signIn(let name):
            identifier = name
        }
        completed("pwd")
        state = .done
        guard let user else { return .fail(PoolError(.notAuthorized, "Incorrect username or password.")) }
        guard user.enabled else { return .fail(PoolError(.notAuthorized, "User is disabled.")) }
        switch user.status {
        case .unconfirmed: return .fail(PoolError(.userNotConfirmed, "User is not confirmed."))
        case .resetRequired: return .fail(PoolError(.passwordResetRequired, "Password reset required for the user"))
        case .forceChangePassword:
            if let expires = user.temporaryPasswordExpiresAt, expires < context.now {
                return .fail(
                    PoolError(.notAuthorized, "Temporary password has expired and must be reset by an administrator."))
            }
            let readable = AttributeRules.readable(user, client: context.client, pool: context.pool)
                .filter { $0.key != "sub" && !AttributeRules.verificationAttributes.contains($0.key) }
            return .askNewPassword(
                SignInSession(
                    challenge: .newPasswordRequired, pool: context.pool.id, client: context.client.id,
                    username: user.username, identifier: identifier, issuedAt: context.now),
                attributes: readable)
        case .confirmed:
            guard let challenge = MfaRules.challenge(pool: context.pool, user: user) else {
                return .issueTokens(user, authTime: context.now, origin: nil)
            }
            return secondFactor(challenge, user: user, identifier: identifier)
        default:
            // Statuses this pool never writes (archived, compromised, external…).
            return .fail(PoolError(.notAuthorized, "Incorrect username or password."))
        }
    }

    /// The challenge a right password leads to when MFA asks for more.
    private func secondFactor(_ challenge: ChallengeNameType, user: User, identifier: String) -> AuthAction {
        let session = SignInSession(
            challenge: challenge, pool: context.pool.id, client: context.client.id, username: user.username,
            identifier: identifier, issuedAt: context.now)
        func list(_ names: [String]) -> String { "[" + names.map { "\"\($0)\"" }.joined(separator: ",") + "]" }
        switch challenge {
        case .softwareTokenMfa:
            return .askChallenge(session, parameters: [:])
        case .emailOtp, .smsMfa:
            return .sendSignInCode(user, session)
        case .selectMfaType:
            return .askChallenge(
                session, parameters: ["MFAS_CAN_CHOOSE": list(MfaRules.factors(pool: context.pool, user: user))])
        case .mfaSetup:
            return .askChallenge(session, parameters: ["MFAS_CAN_SETUP": list([MfaRules.softwareToken])])
        case .webAuthn:
            // The user's passkey after the password; claimed once on the node whose slot
            // checked the password (the front fills it in).
            return .askPasskey(session, user: user)
        default:
            return .fail(PoolError.notSupported("The \(challenge.rawValue) challenge"))
        }
    }
}

/// A password a sign-in sets, once the old one (or the temporary one) has been checked.
public enum PasswordChange: Sendable, Equatable {
    /// NEW_PASSWORD_REQUIRED answered: the password, and the attributes given with it.
    case completeNew(password: String, attributes: [String: String])
    /// ChangePassword, the previous password checked.
    case change(password: String)
}

/// What the front tells a sign-in.
public enum AuthEvent: Sendable {
    /// InitiateAuth / AdminInitiateAuth (`admin`) with its AuthParameters, and its Session
    /// (USER_AUTH straight after ConfirmSignUp).
    case initiate(AuthFlowType, parameters: [String: String], admin: Bool, session: String? = nil)
    /// RespondToAuthChallenge / AdminRespondToAuthChallenge.
    case respond(ChallengeNameType, responses: [String: String], session: String?)
    /// GetTokensFromRefreshToken: the client secret (if any) already checked.
    case refresh(token: String?)
    /// The managed login page's form: a password sign-in that page runs for the user.
    case managedLogin(username: String, password: String)
    /// The managed login page's passkey button: a WEB_AUTHN challenge for the name typed.
    case managedPasskey(username: String)
    /// ChangePassword, for the user the access token speaks for.
    case changePassword(User, previous: String?, proposed: String)
    /// The plaintext of the sealed text `open` asked for (nil: not ours, expired, or not
    /// sealed text at all), and the box it came in.
    case opened([UInt8]?, box: [UInt8])
    /// The user the identifier names, or nil; found with the same reads whatever the answer.
    /// `node` and `boot`: the node (and its run) that read it on the user's shard, where an
    /// SRP challenge is claimed.
    case resolved(User?, node: UInt64, boot: UInt64)
    /// The user's shard leader's slot for the check (or its refusal: locked, replayed).
    case reserved(AttemptSlot)
    /// The crypto's verdict on the password or the claim.
    case checked(passwordOK: Bool)
    /// The user's shard recorded the attempt (with the user, without verifier, if accepted).
    case recorded(AttemptOutcome, User?)
    /// The user `readUser` asked for, whole, or nil.
    case userRead(User?)
    /// Whether the new password is one the pool's history keeps the user away from.
    case historyChecked(reused: Bool)
    /// The record as the password write left it.
    case passwordSet(User)
    /// The time step a TOTP code is for (nil: not a code of the user's authenticator now,
    /// or one already used).
    case totpChecked(step: Int64?)
    /// The record as the write of a used TOTP step left it.
    case stepUsed(User)
    /// The verdict on a sign-in code (nil: right, and used up).
    case signInCodeChecked(PoolError?)
    /// The verdict on a passkey's assertion: the counter to keep, or the refusal.
    case passkeyChecked(Result<PasskeyUse, PoolError>)
    /// The record as the write of the passkey's new counter left it.
    case passkeyUsed(User)
    /// The record after a rotation, and the id of the family's refresh token now.
    case rotated(User, rotation: String)
}

/// A passkey assertion that verified: which credential, its new counter and the stored one.
public struct PasskeyUse: Sendable, Equatable {
    public var credentialId: [UInt8]
    public var signCount: UInt32
    public var storedCount: UInt32

    public init(credentialId: [UInt8], signCount: UInt32, storedCount: UInt32) {
        self.credentialId = credentialId
        self.signCount = signCount
        self.storedCount = storedCount
    }
}

/// What a sign-in asks the front to do next.
public enum AuthAction: Sendable {
    /// Open a sealed text of `kind` (with the key that kind is sealed with).
    case open(String?, SealedKind)
    /// Find the user an identifier names (username, or an alias), at equal cost either way.
    case resolve(identifier: String)
    /// Draw b, compute B from the state's verifier, seal the state (with b and B) into
    /// SECRET_BLOCK and answer PASSWORD_VERIFIER.
    case challenge(SRPChallengeState)
    /// Take a slot for one password check of `canonical` on its shard's leader, answering
    /// `challenge` once if there is one.
    case reserve(canonical: String, challenge: AttemptChallenge?)
    /// Recompute the verifier from the password and compare.
    case checkPassword(password: String, verifier: PasswordVerifier, userIdForSrp: String)
    /// Compute S and the key, and check the client's signature over the SECRET_BLOCK `block`.
    case checkClaim(SRPChallengeState, block: [UInt8], signature: String, timestamp: String)
    /// Propose `signInAttempt` to the shard of `canonical`: a failure, or a success that
    /// clears failures (the shard checks the verifier is still the one checked).
    case record(canonical: String, passwordOK: Bool, verifierDigest: [UInt8])
    /// Read the user whole from its shard.
    case readUser(canonical: String)
    /// Whether `password` is in the user's password history (one g^x per entry).
    case checkHistory(password: String, user: User)
    /// Make the verifier and write the password onto the user's record (`UserRules`).
    case setPassword(User, PasswordChange)
    /// Sign the ID and access tokens; a refresh token too when `origin` is nil (a new
    /// sign-in), none for a refresh (the family `origin` kept).
    case issueTokens(User, authTime: Int64, origin: String?)
    /// Rotate the refresh token `token` of a rotating family on the user's record
    /// (`RefreshRotationRules.rotate`, with a new id the front draws), then say `rotated`.
    case rotateRefresh(User, RefreshTokenState)
    /// Sign the ID and access tokens of the family `token` began, and its refresh token
    /// `rotation`.
    case issueRotated(User, token: RefreshTokenState, rotation: String)
    /// Answer NEW_PASSWORD_REQUIRED: seal the session, with the user's attributes.
    case askNewPassword(SignInSession, attributes: [String: String])
    /// Answer another challenge (a second factor): seal the session, with `parameters`.
    case askChallenge(SignInSession, parameters: [String: String])
    /// Answer SELECT_CHALLENGE: seal the session, with the first factors offered.
    case offerChallenges(SignInSession, available: [ChallengeNameType])
    /// Answer EMAIL_OTP or SMS_OTP for a name no user has, as if a code went out (a client
    /// that hides existence): nothing is sent, and any code answered is wrong.
    case pretendSignInCode(SignInSession)
    /// Open the user's TOTP secret and find the step `code` is for, after the last used.
    case checkTotp(User, code: String)
    /// Write the step a code was accepted for (the write refuses a step used since).
    case useTotpStep(User, step: Int64)
    /// Send a one-time code by email or SMS, as the session's challenge says (its hash and
    /// message in one write), and answer the challenge with where it went.
    case sendSignInCode(User, SignInSession)
    /// Check a sign-in code against the user's record (used, or counted, in one write).
    case checkSignInCode(User, code: String)
    /// Answer WEB_AUTHN: draw a challenge into the session, seal it, and send
    /// CREDENTIAL_REQUEST_OPTIONS naming the user's passkeys.
    case askPasskey(SignInSession, user: User)
    /// Verify CREDENTIAL (an assertion) against the user's passkey and `challenge`.
    case checkPasskey(User, credential: String, challenge: [UInt8])
    /// Write the passkey's new counter (and clear failures), refusing one that did not grow.
    case usePasskey(User, PasskeyUse)
    /// Done, with nothing to answer (ChangePassword).
    case finished
    case fail(PoolError)
}

/// Sign-in rules shared by every flow.
public enum SignInRules {
    /// How long a challenge's Session is good for: the client's AuthSessionValidity, in
    /// minutes (3 to 15; Cognito's default is 3).
    public static func sessionSeconds(_ client: AppClient) -> Int64 {
        Int64(client.oauth.authSessionValidity ?? 3) * 60
    }

    /// The refusal for a missing or wrong SECRET_HASH, when the client has a secret.
    public static func checkSecretHash(_ client: AppClient, username: String, given: String?) -> PoolError? {
        let secrets = client.secrets
        guard !secrets.isEmpty else { return nil }
        // Any active secret (two while one is rotated out).
        guard let given,
            secrets.contains(where: {
                SecretHash.verify(given, clientSecret: $0.value, username: username, clientId: client.id)
            })
        else {
            return PoolError(.notAuthorized, "Unable to verify secret hash for client \(client.id)")
        }
        return nil
    }

    /// Whether a client's ExplicitAuthFlows allow `flow` (legacy names too).
    public static func allows(_ client: AppClient, _ flow: AuthFlowType) -> Bool {
        let defaults: [ExplicitAuthFlowsType] = [.allowUserSrpAuth, .allowCustomAuth, .allowRefreshTokenAuth]
        let flows = client.explicitAuthFlows.isEmpty ? defaults : client.explicitAuthFlows
        let legacyOnly = !flows.contains { $0.rawValue.hasPrefix("ALLOW_") }
        switch flow {
        case .userSrpAuth: return flows.contains(.allowUserSrpAuth) || legacyOnly
        case .userPasswordAuth: return flows.contains(.allowUserPasswordAuth) || flows.contains(.userPasswordAuth)
        case .adminUserPasswordAuth, .adminNoSrpAuth:
            return flows.contains(.allowAdminUserPasswordAuth) || flows.contains(.adminNoSrpAuth)
        case .refreshTokenAuth, .refreshToken: return flows.contains(.allowRefreshTokenAuth) || legacyOnly
        case .userAuth: return flows.contains(.allowUserAuth)
        default: return false
        }
    }
}
