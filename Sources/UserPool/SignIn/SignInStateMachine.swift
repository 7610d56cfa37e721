import AuthCrypto
import CognitoModel
import Crypto

/// A password sign-in (SRP or plain password) as a state machine in swift-nio's style: the
/// front feeds it events and performs the actions it returns (reads, crypto, the shard
/// write that records the attempt), and holds no rule of its own. One machine runs one
/// request: InitiateAuth's first step, or RespondToAuthChallenge's PASSWORD_VERIFIER.
///
/// The rules it keeps:
/// - the client must allow the flow, and a client with a secret needs SECRET_HASH over the
///   username at every step that names one;
/// - a name no user has gets a challenge (or a password check) of the same shape and cost
///   as a real user's when the client hides existence, and UserNotFoundException otherwise;
/// - the password's verdict counts only once the user's shard has recorded it, in log
///   order: a locked user's verdict is never revealed, so parallel guesses cannot outrun
///   the lock, and a name no user has locks the same way;
/// - after a right password: disabled, unconfirmed, reset-required and expired temporary
///   passwords are refused; a temporary password leads to NEW_PASSWORD_REQUIRED.
///
/// Pure: time is `now` in the context, randomness stays with the front.
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

    enum State {
        case idle
        case resolving(Flow, identifier: String)
        case checking(canonical: String, digest: [UInt8], challenge: [UInt8]?)
        case recording
        case done
    }

    public let context: Context
    private var state = State.idle

    public init(context: Context) { self.context = context }

    /// How long a SECRET_BLOCK is good for, and how far a client's TIMESTAMP may be off.
    public static let challengeSeconds: Int64 = 300
    public static let timestampSkew: Int64 = 300

    public mutating func received(_ event: AuthEvent) -> AuthAction {
        switch (state, event) {
        case (.idle, .initiate(let flow, let username, let secretHash)):
            return initiate(flow, username: username, secretHash: secretHash)
        case (.resolving(let flow, let identifier), .resolved(let user)):
            return resolved(user, flow: flow, identifier: identifier)
        case (.idle, .claim(let challenge, let block, let username, let secretHash, let signature, let timestamp)):
            return claim(
                challenge, block: block, username: username, secretHash: secretHash, signature: signature,
                timestamp: timestamp)
        case (.checking(let canonical, let digest, let challenge), .checked(let ok)):
            state = .recording
            return .record(canonical: canonical, passwordOK: ok, verifierDigest: digest, challenge: challenge)
        case (.recording, .recorded(let outcome, let user)):
            state = .done
            return recorded(outcome, user)
        default:
            state = .done
            return .fail(PoolError(.internalError, "a sign-in step arrived out of order"))
        }
    }

    private mutating func fail(_ error: PoolError) -> AuthAction {
        state = .done
        return .fail(error)
    }

    private mutating func initiate(_ flow: Flow, username: String?, secretHash: String?) -> AuthAction {
        guard let username else { return fail(PoolError(.invalidParameter, "Missing required parameter USERNAME")) }
        if let refusal = SignInRules.checkSecretHash(context.client, username: username, given: secretHash) {
            return fail(refusal)
        }
        if case .srp(let a) = flow, (try? SRPHex.validate(a)) == nil {
            return fail(PoolError(.invalidParameter, "SRP_A is not valid hex"))
        }
        state = .resolving(flow, identifier: username)
        return .resolve(identifier: username)
    }

    private mutating func resolved(_ user: User?, flow: Flow, identifier: String) -> AuthAction {
        let pool = context.pool
        guard user != nil || context.client.hidesUserExistence else {
            return fail(PoolError(.userNotFound, "User does not exist."))
        }
        if let user, user.verifier == nil {
            // Imported by a CSV job: no password yet, and only a reset gives one.
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
                    issuedAt: context.now))
        case .password(let password, _):
            state = .checking(canonical: canonical, digest: verifier.digest, challenge: nil)
            return .checkPassword(password: password, verifier: verifier, userIdForSrp: userIdForSrp)
        }
    }

    private mutating func claim(
        _ challenge: SRPChallengeState, block: [UInt8], username: String?, secretHash: String?, signature: String?,
        timestamp: String?
    ) -> AuthAction {
        let invalidSession = PoolError(.notAuthorized, "Invalid session for the user, session is expired.")
        guard challenge.pool == context.pool.id, challenge.client == context.client.id else {
            return fail(invalidSession)
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
        state = .checking(
            canonical: challenge.canonical, digest: challenge.verifier.digest, challenge: Self.challengeId(block))
        return .checkClaim(challenge, signature: signature, timestamp: timestamp)
    }

    /// The id a SECRET_BLOCK is answered under: its sealed bytes' SHA-256 (every box is
    /// sealed with a fresh nonce, so no two challenges share one).
    public static func challengeId(_ block: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: block)) }

    private func recorded(_ outcome: AttemptOutcome, _ user: User?) -> AuthAction {
        switch outcome {
        case .lockedOut: return .fail(PoolError(.notAuthorized, PoolError.lockedOutMessage))
        case .replayed: return .fail(PoolError(.notAuthorized, "Invalid session for the user, session is expired."))
        case .refused: return .fail(PoolError(.notAuthorized, "Incorrect username or password."))
        case .accepted: break
        }
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
            return .newPasswordRequired(user)
        case .confirmed:
            return .issueTokens(user, authTime: context.now)
        default:
            // Statuses this pool never writes (archived, compromised, external…).
            return .fail(PoolError(.notAuthorized, "Incorrect username or password."))
        }
    }
}

