import AuthCrypto
import CognitoModel
import Foundation
import UserPool

/// Tokens: issuing them (claims from `TokenRules`), refreshing, revoking, and checking the
/// access tokens a user's own operations carry.
extension API {
    static let invalidRefresh = PoolError(.notAuthorized, "Invalid Refresh Token")
    static let invalidAccess = PoolError(.notAuthorized, "Invalid Access Token")

    /// Signs a user's tokens. A new sign-in (`origin` nil) begins a token family, named by a
    /// time-ordered UUID, and gets a refresh token; a refresh keeps its family and gets none.
    func tokens(
        pool: Pool, client: AppClient, user: User, authTime: Int64, origin: String?
    ) throws
        -> AuthenticationResultType
    {
        let signer = try auth.signer(for: pool)
        var rng = SystemRandomNumberGenerator()
        let ids = TokenRules.TokenIDs(
            originJti: origin ?? timeOrderedUUIDString(milliseconds: nowMilliseconds(), using: &rng),
            eventId: randomUUIDString(using: &rng), accessJti: randomUUIDString(using: &rng),
            idJti: randomUUIDString(using: &rng))
        let claims = TokenRules.claims(
            user: user, client: client, pool: pool, issuer: auth.issuer(pool.id), authTime: authTime, now: now(),
            ids: ids)
        var result = AuthenticationResultType(
            accessToken: try signer.sign(claims.access), expiresIn: Int(TokenRules.seconds(.access, of: client)),
            tokenType: "Bearer", idToken: try signer.sign(claims.id))
        if origin == nil {
            let state = RefreshState(
                pool: pool.id, client: client.id, user: user.username, sub: user.sub, authTime: authTime,
                origin: ids.originJti)
            result.refreshToken = seal(
                state.encoded, auth.tokenSealer, seconds: TokenRules.seconds(.refresh, of: client))
        }
        return result
    }

    /// The refresh token's state, if this cluster sealed it for `pool` and `client`.
    func openRefreshToken(
        _ token: String?, pool: Pool, client: AppClient, invalid: PoolError
    ) throws(PoolError)
        -> RefreshState
    {
        let (plain, _) = try unseal(token, \.tokenSealer, invalid: invalid)
        guard let state = RefreshState(decoding: plain) else { throw invalid }
        guard state.pool == pool.id, state.client == client.id else { throw invalid }
        return state
    }

    /// REFRESH_TOKEN_AUTH: new access and ID tokens for the refresh token's user, as long as
    /// the user is the same one (same sub), enabled, and the family is not revoked.
    func refresh(
        pool: Pool, client: AppClient, token: String?, secretHash: String?, username: String?
    ) async throws
        -> AuthenticationResultType
    {
        let state = try openRefreshToken(token, pool: pool, client: client, invalid: Self.invalidRefresh)
        if let refusal = SignInRules.checkSecretHash(client, username: username ?? state.user, given: secretHash) {
            throw refusal
        }
        guard let user = try await store.user(pool: pool.id, canonical: PoolRules.canonical(state.user, in: pool)),
            user.sub == state.sub
        else { throw Self.invalidRefresh }
        guard !TokenRules.isRevoked(originJti: state.origin, user: user) else {
            throw PoolError(.notAuthorized, "Refresh Token has been revoked")
        }
        guard user.enabled else { throw PoolError(.notAuthorized, "User is disabled.") }
        // Same auth_time, same token family, no new refresh token.
        return try tokens(pool: pool, client: client, user: user, authTime: state.authTime, origin: state.origin)
    }

    /// A client secret from a request, compared in constant time.
    func checkClientSecret(_ client: AppClient, _ given: String?) throws(PoolError) {
        guard let secret = client.secret else { return }
        guard let given, constantTimeEqual(Array(given.utf8), Array(secret.utf8)) else {
            throw PoolError(.notAuthorized, "Client secret is wrong")
        }
    }

    func getTokensFromRefreshToken(
        _ r: GetTokensFromRefreshTokenRequest
    ) async throws
        -> GetTokensFromRefreshTokenResponse
    {
        let (client, pool) = try await signInClient(r.clientId)
        try checkClientSecret(client, r.clientSecret)
        let state = try openRefreshToken(r.refreshToken, pool: pool, client: client, invalid: Self.invalidRefresh)
        // The client secret was checked above; the SECRET_HASH it implies is the right one.
        let secretHash = client.secret.map {
            SecretHash.compute(clientSecret: $0, username: state.user, clientId: client.id)
        }
        let result = try await refresh(
            pool: pool, client: client, token: r.refreshToken, secretHash: secretHash, username: state.user)
        return GetTokensFromRefreshTokenResponse(authenticationResult: result)
    }

