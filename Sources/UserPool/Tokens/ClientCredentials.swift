import CognitoModel

/// A machine-to-machine access token's claims (client_credentials): no user, the client as
/// subject, the granted scopes. Cognito's, and no others.
public struct ClientTokenClaims: Encodable, Sendable, Equatable {
    public var sub: String
    public var tokenUse = "access"
    public var scope: String
    public var authTime: Int64
    public var iss: String
    public var exp: Int64
    public var iat: Int64
    public var version = 2
    public var jti: String
    public var clientId: String

    enum CodingKeys: String, CodingKey {
        case sub, scope, iss, exp, iat, version, jti
        case tokenUse = "token_use"
        case authTime = "auth_time"
        case clientId = "client_id"
    }
}

/// The client_credentials grant (GetClientToken, and `/oauth2/token` once it exists): a
/// confidential client allowed the flow gets an access token for custom scopes of the pool's
/// resource servers — those it asks for, or all it is allowed.
public enum ClientCredentialsRules {
    /// The scopes granted: each asked for must be allowed to the client and still defined by
    /// a resource server; none asked for means every allowed one that is.
    public static func grant(
        _ client: AppClient, asked: [String]?, servers: [ResourceServer]
    ) throws(PoolError) -> [String] {
        guard !client.secrets.isEmpty else {
            throw PoolError(.notAuthorized, "A client without a secret cannot use the client_credentials flow.")
        }
        guard client.oauth.allowedOAuthFlowsUserPoolClient == true,
            (client.oauth.allowedOAuthFlows ?? []).contains(.clientCredentials)
        else { throw PoolError(.notAuthorized, "The client is not allowed the client_credentials flow.") }
        let defined = Set(servers.flatMap(\.fullScopes))
        let allowed = (client.oauth.allowedOAuthScopes ?? []).filter { defined.contains($0) }
        guard let asked, !asked.isEmpty else {
            guard !allowed.isEmpty else { throw PoolError(.invalidParameter, "invalid_scope: the client has no scope") }
            return allowed
        }
        for scope in asked where !allowed.contains(scope) {
            throw PoolError(.invalidParameter, "invalid_scope: \(scope)")
        }
        var seen = Set<String>()
        return asked.filter { seen.insert($0).inserted }
    }

    public static func claims(
        _ client: AppClient, scopes: [String], issuer: String, now: Int64, jti: String
    ) -> ClientTokenClaims {
        ClientTokenClaims(
            sub: client.id, scope: scopes.joined(separator: " "), authTime: now, iss: issuer,
            exp: now + TokenRules.seconds(.access, of: client), iat: now, jti: jti, clientId: client.id)
    }
}
