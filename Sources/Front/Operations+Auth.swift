import AuthCrypto
import Crypto
import Foundation
import UserPool

/// Sign-in: the SRP and password flows, challenges, tokens, lockout and revocation.
extension Operations {
    static let challengeSeconds: Int64 = 300
    static let timestampSkew: Int64 = 300
    /// Cognito: after 5 failures, locked 2^(n−5) s, at most about 15 minutes; forgotten
    /// after 15 quiet minutes.
    static let lockoutFree = 5
    static let lockoutMax: Int64 = 900
    static let lockoutQuiet: Int64 = 900

    // MARK: State sealed into SECRET_BLOCK and Sessions

    struct SRPState: Codable {
        var pool: String
        var client: String
        var user: String
        var fake: Bool
        var b: String
        var B: String
        var A: String
        var issued: Int64
    }

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
        var gen: Int
        var authTime: Int64
        var origin: String
    }

    func seal<T: Encodable>(_ value: T, sealer: Sealer, seconds: Int64) -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = Array(try! JSONEncoder().encode(value))
        return Base64.encode(sealer.seal(bytes, expiresAt: now() + seconds, using: &rng))
    }

    func open<T: Decodable>(
        _ text: String?, as: T.Type, sealer: KeyPath<AuthContext.KeyRing, Sealer>, invalid: CognitoError
    ) throws -> (T, [UInt8]) {
        guard let text, let box = Base64.decode(text), let plain = try? auth.open(box, now: now(), sealer),
            let value = try? JSONDecoder().decode(T.self, from: Data(plain))
        else { throw invalid }
        return (value, box)
    }

    static let invalidSession = CognitoError("NotAuthorizedException", "Invalid session for the user, session is expired.")
    static let wrongPassword = CognitoError("NotAuthorizedException", "Incorrect username or password.")
    static let lockedOut = CognitoError("NotAuthorizedException", "Password attempts exceeded")

    // MARK: Clients and flows

    func signInClient(_ id: String) async throws -> (AppClient, Pool) {
        let client = try await auth.cachedClient(id) { try await store.appClient(id: id) }
        let pool = try await auth.cachedPool(client.poolId) { try await store.pool(client.poolId) }
        return (client, pool)
    }

    func allows(_ client: AppClient, _ flow: String) -> Bool {
        let flows = client.explicitAuthFlows.isEmpty ? ["ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"] : client.explicitAuthFlows
        switch flow {
        case "USER_SRP_AUTH": return flows.contains("ALLOW_USER_SRP_AUTH") || !flows.contains(where: { $0.hasPrefix("ALLOW_") })
        case "USER_PASSWORD_AUTH": return flows.contains("ALLOW_USER_PASSWORD_AUTH") || flows.contains("USER_PASSWORD_AUTH")
        case "ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH": return flows.contains("ALLOW_ADMIN_USER_PASSWORD_AUTH") || flows.contains("ADMIN_NO_SRP_AUTH")
        case "REFRESH_TOKEN_AUTH", "REFRESH_TOKEN": return flows.contains("ALLOW_REFRESH_TOKEN_AUTH") || !flows.contains(where: { $0.hasPrefix("ALLOW_") })
        default: return false
        }
    }

    func checkSecretHash(_ client: AppClient, username: String, given: String?) throws {
        guard let secret = client.secret else { return }
        guard let given, SecretHash.verify(given, clientSecret: secret, username: username, clientId: client.id) else {
            throw CognitoError("NotAuthorizedException", "Unable to verify secret hash for client \(client.id)")
        }
    }

    func initiateAuth(_ input: JSONInput, admin: Bool) async throws -> [String: Any] {
        let (client, pool) = try await signInClient(try input.required("ClientId", max: 128))
        if admin, try poolId(input) != pool.id { throw CognitoError.resourceNotFound("User pool client \(client.id) does not exist.") }
        let flow = try input.required("AuthFlow", max: 64)
        let params = try input.stringMap("AuthParameters") ?? [:]
        let adminFlows: Set<String> = ["ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"]
        guard ["USER_SRP_AUTH", "USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"].contains(flow) || (admin && adminFlows.contains(flow)) else {
            if ["CUSTOM_AUTH", "USER_AUTH"].contains(flow) { throw CognitoError.notSupported("The auth flow \(flow)") }
            throw CognitoError.invalidParameter("Invalid AuthFlow \(flow) for \(admin ? "AdminInitiateAuth" : "InitiateAuth")")
        }
        guard allows(client, flow) else { throw CognitoError.invalidParameter("\(flow) flow not enabled for this client") }

        switch flow {
        case "REFRESH_TOKEN_AUTH", "REFRESH_TOKEN":
            return ["AuthenticationResult": try await refresh(pool: pool, client: client, token: params["REFRESH_TOKEN"], secretHash: params["SECRET_HASH"], username: params["USERNAME"]), "ChallengeParameters": [String: String]()]
        case "USER_SRP_AUTH":
            guard let username = params["USERNAME"], let a = params["SRP_A"] else {
                throw CognitoError.invalidParameter("Missing required parameter \(params["USERNAME"] == nil ? "USERNAME" : "SRP_A")")
            }
            try checkSecretHash(client, username: username, given: params["SECRET_HASH"])
            return try await startSRP(pool: pool, client: client, username: username, clientA: a)
        default:
            guard let username = params["USERNAME"], let password = params["PASSWORD"] else {
                throw CognitoError.invalidParameter("Missing required parameter \(params["USERNAME"] == nil ? "USERNAME" : "PASSWORD")")
            }
            try checkSecretHash(client, username: username, given: params["SECRET_HASH"])
            guard let user = try await findForSignIn(pool: pool, client: client, username: username) else { throw Self.wrongPassword }
            try checkLock(user)
            let verifier = user.verifier
            let ok = try await auth.crypto { [pool] in
                guard let verifier else { return false }
                return WorkspacePool.shared.with {
                    $0.verify(password: password, poolName: SRPHash.poolName(fromPoolId: pool.id), userIdForSrp: user.username, against: verifier)
                }
            }
            return try await finishPasswordCheck(pool: pool, client: client, user: user, ok: ok)
        }
    }

    /// The user for a sign-in, or nil for an unknown one when the client hides existence.
    func findForSignIn(pool: Pool, client: AppClient, username: String) async throws -> User? {
        do {
            return try await resolveUser(pool: pool, username: username)
        } catch let e as CognitoError where e.type == "UserNotFoundException" {
            if client.preventUserExistenceErrors == "ENABLED" { return nil }
            throw e
        }
    }

    func checkLock(_ user: User) throws {
        if let until = user.lockedUntil, until > now() { throw Self.lockedOut }
    }

    func startSRP(pool: Pool, client: AppClient, username: String, clientA: String) async throws -> [String: Any] {
        do { try SRPHex.validate(clientA) } catch { throw CognitoError.invalidParameter("SRP_A is not valid hex") }
        let user = try await findForSignIn(pool: pool, client: client, username: username)
        if let user { try checkLock(user) }
        let verifier: PasswordVerifier
        let userId: String
        if let user, let v = user.verifier {
            verifier = v
            userId = user.username
        } else {
            // Unknown user: a challenge of the same shape from a salt that is the same on
            // every attempt, so probing cannot tell the difference.
            let seed = Array(HMAC<SHA256>.authenticationCode(for: Array("\(pool.id)/\(username)".utf8), using: auth.fakeSaltKey))
            let fakeSalt = Array(seed.prefix(16))
            verifier = try await auth.crypto {
                WorkspacePool.shared.with { $0.verifier(salt: fakeSalt, poolName: "fake", userIdForSrp: username, password: Base64.encode(seed), includingPowers: false) }
            }
            userId = username
        }
        let challenge = try await auth.crypto {
            var rng = SystemRandomNumberGenerator()
            return WorkspacePool.shared.with { $0.startChallenge(verifier: verifier, using: &rng) }
        }
        let state = SRPState(pool: pool.id, client: client.id, user: userId, fake: user == nil, b: SRPHex.encode(challenge.b).padded(64),
                             B: challenge.BHex, A: clientA, issued: now())
        return [
            "ChallengeName": "PASSWORD_VERIFIER",
            "ChallengeParameters": [
                "SALT": verifier.saltHex, "SRP_B": challenge.BHex, "USER_ID_FOR_SRP": userId, "USERNAME": userId,
                "SECRET_BLOCK": seal(state, sealer: auth.challengeSealer, seconds: Self.challengeSeconds),
            ],
        ]
    }

    func respondToAuthChallenge(_ input: JSONInput, admin: Bool) async throws -> [String: Any] {
        let (client, pool) = try await signInClient(try input.required("ClientId", max: 128))
        if admin, try poolId(input) != pool.id { throw CognitoError.resourceNotFound("User pool client \(client.id) does not exist.") }
        let name = try input.required("ChallengeName", max: 64)
        let responses = try input.stringMap("ChallengeResponses") ?? [:]
        switch name {
        case "PASSWORD_VERIFIER":
            return try await passwordVerifier(pool: pool, client: client, responses: responses)
        case "NEW_PASSWORD_REQUIRED":
            return try await newPasswordRequired(pool: pool, client: client, responses: responses, session: try input.string("Session", max: 4096))
        case "SMS_MFA", "SOFTWARE_TOKEN_MFA", "SELECT_MFA_TYPE", "MFA_SETUP", "DEVICE_SRP_AUTH", "DEVICE_PASSWORD_VERIFIER", "CUSTOM_CHALLENGE":
            throw CognitoError.notSupported("The challenge \(name)")
        default:
            throw CognitoError.invalidParameter("Invalid ChallengeName \(name)")
        }
    }

    func passwordVerifier(pool: Pool, client: AppClient, responses: [String: String]) async throws -> [String: Any] {
        let (state, box) = try open(responses["PASSWORD_CLAIM_SECRET_BLOCK"], as: SRPState.self, sealer: \.challengeSealer, invalid: Self.invalidSession)
        guard state.pool == pool.id, state.client == client.id else { throw Self.invalidSession }
        guard let signature = responses["PASSWORD_CLAIM_SIGNATURE"], let timestamp = responses["TIMESTAMP"] else {
            throw CognitoError.invalidParameter("Missing PASSWORD_CLAIM_SIGNATURE or TIMESTAMP")
        }
        if let username = responses["USERNAME"] { try checkSecretHash(client, username: username, given: responses["SECRET_HASH"]) }
        guard let signedAt = try? CognitoTimestamp.parse(timestamp) else { throw CognitoError.invalidParameter("TIMESTAMP is not in the expected format") }
        guard abs(signedAt - now()) <= Self.timestampSkew else { throw CognitoError("NotAuthorizedException", "TIMESTAMP is not within \(Self.timestampSkew / 60) minutes of the server time") }
        if state.fake { throw Self.wrongPassword }
        let user = try await resolveUser(pool: pool, username: state.user)
        try checkLock(user)
        guard let verifier = user.verifier, let b = SRPHex.decode(state.b), let B = SRPHex.decode(SRPHex.padHex(state.B)) else { throw Self.wrongPassword }
        let poolName = SRPHash.poolName(fromPoolId: pool.id)
        let clientA = state.A
        let ok = try await auth.crypto {
            WorkspacePool.shared.with { w in
                guard let key = try? w.passwordKey(clientAHex: clientA, challenge: SRPServerChallenge(b: b, B: B), verifier: verifier) else { return false }
                return SRPWorkspace.verifyClaim(signatureBase64: signature, key: key, poolName: poolName, userIdForSrp: user.username, secretBlock: box, timestamp: timestamp)
            }
        }
        return try await finishPasswordCheck(pool: pool, client: client, user: user, ok: ok)
    }

    /// After a password check: lockout bookkeeping (a write only when state changes), user
    /// state checks, then a challenge or tokens.
    func finishPasswordCheck(pool: Pool, client: AppClient, user: User, ok: Bool) async throws -> [String: Any] {
        let t = now()
        guard ok else {
            _ = try? await store.modifyUser(pool: pool, username: user.username) { (u: inout User) throws(CognitoError) in
                if let last = u.lastFailureAt, t - last > Self.lockoutQuiet { u.failedAttempts = 0 }
                u.failedAttempts += 1
                u.lastFailureAt = t
                if u.failedAttempts >= Self.lockoutFree {
                    let exponent = min(u.failedAttempts - Self.lockoutFree, 10)
                    // Whole seconds: `t` is now rounded down, so one more second makes the
                    // lock last at least its length (a 1 s lock set at x.99 would otherwise
                    // end at the next second, 10 ms later).
                    u.lockedUntil = t + 1 + min(lockoutBase << exponent, Self.lockoutMax)
                }
            }
            throw Self.wrongPassword
        }
        var user = user
        if user.failedAttempts > 0 || user.lockedUntil != nil {
            user = try await store.modifyUser(pool: pool, username: user.username) { (u: inout User) throws(CognitoError) in
                u.failedAttempts = 0
                u.lockedUntil = nil
                u.lastFailureAt = nil
            }
        }
        guard user.enabled else { throw CognitoError("NotAuthorizedException", "User is disabled.") }
        switch user.status {
        case .unconfirmed: throw CognitoError("UserNotConfirmedException", "User is not confirmed.")
        case .resetRequired: throw CognitoError("PasswordResetRequiredException", "Password reset required for the user")
        case .forceChangePassword:
            if let expires = user.temporaryPasswordExpiresAt, expires < t {
                throw CognitoError("NotAuthorizedException", "Temporary password has expired and must be reset by an administrator.")
            }
            let session = seal(SessionState(kind: "NEW_PASSWORD_REQUIRED", pool: pool.id, client: client.id, user: user.username, issued: t), sealer: auth.challengeSealer, seconds: Self.challengeSeconds)
            let attrs = attributes(of: user).filter { $0.key != "sub" && $0.key != "email_verified" && $0.key != "phone_number_verified" }
            let attrJSON = String(decoding: (try? JSONSerialization.data(withJSONObject: attrs, options: [.sortedKeys])) ?? Data("{}".utf8), as: UTF8.self)
            return [
                "ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": session,
                "ChallengeParameters": ["USER_ID_FOR_SRP": user.username, "requiredAttributes": "[]", "userAttributes": attrJSON],
            ]
        case .confirmed:
            return ["AuthenticationResult": try tokens(pool: pool, client: client, user: user, authTime: t, origin: nil), "ChallengeParameters": [String: String]()]
        }
    }

    func newPasswordRequired(pool: Pool, client: AppClient, responses: [String: String], session: String?) async throws -> [String: Any] {
        let (state, _) = try open(session, as: SessionState.self, sealer: \.challengeSealer, invalid: Self.invalidSession)
        guard state.kind == "NEW_PASSWORD_REQUIRED", state.pool == pool.id, state.client == client.id else { throw Self.invalidSession }
        guard let password = responses["NEW_PASSWORD"] else { throw CognitoError.invalidParameter("Missing required parameter NEW_PASSWORD") }
        if let username = responses["USERNAME"] { try checkSecretHash(client, username: username, given: responses["SECRET_HASH"]) }
        try PoolRules.validatePassword(password, policy: pool.policy)
        var attributes: [String: String] = [:]
        for (k, v) in responses where k.hasPrefix("userAttributes.") { attributes[String(k.dropFirst("userAttributes.".count))] = v }
        try PoolRules.validateAttributes(attributes, pool: pool, creating: false, byAdmin: false)
        let verifier = makeVerifier(pool: pool, username: state.user, password: password)
        let user = try await store.modifyUser(pool: pool, username: state.user) { (u: inout User) throws(CognitoError) in
            guard u.status == .forceChangePassword else { throw Self.invalidSession }
            u.verifier = verifier
            u.status = .confirmed
            u.temporaryPasswordExpiresAt = nil
            for (k, v) in attributes { u.attributes[k] = v }
            u.modifiedAt = now()
        }
        return ["AuthenticationResult": try tokens(pool: pool, client: client, user: user, authTime: now(), origin: nil), "ChallengeParameters": [String: String]()]
    }

    // MARK: Tokens

    func tokens(pool: Pool, client: AppClient, user: User, authTime: Int64, origin: String?) throws -> [String: Any] {
        let signer = try auth.signer(for: pool)
        let t = now()
        let accessSeconds = Int64(client.accessTokenValidity ?? 60) * unitSeconds(client.tokenValidityUnits?["AccessToken"] ?? "minutes")
        let idSeconds = Int64(client.idTokenValidity ?? 60) * unitSeconds(client.tokenValidityUnits?["IdToken"] ?? "minutes")
        let refreshSeconds = Int64(client.refreshTokenValidity) * unitSeconds(client.tokenValidityUnits?["RefreshToken"] ?? "days")
        var rng = SystemRandomNumberGenerator()
        let originJti = origin ?? randomUUIDString(using: &rng)
        let eventId = randomUUIDString(using: &rng)
        var common: [String: Any] = [
            "sub": user.sub, "iss": auth.issuer(pool.id), "auth_time": authTime, "iat": t, "origin_jti": originJti,
            "event_id": eventId, "cognate:gen": user.tokenGeneration,
        ]
        if let groups = user.groups, !groups.isEmpty { common["cognito:groups"] = groups }
        var access = common
        access["token_use"] = "access"
        access["client_id"] = client.id
        access["username"] = user.username
        access["scope"] = "aws.cognito.signin.user.admin"
        access["exp"] = t + accessSeconds
        access["jti"] = randomUUIDString(using: &rng)
        var id = common
        id["token_use"] = "id"
        id["aud"] = client.id
        id["cognito:username"] = user.username
        id["exp"] = t + idSeconds
        id["jti"] = randomUUIDString(using: &rng)
        let readable = client.readAttributes
        for (k, v) in user.attributes where readable?.contains(k) ?? true {
            if k == "email_verified" || k == "phone_number_verified" { id[k] = v == "true" } else { id[k] = v }
        }
        if user.attributes["email"] != nil && id["email_verified"] == nil && readable?.contains("email_verified") ?? true { id["email_verified"] = false }
        var result: [String: Any] = [
            "AccessToken": try signer.sign(access), "IdToken": try signer.sign(id), "ExpiresIn": accessSeconds, "TokenType": "Bearer",
        ]
        if origin == nil {
            result["RefreshToken"] = seal(
                RefreshState(pool: pool.id, client: client.id, user: user.username, sub: user.sub, gen: user.tokenGeneration, authTime: authTime, origin: originJti),
                sealer: auth.tokenSealer, seconds: refreshSeconds)
        }
        return result
    }

    func unitSeconds(_ unit: String) -> Int64 {
        switch unit { case "seconds": 1; case "minutes": 60; case "hours": 3600; default: 86_400 }
    }

    static let invalidRefresh = CognitoError("NotAuthorizedException", "Invalid Refresh Token")

    func refresh(pool: Pool, client: AppClient, token: String?, secretHash: String?, username: String?) async throws -> [String: Any] {
        let (state, _) = try open(token, as: RefreshState.self, sealer: \.tokenSealer, invalid: Self.invalidRefresh)
        guard state.pool == pool.id, state.client == client.id else { throw Self.invalidRefresh }
        if client.secret != nil { try checkSecretHash(client, username: username ?? state.user, given: secretHash) }
        let user = try await currentUser(pool: pool, username: state.user, invalid: Self.invalidRefresh)
        guard user.sub == state.sub, user.tokenGeneration == state.gen, !(user.revokedOrigins ?? []).contains(state.origin) else {
            throw CognitoError("NotAuthorizedException", "Refresh Token has been revoked")
        }
        guard user.enabled else { throw CognitoError("NotAuthorizedException", "User is disabled.") }
        // Same auth_time, same token family, no new refresh token.
        return try tokens(pool: pool, client: client, user: user, authTime: state.authTime, origin: state.origin)
    }

    func currentUser(pool: Pool, username: String, invalid: CognitoError) async throws -> User {
        do {
            return try await store.user(pool: pool, username: username)
        } catch where error.type == "UserNotFoundException" {
            throw invalid
        }
    }

    func getTokensFromRefreshToken(_ input: JSONInput) async throws -> [String: Any] {
        let (client, pool) = try await signInClient(try input.required("ClientId", max: 128))
        if let secret = client.secret, try input.string("ClientSecret") != secret { throw CognitoError("NotAuthorizedException", "Client secret is wrong") }
        let token = try input.required("RefreshToken", max: 4096)
        let (state, _) = try open(token, as: RefreshState.self, sealer: \.tokenSealer, invalid: Self.invalidRefresh)
        let secretHash = client.secret.map { SecretHash.compute(clientSecret: $0, username: state.user, clientId: client.id) }
        return ["AuthenticationResult": try await refresh(pool: pool, client: client, token: token, secretHash: secretHash, username: state.user)]
    }

    // MARK: Access tokens

    static let invalidAccess = CognitoError("NotAuthorizedException", "Invalid Access Token")

    /// The user an access token speaks for, after checking signature, expiry, use, sign-outs
    /// and revocations against the user's current record.
    func authenticate(_ input: JSONInput) async throws -> (Pool, User, [String: Any]) {
        let token = try input.required("AccessToken", max: 8192)
        let parts = token.split(separator: ".")
        guard parts.count == 3, let payload = Base64URL.decode(String(parts[1])),
            let unverified = (try? JSONSerialization.jsonObject(with: Data(payload))) as? [String: Any],
            let iss = unverified["iss"] as? String, iss.hasPrefix(auth.publicURL + "/")
        else { throw Self.invalidAccess }
        let poolId = String(iss.dropFirst(auth.publicURL.count + 1))
        let pool = try await auth.cachedPool(poolId) { try await store.pool(poolId) }
        guard let claims = try auth.signer(for: pool).verify(token), claims["token_use"] as? String == "access",
            let exp = (claims["exp"] as? NSNumber)?.int64Value, let username = claims["username"] as? String,
            let gen = (claims["cognate:gen"] as? NSNumber)?.intValue
        else { throw Self.invalidAccess }
        guard exp > now() else { throw CognitoError("NotAuthorizedException", "Access Token has expired") }
        let user = try await currentUser(pool: pool, username: username, invalid: Self.invalidAccess)
        guard user.tokenGeneration == gen, !(user.revokedOrigins ?? []).contains(claims["origin_jti"] as? String ?? "") else {
            throw CognitoError("NotAuthorizedException", "Access Token has been revoked")
        }
        return (pool, user, claims)
    }

    func getUser(_ input: JSONInput) async throws -> [String: Any] {
        let (_, user, _) = try await authenticate(input)
        return ["Username": user.username, "UserAttributes": JSONOutput.attributes(attributes(of: user)), "UserMFASettingList": [String]()]
    }

    func updateUserAttributes(_ input: JSONInput) async throws -> [String: Any] {
        let (pool, user, claims) = try await authenticate(input)
        guard let attributes = try input.attributes("UserAttributes") else { throw CognitoError.invalidParameter("UserAttributes is required") }
        try PoolRules.validateAttributes(attributes, pool: pool, creating: false, byAdmin: false)
        if let clientId = claims["client_id"] as? String, let client = try? await store.appClient(pool: pool.id, id: clientId),
            let writable = client.writeAttributes, let bad = attributes.keys.sorted().first(where: { !writable.contains($0) })
        {
            throw CognitoError("NotAuthorizedException", "A client attempted to write unauthorized attribute \(bad)")
        }
        var forward = JSONInput(fields: ["UserPoolId": pool.id, "Username": user.username, "UserAttributes": JSONOutput.attributes(attributes)])
        forward = JSONInput(fields: forward.fields)
        _ = try await adminUpdateUserAttributes(forward)
        return ["CodeDeliveryDetailsList": [Any]()]
    }

    func deleteUser(_ input: JSONInput) async throws -> [String: Any] {
        let (pool, user, _) = try await authenticate(input)
        return try await adminDeleteUser(JSONInput(fields: ["UserPoolId": pool.id, "Username": user.username]))
    }

    func changePassword(_ input: JSONInput) async throws -> [String: Any] {
        let (pool, user, _) = try await authenticate(input)
        let previous = try input.required("PreviousPassword", max: 256)
        let proposed = try input.required("ProposedPassword", max: 256)
        try checkLock(user)
        try PoolRules.validatePassword(proposed, policy: pool.policy)
        guard let verifier = user.verifier else { throw Self.wrongPassword }
        let ok = try await auth.crypto { [pool] in
            WorkspacePool.shared.with { $0.verify(password: previous, poolName: SRPHash.poolName(fromPoolId: pool.id), userIdForSrp: user.username, against: verifier) }
        }
        guard ok else {
            _ = try await finishPasswordCheck(pool: pool, client: AppClient(id: "", poolId: pool.id, name: "", secret: nil, explicitAuthFlows: [], readAttributes: nil, writeAttributes: nil, preventUserExistenceErrors: "ENABLED", refreshTokenValidity: 30, accessTokenValidity: nil, idTokenValidity: nil, tokenValidityUnits: nil, createdAt: 0, modifiedAt: 0), user: user, ok: false)
            throw Self.wrongPassword
        }
        let next = makeVerifier(pool: pool, username: user.username, password: proposed)
        _ = try await store.modifyUser(pool: pool, username: user.username) { (u: inout User) throws(CognitoError) in
            u.verifier = next
            u.modifiedAt = now()
        }
        return [:]
    }

    func signOut(pool: Pool, username: String) async throws {
        _ = try await store.modifyUser(pool: pool, username: username) { (u: inout User) throws(CognitoError) in
            u.tokenGeneration += 1
        }
    }

    func globalSignOut(_ input: JSONInput) async throws -> [String: Any] {
        let (pool, user, _) = try await authenticate(input)
        try await signOut(pool: pool, username: user.username)
        return [:]
    }

    func adminUserGlobalSignOut(_ input: JSONInput) async throws -> [String: Any] {
        let pool = try await store.pool(try poolId(input))
        let user = try await resolveUser(pool: pool, username: try input.required("Username", max: 128))
        try await signOut(pool: pool, username: user.username)
        return [:]
    }

    func revokeToken(_ input: JSONInput) async throws -> [String: Any] {
        let (client, pool) = try await signInClient(try input.required("ClientId", max: 128))
        if let secret = client.secret, try input.string("ClientSecret") != secret { throw CognitoError("NotAuthorizedException", "Client secret is wrong") }
        let (state, _) = try open(try input.required("Token", max: 4096), as: RefreshState.self, sealer: \.tokenSealer,
                                  invalid: CognitoError("UnsupportedTokenTypeException", "Only refresh tokens issued by this pool can be revoked"))
        guard state.pool == pool.id, state.client == client.id else { throw CognitoError("UnauthorizedException", "The token was not issued to this client") }
        _ = try await store.modifyUser(pool: pool, username: state.user) { (u: inout User) throws(CognitoError) in
            var revoked = u.revokedOrigins ?? []
            if !revoked.contains(state.origin) { revoked.append(state.origin) }
            u.revokedOrigins = Array(revoked.suffix(100))
        }
        return [:]
    }

    // MARK: JWKS

    public func jwks(poolId: String) async throws -> [String: Any] {
        let pool = try await auth.cachedPool(poolId) { try await store.pool(poolId) }
        return ["keys": [try auth.signer(for: pool).jwk()]]
    }

    public func openIDConfiguration(poolId: String) async throws -> [String: Any] {
        _ = try await auth.cachedPool(poolId) { try await store.pool(poolId) }
        let iss = auth.issuer(poolId)
        return [
            "issuer": iss, "jwks_uri": "\(iss)/.well-known/jwks.json", "id_token_signing_alg_values_supported": ["RS256"],
            "subject_types_supported": ["public"], "response_types_supported": ["code", "token"],
            "scopes_supported": ["openid", "email", "phone", "profile"], "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        ]
    }
}

extension String {
    /// Left-pads with zeros to `n` characters.
    func padded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
