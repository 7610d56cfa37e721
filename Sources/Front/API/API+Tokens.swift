import AuthCrypto
import CognitoModel
import Foundation
import UserPool

/// Tokens: GetTokensFromRefreshToken (a sign-in event), revoking, checking the access
/// tokens a user's own operations carry, and the discovery documents.
extension API {
    static let invalidAccess = PoolError(.notAuthorized, "Invalid Access Token")

    /// A client secret from a request, compared in constant time.
    func checkClientSecret(_ client: AppClient, _ given: String?) throws(PoolError) {
        let secrets = client.secrets
        guard !secrets.isEmpty else { return }
        guard let given, secrets.contains(where: { constantTimeEqual(Array(given.utf8), Array($0.value.utf8)) }) else {
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
        // The client secret was checked above: no SECRET_HASH is asked for.
        let answer = try await signIn.run(.refresh(token: r.refreshToken), pool: pool, client: client)
        let result = answer.authenticationResult
        return GetTokensFromRefreshTokenResponse(authenticationResult: result)
    }

    /// RevokeToken: the refresh token's family is revoked on the user's record, so every
    /// access token of that sign-in stops working too.
    func revokeToken(_ r: RevokeTokenRequest) async throws -> RevokeTokenResponse {
        let (client, pool) = try await signInClient(r.clientId)
        try checkClientSecret(client, r.clientSecret)
        try await revokeRefreshToken(r.token, client: client, pool: pool)
        return RevokeTokenResponse()
    }

    /// Revokes the family of a refresh token issued to `client` (the client authenticated).
    func revokeRefreshToken(_ token: String, client: AppClient, pool: Pool) async throws {
        guard let plain = tokenService.open(token, .refreshToken)?.plain,
            let state = RefreshTokenState(decoding: plain)
        else {
            throw PoolError(.unsupportedTokenType, "Only refresh tokens issued by this pool can be revoked")
        }
        guard state.pool == pool.id, state.client == client.id else {
            throw PoolError(.unauthorized, "The token was not issued to this client")
        }
        // A token whose user is gone revokes nothing, and says so no differently.
        guard let user = try await store.user(pool: pool.id, canonical: PoolRules.canonical(state.username, in: pool)),
            user.sub == state.sub
        else { return }
        _ = try await store.modify(user, in: pool) { (u: inout User) throws(PoolError) in
            UserRules.revoke(&u, origin: state.origin)
        }
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
        /// The pool domain's endpoints (path form), when the pool has a domain.
        var authorizationEndpoint: String?
        var tokenEndpoint: String?
        var userinfoEndpoint: String?
        var revocationEndpoint: String?
        var endSessionEndpoint: String?
        var idTokenSigningAlgValuesSupported = ["RS256"]
        var subjectTypesSupported = ["public"]
        var responseTypesSupported = ["code", "token"]
        var scopesSupported = ["openid", "email", "phone", "profile"]
        var tokenEndpointAuthMethodsSupported = ["client_secret_basic", "client_secret_post"]

        enum CodingKeys: String, CodingKey {
            case issuer
            case jwksURI = "jwks_uri"
            case authorizationEndpoint = "authorization_endpoint"
            case tokenEndpoint = "token_endpoint"
            case userinfoEndpoint = "userinfo_endpoint"
            case revocationEndpoint = "revocation_endpoint"
            case endSessionEndpoint = "end_session_endpoint"
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

    /// The discovery document; the domain's endpoints in the form the request came in by:
    /// a domain's host (`viaHost`: the authority and the domain it names, if it is this pool's),
    /// or the path form on the front's URL.
    public func openIDConfiguration(
        poolId: String, viaHost: (host: String, domain: String)? = nil
    ) async throws
        -> OpenIDConfiguration
    {
        let pool = try await store.pool(poolId)
        let issuer = auth.issuer(poolId)
        let domain = pool.settings.domains?.first { !$0.isCustom } ?? pool.settings.domains?.first
        var base = domain.map { "\(auth.publicURL)/\($0.domain)" }
        if let viaHost, DomainRules.names(pool).contains(viaHost.domain) {
            let scheme = auth.publicURL.hasPrefix("https:") ? "https" : "http"
            base = "\(scheme)://\(viaHost.host)"
        }
        return OpenIDConfiguration(
            issuer: issuer, jwksURI: "\(issuer)/.well-known/jwks.json",
            authorizationEndpoint: base.map { "\($0)/oauth2/authorize" },
            tokenEndpoint: base.map { "\($0)/oauth2/token" },
            userinfoEndpoint: base.map { "\($0)/oauth2/userInfo" },
            revocationEndpoint: base.map { "\($0)/oauth2/revoke" },
            endSessionEndpoint: base.map { "\($0)/logout" })
    }
}