    /// RevokeToken: the refresh token's family is revoked on the user's record, so every
    /// access token of that sign-in stops working too.
    func revokeToken(_ r: RevokeTokenRequest) async throws -> RevokeTokenResponse {
        let (client, pool) = try await signInClient(r.clientId)
        try checkClientSecret(client, r.clientSecret)
        let (plain, _) = try unseal(
            r.token, \.tokenSealer,
            invalid: PoolError(.unsupportedTokenType, "Only refresh tokens issued by this pool can be revoked"))
        guard let state = RefreshState(decoding: plain) else {
            throw PoolError(.unsupportedTokenType, "Only refresh tokens issued by this pool can be revoked")
        }
        guard state.pool == pool.id, state.client == client.id else {
            throw PoolError(.unauthorized, "The token was not issued to this client")
        }
        // A token whose user is gone revokes nothing, and says so no differently.
        guard let user = try await store.user(pool: pool.id, canonical: PoolRules.canonical(state.user, in: pool)),
            user.sub == state.sub
        else { return RevokeTokenResponse() }
        _ = try await store.modify(user, in: pool) { (u: inout User) throws(PoolError) in
            UserRules.revoke(&u, origin: state.origin)
        }
        return RevokeTokenResponse()
    }

    // MARK: Access tokens

    /// Only what is needed to find the pool before the signature is checked.
    struct Issuer: Decodable {
        var iss: String
    }

    /// The user an access token speaks for, after checking its signature, expiry and use,
    /// sign-outs, revocations, and that the user is still the same one and enabled.
    func authenticate(_ token: String) async throws -> (Pool, User, AccessTokenClaims) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let payload = Base64URL.decode(String(parts[1])),
            let issuer = try? JSONDecoder().decode(Issuer.self, from: Data(payload)),
            issuer.iss.hasPrefix(auth.publicURL + "/")
        else { throw Self.invalidAccess }
        let poolId = String(issuer.iss.dropFirst(auth.publicURL.count + 1))
        guard let pool = try? await store.pool(poolId) else { throw Self.invalidAccess }
        guard let verified = try auth.signer(for: pool).verify(token),
            let claims = try? JSONDecoder().decode(AccessTokenClaims.self, from: Data(verified)),
            claims.tokenUse == "access", claims.iss == issuer.iss
        else { throw Self.invalidAccess }
        guard claims.exp > now() else { throw PoolError(.notAuthorized, "Access Token has expired") }
        guard let user = try await store.user(pool: pool.id, canonical: PoolRules.canonical(claims.username, in: pool)),
            user.sub == claims.sub
        else { throw Self.invalidAccess }
        guard !TokenRules.isRevoked(originJti: claims.originJti, user: user) else {
            throw PoolError(.notAuthorized, "Access Token has been revoked")
        }
        guard user.enabled else { throw PoolError(.notAuthorized, "User is disabled.") }
        return (pool, user, claims)
    }

    // MARK: Discovery

    /// `/<pool>/.well-known/jwks.json`.
    public struct JWKS: Codable, Sendable {
        public var keys: [JWK]
    }

    /// `/<pool>/.well-known/openid-configuration`.
    public struct OpenIDConfiguration: Codable, Sendable {
        var issuer: String
        var jwksURI: String
        var idTokenSigningAlgValuesSupported = ["RS256"]
        var subjectTypesSupported = ["public"]
        var responseTypesSupported = ["code", "token"]
        var scopesSupported = ["openid", "email", "phone", "profile"]
        var tokenEndpointAuthMethodsSupported = ["client_secret_basic", "client_secret_post"]

        enum CodingKeys: String, CodingKey {
            case issuer
            case jwksURI = "jwks_uri"
            case idTokenSigningAlgValuesSupported = "id_token_signing_alg_values_supported"
            case subjectTypesSupported = "subject_types_supported"
            case responseTypesSupported = "response_types_supported"
            case scopesSupported = "scopes_supported"
            case tokenEndpointAuthMethodsSupported = "token_endpoint_auth_methods_supported"
        }
    }

    public func jwks(poolId: String) async throws -> JWKS {
        JWKS(keys: [try auth.signer(for: try await store.pool(poolId)).jwk()])
    }

    public func openIDConfiguration(poolId: String) async throws -> OpenIDConfiguration {
        _ = try await store.pool(poolId)
        let issuer = auth.issuer(poolId)
        return OpenIDConfiguration(issuer: issuer, jwksURI: "\(issuer)/.well-known/jwks.json")
    }
}
