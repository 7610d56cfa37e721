import AuthCrypto
import Crypto
import Foundation
import UserPool

/// Sign-in: InitiateAuth, RespondToAuthChallenge and their admin forms. The rules are the
/// domain's `SignInStateMachine`; this file performs its actions (reads, crypto, the shard
/// write that records an attempt, sealing) and encodes the answers.
extension Operations {
    // MARK: State sealed into Sessions and refresh tokens

    struct SessionState: Codable {
        var kind: String
        var pool: String
        var client: String
        var user: String
        var issued: Int64
    }

    struct RefreshState: Codable {
        var pool: String
        var client: String
        var user: String
        var sub: String
        var authTime: Int64
        var origin: String
    }

    func sealBytes(_ bytes: [UInt8], sealer: Sealer, seconds: Int64) -> String {
        var rng = SystemRandomNumberGenerator()
        return Base64.encode(sealer.seal(bytes, expiresAt: now() + seconds, using: &rng))
    }

    func seal<T: Encodable>(_ value: T, sealer: Sealer, seconds: Int64) -> String {
        // Encoding these plain structs cannot fail.
        sealBytes(Array(try! JSONEncoder().encode(value)), sealer: sealer, seconds: seconds)
    }

    func openBytes(_ text: String?, sealer: KeyPath<AuthContext.KeyRing, Sealer>, invalid: CognitoError) throws
        -> (plain: [UInt8], box: [UInt8])
    {
        guard let text, text.utf8.count <= 16_384, let box = Base64.decode(text),
            let plain = try? auth.open(box, now: now(), sealer)
        else { throw invalid }
        return (plain, box)
    }

    func open<T: Decodable>(
        _ text: String?, as: T.Type, sealer: KeyPath<AuthContext.KeyRing, Sealer>, invalid: CognitoError
    ) throws -> (T, [UInt8]) {
        let (plain, box) = try openBytes(text, sealer: sealer, invalid: invalid)
        guard let value = try? JSONDecoder().decode(T.self, from: Data(plain)) else { throw invalid }
        return (value, box)
    }

    static let invalidSession = CognitoError("NotAuthorizedException", "Invalid session for the user, session is expired.")
    static let wrongPassword = CognitoError("NotAuthorizedException", "Incorrect username or password.")

    // MARK: Clients and flows

    func signInClient(_ id: String) async throws -> (AppClient, Pool) {
        let client = try await auth.cachedClient(id) { try await store.appClient(id: id) }
        let pool = try await auth.cachedPool(client.poolId) { try await store.pool(client.poolId) }
        return (client, pool)
    }

    func signInContext(pool: Pool, client: AppClient) -> SignInStateMachine.Context {
        SignInStateMachine.Context(
            pool: pool, client: client, now: now(), lockoutBaseSeconds: lockoutBase,
            fakeKey: auth.fakeSaltKey.withUnsafeBytes { Array($0) })
    }

    func initiateAuth(_ input: JSONInput, admin: Bool) async throws -> [String: Any] {
        let (client, pool) = try await signInClient(try input.required("ClientId", max: 128))
        if admin, try poolId(input) != pool.id { throw CognitoError.resourceNotFound("User pool client \(client.id) does not exist.") }
        let flow = try input.required("AuthFlow", max: 64)
        let params = try input.stringMap("AuthParameters") ?? [:]
        let adminFlows: Set<String> = ["ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"]
        let userFlows: Set<String> = ["USER_SRP_AUTH", "USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"]
        guard userFlows.contains(flow) || (admin && adminFlows.contains(flow)) else {
            if ["CUSTOM_AUTH", "USER_AUTH"].contains(flow) { throw CognitoError.notSupported("The auth flow \(flow)") }
            throw CognitoError.invalidParameter("Invalid AuthFlow \(flow) for \(admin ? "AdminInitiateAuth" : "InitiateAuth")")
        }
        guard SignInRules.allows(client, flow) else { throw CognitoError.invalidParameter("\(flow) flow not enabled for this client") }

        let machineFlow: SignInStateMachine.Flow
        switch flow {
        case "REFRESH_TOKEN_AUTH", "REFRESH_TOKEN":
            let result = try await refresh(
                pool: pool, client: client, token: params["REFRESH_TOKEN"], secretHash: params["SECRET_HASH"],
                username: params["USERNAME"])
            return ["AuthenticationResult": result, "ChallengeParameters": [String: String]()]
        case "USER_SRP_AUTH":
            guard let a = params["SRP_A"] else { throw CognitoError.invalidParameter("Missing required parameter SRP_A") }
            machineFlow = .srp(clientA: a)
        default:
            guard let password = params["PASSWORD"] else {
                throw CognitoError.invalidParameter("Missing required parameter PASSWORD")
            }
            machineFlow = .password(password, admin: admin)
        }
        var machine = SignInStateMachine(context: signInContext(pool: pool, client: client))
        return try await run(
            &machine, .initiate(machineFlow, username: params["USERNAME"], secretHash: params["SECRET_HASH"]))
    }

