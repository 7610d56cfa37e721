import AuthCrypto
import CognitoModel
import Crypto

/// A password sign-in (SRP or plain password) as a state machine in swift-nio's style: the
/// front feeds it events and performs the actions it returns (reads, the slot the user's
/// shard leader holds for the check, crypto, the write that records a failure), and holds
/// no rule of its own. One machine runs one request: InitiateAuth's first step, or
/// RespondToAuthChallenge's PASSWORD_VERIFIER.
///
/// The rules it keeps:
/// - the client must allow the flow, and a client with a secret needs SECRET_HASH over the
///   username at every step that names one;
/// - a name no user has gets a challenge (or a password check) of the same shape and cost
///   as a real user's when the client hides existence, and UserNotFoundException otherwise;
/// - a password is checked only under a slot of the user's shard leader, which lets at
///   most as many checks run at once as failures it takes to lock the user: a locked
///   user's password is never checked, so parallel guesses cannot outrun the lock, and a
///   name no user has locks the same way;
/// - a failure is written before its verdict is revealed, and so is a success that clears
///   earlier failures; a success with nothing to clear writes nothing;
/// - an SRP challenge is answered once: its id is claimed once, on the node that read the
///   user for it (a node restarted since refuses it: the client starts again);
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

    /// The check a slot is taken for.
    enum Check {
        case password(String, verifier: PasswordVerifier, userIdForSrp: String)
        case claim(SRPChallengeState, signature: String, timestamp: String)
    }

    enum State {
        case idle
        case resolving(Flow, identifier: String)
        case reserving(canonical: String, digest: [UInt8], check: Check)
        case checking(canonical: String, digest: [UInt8], slot: AttemptSlot)
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
        case (.resolving(let flow, let identifier), .resolved(let user, let node, let boot)):
            return resolved(user, readBy: (node, boot), flow: flow, identifier: identifier)
        case (.idle, .claim(let challenge, let block, let username, let secretHash, let signature, let timestamp)):
            return claim(
                challenge, block: block, username: username, secretHash: secretHash, signature: signature,
                timestamp: timestamp)
        case (.reserving(let canonical, let digest, let check), .reserved(let slot)):
            if let refused = slot.outcome {
                state = .done
                return recorded(refused, nil)
            }
            state = .checking(canonical: canonical, digest: digest, slot: slot)
            switch check {
            case .password(let password, let verifier, let userId):
                return .checkPassword(password: password, verifier: verifier, userIdForSrp: userId)
            case .claim(let challenge, let signature, let timestamp):
                return .checkClaim(challenge, signature: signature, timestamp: timestamp)
            }
        case (.checking(let canonical, let digest, let slot), .checked(let ok)):
            // Right, for a user whose verifier is still the one checked, with no failures to
            // clear: nothing to write.
            if ok, let user = slot.user, !digest.isEmpty, digest == slot.verifierDigest, slot.clear {
                state = .done
                return recorded(.accepted, user)
            }
            state = .recording
            return .record(canonical: canonical, passwordOK: ok, verifierDigest: digest)
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

    private mutating func resolved(
        _ user: User?, readBy: (node: UInt64, boot: UInt64), flow: Flow, identifier: String
    ) -> AuthAction {
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
                    issuedAt: context.now, node: readBy.node, boot: readBy.boot))
        case .password(let password, _):
            state = .reserving(
                canonical: canonical, digest: verifier.digest,
                check: .password(password, verifier: verifier, userIdForSrp: userIdForSrp))
            return .reserve(canonical: canonical, challenge: nil)
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
        state = .reserving(
            canonical: challenge.canonical, digest: challenge.verifier.digest,
            check: .claim(challenge, signature: signature, timestamp: timestamp))
        return .reserve(
            canonical: challenge.canonical,
            challenge: AttemptChallenge(id: Self.challengeId(block), node: challenge.node, boot: challenge.boot))
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
    /// `node` and `boot`: the node (and its run) that read it on the user's shard, where an
    /// SRP challenge is claimed.
    case resolved(User?, node: UInt64, boot: UInt64)
    /// The user's shard leader's slot for the check (or its refusal: locked, replayed).
    case reserved(AttemptSlot)
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
    /// Take a slot for one password check of `canonical` on its shard's leader, answering
    /// `challenge` once if there is one.
    case reserve(canonical: String, challenge: AttemptChallenge?)
    /// Recompute the verifier from the password and compare.
    case checkPassword(password: String, verifier: PasswordVerifier, userIdForSrp: String)
    /// Compute S and the key, and check the client's signature over the SECRET_BLOCK.
    case checkClaim(SRPChallengeState, signature: String, timestamp: String)
    /// Propose `signInAttempt` to the shard of `canonical`: a failure, or a success that
    /// clears failures (the shard checks the verifier is still the one checked).
    case record(canonical: String, passwordOK: Bool, verifierDigest: [UInt8])
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
