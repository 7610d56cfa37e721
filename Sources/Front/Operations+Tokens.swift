import AuthCrypto
import Foundation
import UserPool

/// Tokens: issuing them, refreshing, revoking, and checking access tokens.
extension Operations {
    func tokens(pool: Pool, client: AppClient, user: User, authTime: Int64, origin: String?) throws -> [String: Any] {
        let signer = try auth.signer(for: pool)
        let t = now()
        let accessSeconds = TokenRules.seconds(.access, of: client)
        let idSeconds = TokenRules.seconds(.id, of: client)
        let refreshSeconds = TokenRules.seconds(.refresh, of: client)
        var rng = SystemRandomNumberGenerator()
        // A token family is named by a time-ordered UUID: the time it began is what
        // GlobalSignOut and AdminDisableUser revoke by.
        let originJti = origin ?? timeOrderedUUIDString(milliseconds: nowMilliseconds(), using: &rng)
        var common: [String: Any] = [
            "sub": user.sub, "iss": auth.issuer(pool.id), "auth_time": authTime, "iat": t, "origin_jti": originJti,
            "event_id": randomUUIDString(using: &rng),
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
            if PoolRules.verificationAttributes.contains(k) { id[k] = v == "true" } else { id[k] = v }
        }
        if user.attributes["email"] != nil && id["email_verified"] == nil && readable?.contains("email_verified") ?? true {
            id["email_verified"] = false
        }
        var result: [String: Any] = [
            "AccessToken": try signer.sign(access), "IdToken": try signer.sign(id), "ExpiresIn": accessSeconds,
            "TokenType": "Bearer",
        ]
        if origin == nil {
            result["RefreshToken"] = seal(
                RefreshState(
                    pool: pool.id, client: client.id, user: user.username, sub: user.sub, authTime: authTime,
                    origin: originJti),
                sealer: auth.tokenSealer, seconds: refreshSeconds)
        }
        return result
    }

    func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    static let invalidRefresh = CognitoError("NotAuthorizedException", "Invalid Refresh Token")

    func refresh(pool: Pool, client: AppClient, token: String?, secretHash: String?, username: String?) async throws
        -> [String: Any]
    {
        let (state, _) = try open(token, as: RefreshState.self, sealer: \.tokenSealer, invalid: Self.invalidRefresh)
        guard state.pool == pool.id, state.client == client.id else { throw Self.invalidRefresh }
        if let refusal = SignInRules.checkSecretHash(client, username: username ?? state.user, given: secretHash) {
            throw CognitoError(refusal)
        }
        let user = try await currentUser(pool: pool, username: state.user, invalid: Self.invalidRefresh)
        guard user.sub == state.sub, !TokenRules.isRevoked(originJti: state.origin, user: user) else {
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

    /// A client secret from a request, compared in constant time.
    func checkClientSecret(_ client: AppClient, _ given: String?) throws {
        guard let secret = client.secret else { return }
        guard let given, constantTimeEqual(Array(given.utf8), Array(secret.utf8)) else {
            throw CognitoError("NotAuthorizedException", "Client secret is wrong")
        }
    }

    func getTokensFromRefreshToken(_ input: JSONInput) async throws -> [String: Any] {
        let (client, pool) = try await signInClient(try input.required("ClientId", max: 128))
        try checkClientSecret(client, try input.string("ClientSecret", max: 128))
        let token = try input.required("RefreshToken", max: 16_384)
        let (state, _) = try open(token, as: RefreshState.self, sealer: \.tokenSealer, invalid: Self.invalidRefresh)
        let secretHash = client.secret.map { SecretHash.compute(clientSecret: $0, username: state.user, clientId: client.id) }
        let result = try await refresh(pool: pool, client: client, token: token, secretHash: secretHash, username: state.user)
        return ["AuthenticationResult": result]
    }

    func revokeToken(_ input: JSONInput) async throws -> [String: Any] {
        let (client, pool) = try await signInClient(try input.required("ClientId", max: 128))
        try checkClientSecret(client, try input.string("ClientSecret", max: 128))
        let (state, _) = try open(
            try input.required("Token", max: 16_384), as: RefreshState.self, sealer: \.tokenSealer,
            invalid: CognitoError("UnsupportedTokenTypeException", "Only refresh tokens issued by this pool can be revoked"))
        guard state.pool == pool.id, state.client == client.id else {
            throw CognitoError("UnauthorizedException", "The token was not issued to this client")
        }
        _ = try await store.modifyUser(pool: pool, username: state.user) { (u: inout User) throws(CognitoError) in
            var revoked = u.revokedOrigins ?? []
            if !revoked.contains(state.origin) { revoked.append(state.origin) }
            u.revokedOrigins = Array(revoked.suffix(100))
        }
        return [:]
    }

    // MARK: Access tokens

    static let invalidAccess = CognitoError("NotAuthorizedException", "Invalid Access Token")

    /// The user an access token speaks for, after checking signature, expiry, use, sign-outs,
    /// revocations and that the user is still enabled, against the user's current record.
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
            let origin = claims["origin_jti"] as? String
        else { throw Self.invalidAccess }
        guard exp > now() else { throw CognitoError("NotAuthorizedException", "Access Token has expired") }
        let user = try await currentUser(pool: pool, username: username, invalid: Self.invalidAccess)
        guard user.sub == claims["sub"] as? String, !TokenRules.isRevoked(originJti: origin, user: user) else {
            throw CognitoError("NotAuthorizedException", "Access Token has been revoked")
        }
        guard user.enabled else { throw CognitoError("NotAuthorizedException", "User is disabled.") }
        return (pool, user, claims)
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
            "scopes_supported": ["openid", "email", "phone", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        ]
    }
}