    func respondToAuthChallenge(_ input: JSONInput, admin: Bool) async throws -> [String: Any] {
        let (client, pool) = try await signInClient(try input.required("ClientId", max: 128))
        if admin, try poolId(input) != pool.id { throw CognitoError.resourceNotFound("User pool client \(client.id) does not exist.") }
        let name = try input.required("ChallengeName", max: 64)
        let responses = try input.stringMap("ChallengeResponses") ?? [:]
        switch name {
        case "PASSWORD_VERIFIER":
            let (plain, box) = try openBytes(
                responses["PASSWORD_CLAIM_SECRET_BLOCK"], sealer: \.challengeSealer, invalid: Self.invalidSession)
            guard let challenge = SRPChallengeState(decoding: plain) else { throw Self.invalidSession }
            var machine = SignInStateMachine(context: signInContext(pool: pool, client: client))
            return try await run(
                &machine,
                .claim(
                    challenge, username: responses["USERNAME"], secretHash: responses["SECRET_HASH"],
                    signature: responses["PASSWORD_CLAIM_SIGNATURE"], timestamp: responses["TIMESTAMP"]),
                secretBlock: box)
        case "NEW_PASSWORD_REQUIRED":
            return try await newPasswordRequired(
                pool: pool, client: client, responses: responses, session: try input.string("Session", max: 4096))
        case "SMS_MFA", "SOFTWARE_TOKEN_MFA", "SELECT_MFA_TYPE", "MFA_SETUP", "DEVICE_SRP_AUTH", "DEVICE_PASSWORD_VERIFIER",
            "CUSTOM_CHALLENGE", "EMAIL_OTP", "SMS_OTP", "PASSWORD", "WEB_AUTHN", "SELECT_CHALLENGE":
            throw CognitoError.notSupported("The challenge \(name)")
        default:
            throw CognitoError.invalidParameter("Invalid ChallengeName \(name)")
        }
    }

    /// Runs a sign-in machine from `event` to its answer, performing each action.
    func run(_ machine: inout SignInStateMachine, _ first: AuthEvent, secretBlock: [UInt8] = []) async throws
        -> [String: Any]
    {
        let context = machine.context
        var action = machine.received(first)
        while true {
            switch action {
            case .resolve(let identifier):
                action = machine.received(.resolved(try await resolveForSignIn(pool: context.pool, identifier: identifier)))
            case .checkPassword(let password, let verifier, let userId):
                let poolName = SRPHash.poolName(fromPoolId: context.pool.id)
                let ok = try await auth.crypto {
                    WorkspacePool.shared.with {
                        $0.verify(password: password, poolName: poolName, userIdForSrp: userId, against: verifier)
                    }
                }
                action = machine.received(.checked(passwordOK: ok))
            case .checkClaim(let state, let signature, let timestamp):
                let ok = try await checkClaim(state, signature: signature, timestamp: timestamp, secretBlock: secretBlock)
                action = machine.received(.checked(passwordOK: ok))
            case .record(let canonical, let ok, let digest):
                let shard = store.userShard(pool: context.pool.id, canonical: canonical)
                let reply = try await store.propose(
                    shard,
                    .signInAttempt(
                        poolId: context.pool.id, canonical: canonical, passwordOK: ok, verifierDigest: digest,
                        now: context.now, lockoutBaseSeconds: context.lockoutBaseSeconds))
                guard case .attempt(let outcome, let user) = reply else {
                    throw CognitoError.internalError("unexpected reply recording a sign-in attempt")
                }
                action = machine.received(.recorded(outcome, user))
            case .challenge(let state):
                return try await srpChallenge(state)
            case .newPasswordRequired(let user):
                return newPasswordChallenge(pool: context.pool, client: context.client, user: user)
            case .issueTokens(let user, let authTime):
                let result = try tokens(pool: context.pool, client: context.client, user: user, authTime: authTime, origin: nil)
                return ["AuthenticationResult": result, "ChallengeParameters": [String: String]()]
            case .fail(let error):
                throw CognitoError(error)
            }
        }
    }

    /// Step 1 of SRP: b, B, and the sealed state as SECRET_BLOCK.
    func srpChallenge(_ state: SRPChallengeState) async throws -> [String: Any] {
        let verifier = state.verifier
        let challenge = try await auth.crypto {
            var rng = SystemRandomNumberGenerator()
            return WorkspacePool.shared.with { $0.startChallenge(verifier: verifier, using: &rng) }
        }
        var sealed = state
        sealed.b = challenge.b
        sealed.B = challenge.B
        let block = sealBytes(sealed.encoded, sealer: auth.challengeSealer, seconds: SignInStateMachine.challengeSeconds)
        return [
            "ChallengeName": "PASSWORD_VERIFIER",
            "ChallengeParameters": [
                "SALT": verifier.saltHex, "SRP_B": challenge.BHex, "USER_ID_FOR_SRP": state.userIdForSrp,
                "USERNAME": state.userIdForSrp, "SECRET_BLOCK": block,
            ],
        ]
    }