/// What the front tells a sign-in.
public enum AuthEvent: Sendable {
    /// InitiateAuth / AdminInitiateAuth with a password flow, its USERNAME and SECRET_HASH.
    case initiate(SignInStateMachine.Flow, username: String?, secretHash: String?)
    /// The user the identifier names, or nil; found with the same reads whatever the answer.
    case resolved(User?)
    /// RespondToAuthChallenge PASSWORD_VERIFIER: the opened SECRET_BLOCK, the sealed box it
    /// came in (what the challenge is answered under, once) and the responses.
    case claim(
        SRPChallengeState, block: [UInt8], username: String?, secretHash: String?, signature: String?,
        timestamp: String?)
    /// The crypto's verdict on the password or the claim.
    case checked(passwordOK: Bool)
    /// The user's shard recorded the attempt (with the user, without verifier, if accepted).
    case recorded(AttemptOutcome, User?)
}

/// What a sign-in asks the front to do next.
public enum AuthAction: Sendable {
    /// Find the user an identifier names (username, or an alias), at equal cost either way.
    case resolve(identifier: String)
    /// Draw b, compute B from the state's verifier, seal the state (with b and B) into
    /// SECRET_BLOCK and answer PASSWORD_VERIFIER.
    case challenge(SRPChallengeState)
    /// Recompute the verifier from the password and compare.
    case checkPassword(password: String, verifier: PasswordVerifier, userIdForSrp: String)
    /// Compute S and the key, and check the client's signature over the SECRET_BLOCK.
    case checkClaim(SRPChallengeState, signature: String, timestamp: String)
    /// Propose `signInAttempt` to the shard of `canonical` (naming the SRP challenge
    /// answered, if any).
    case record(canonical: String, passwordOK: Bool, verifierDigest: [UInt8], challenge: [UInt8]?)
    /// Sign the ID and access tokens (and a refresh token).
    case issueTokens(User, authTime: Int64)
    /// Answer NEW_PASSWORD_REQUIRED with a sealed session.
    case newPasswordRequired(User)
    case fail(PoolError)
}

/// Sign-in rules shared by every flow.
public enum SignInRules {
    /// The refusal for a missing or wrong SECRET_HASH, when the client has a secret.
    public static func checkSecretHash(_ client: AppClient, username: String, given: String?) -> PoolError? {
        guard let secret = client.secret else { return nil }
        guard let given, SecretHash.verify(given, clientSecret: secret, username: username, clientId: client.id) else {
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
        default: return false
        }
    }
}