    /// Step 2 of SRP: S, the key, and the client's signature, at the same cost for every
    /// user, real or not.
    func checkClaim(_ state: SRPChallengeState, signature: String, timestamp: String, secretBlock: [UInt8]) async throws
        -> Bool
    {
        let poolName = SRPHash.poolName(fromPoolId: state.pool)
        return try await auth.crypto {
            WorkspacePool.shared.with { w in
                let challenge = SRPServerChallenge(b: state.b, B: state.B)
                guard let key = try? w.passwordKey(clientAHex: state.clientA, challenge: challenge, verifier: state.verifier)
                else { return false }
                return SRPWorkspace.verifyClaim(
                    signatureBase64: signature, key: key, poolName: poolName, userIdForSrp: state.userIdForSrp,
                    secretBlock: secretBlock, timestamp: timestamp)
            }
        }
    }

    func newPasswordChallenge(pool: Pool, client: AppClient, user: User) -> [String: Any] {
        let session = seal(
            SessionState(kind: "NEW_PASSWORD_REQUIRED", pool: pool.id, client: client.id, user: user.username, issued: now()),
            sealer: auth.challengeSealer, seconds: SignInStateMachine.challengeSeconds)
        let attrs = attributes(of: user).filter { $0.key != "sub" && $0.key != "email_verified" && $0.key != "phone_number_verified" }
        let attrJSON = String(decoding: (try? JSONSerialization.data(withJSONObject: attrs, options: [.sortedKeys])) ?? Data("{}".utf8), as: UTF8.self)
        return [
            "ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": session,
            "ChallengeParameters": ["USER_ID_FOR_SRP": user.username, "requiredAttributes": "[]", "userAttributes": attrJSON],
        ]
    }

    func newPasswordRequired(pool: Pool, client: AppClient, responses: [String: String], session: String?) async throws -> [String: Any] {
        let (state, _) = try open(session, as: SessionState.self, sealer: \.challengeSealer, invalid: Self.invalidSession)
        guard state.kind == "NEW_PASSWORD_REQUIRED", state.pool == pool.id, state.client == client.id else { throw Self.invalidSession }
        guard let password = responses["NEW_PASSWORD"] else { throw CognitoError.invalidParameter("Missing required parameter NEW_PASSWORD") }
        guard let username = responses["USERNAME"] else { throw CognitoError.invalidParameter("Missing required parameter USERNAME") }
        if let refusal = SignInRules.checkSecretHash(client, username: username, given: responses["SECRET_HASH"]) {
            throw CognitoError(refusal)
        }
        try PoolRules.validatePassword(password, policy: pool.policy)
        var attributes: [String: String] = [:]
        for (k, v) in responses where k.hasPrefix("userAttributes.") { attributes[String(k.dropFirst("userAttributes.".count))] = v }
        try PoolRules.validateAttributes(attributes, pool: pool, creating: false, byAdmin: false)
        if let refusal = PoolRules.checkUserWritable(attributes, client: client) { throw CognitoError(refusal) }
        let verifier = makeVerifier(pool: pool, username: state.user, password: password)
        let user = try await store.modifyUser(pool: pool, username: state.user) { (u: inout User) throws(CognitoError) in
            guard u.status == .forceChangePassword else { throw Self.invalidSession }
            u.verifier = verifier
            u.status = .confirmed
            u.temporaryPasswordExpiresAt = nil
            PoolRules.apply(attributes, to: &u, byAdmin: false)
            u.modifiedAt = now()
        }
        return ["AuthenticationResult": try tokens(pool: pool, client: client, user: user, authTime: now(), origin: nil), "ChallengeParameters": [String: String]()]
    }

    /// The user a sign-in names, found with the same reads whether or not one exists: the
    /// username's record and (in a pool with email, phone or preferred_username as username
    /// or alias) each claim on the identifier, in parallel; then the owner of a claim, or,
    /// when there was none, a read of the same cost, so the time taken does not tell.
    func resolveForSignIn(pool: Pool, identifier: String) async throws -> User? {
        let attributes = uniqueAttributes(pool)
        let canonical = PoolRules.canonical(identifier, in: pool)
        async let direct = store.userIfPresent(pool: pool, canonical: canonical)
        var owner: String?
        for attribute in attributes where owner == nil {
            owner = try await claimOwner(pool, attribute, identifier)
        }
        let user = try await direct
        guard !attributes.isEmpty else { return user }
        // The second read is the claim's owner, or, for a username or no user at all, one of
        // the same cost.
        let second = try await store.userIfPresent(pool: pool, canonical: owner ?? canonical)
        return user ?? (owner != nil ? second : nil)
    }
}
