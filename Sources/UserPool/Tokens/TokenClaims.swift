/// The claims of the tokens a sign-in yields: Cognito's, and no others.
public struct AccessTokenClaims: Codable, Sendable, Equatable {
    public var sub: String
    public var groups: [String]?
    public var iss: String
    public var clientId: String
    public var originJti: String
    public var eventId: String
    public var tokenUse: String
    public var scope: String
    public var authTime: Int64
    public var exp: Int64
    public var iat: Int64
    public var jti: String
    public var username: String

    public init(
        sub: String, groups: [String]?, iss: String, clientId: String, originJti: String, eventId: String,
        tokenUse: String, scope: String, authTime: Int64, exp: Int64, iat: Int64, jti: String, username: String
    ) {
        self.sub = sub
        self.groups = groups
        self.iss = iss
        self.clientId = clientId
        self.originJti = originJti
        self.eventId = eventId
        self.tokenUse = tokenUse
        self.scope = scope
        self.authTime = authTime
        self.exp = exp
        self.iat = iat
        self.jti = jti
        self.username = username
    }

    enum CodingKeys: String, CodingKey {
        case sub, iss, scope, exp, iat, jti, username
        case groups = "cognito:groups"
        case clientId = "client_id"
        case originJti = "origin_jti"
        case eventId = "event_id"
        case tokenUse = "token_use"
        case authTime = "auth_time"
    }
}

/// An ID token's claims: the fixed ones, then the user's attributes the client may read
/// (verification flags as booleans, everything else as text).
public struct IDTokenClaims: Encodable, Sendable, Equatable {
    public var sub: String
    public var groups: [String]?
    public var iss: String
    public var username: String
    public var originJti: String
    public var aud: String
    public var eventId: String
    public var tokenUse: String
    public var authTime: Int64
    public var exp: Int64
    public var iat: Int64
    public var jti: String
    public var attributes: [String: String]
    /// The authorize request's `nonce` (OpenID Connect), when it had one.
    public var nonce: String?
    /// The methods the sign-in took (RFC 8176), when it was one (a refresh has none).
    public var amr: [String]?

    public init(
        sub: String, groups: [String]?, iss: String, username: String, originJti: String, aud: String,
        eventId: String, tokenUse: String, authTime: Int64, exp: Int64, iat: Int64, jti: String,
        attributes: [String: String]
    ) {
        self.sub = sub
        self.groups = groups
        self.iss = iss
        self.username = username
        self.originJti = originJti
        self.aud = aud
        self.eventId = eventId
        self.tokenUse = tokenUse
        self.authTime = authTime
        self.exp = exp
        self.iat = iat
        self.jti = jti
        self.attributes = attributes
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        for (name, value) in attributes where name != "sub" {
            if AttributeRules.verificationAttributes.contains(name) {
                try c.encode(value == "true", forKey: Key(name))
            } else {
                try c.encode(value, forKey: Key(name))
            }
        }
        try c.encode(sub, forKey: Key("sub"))
        try c.encodeIfPresent(groups, forKey: Key("cognito:groups"))
        try c.encode(iss, forKey: Key("iss"))
        try c.encode(username, forKey: Key("cognito:username"))
        try c.encode(originJti, forKey: Key("origin_jti"))
        try c.encode(aud, forKey: Key("aud"))
        try c.encode(eventId, forKey: Key("event_id"))
        try c.encode(tokenUse, forKey: Key("token_use"))
        try c.encode(authTime, forKey: Key("auth_time"))
        try c.encode(exp, forKey: Key("exp"))
        try c.encode(iat, forKey: Key("iat"))
        try c.encode(jti, forKey: Key("jti"))
        try c.encodeIfPresent(nonce, forKey: Key("nonce"))
        try c.encodeIfPresent(amr, forKey: Key("amr"))
    }
}

extension TokenRules {
    /// The ids a set of tokens carries; drawn by the front.
    public struct TokenIDs: Sendable {
        public var originJti: String
        public var eventId: String
        public var accessJti: String
        public var idJti: String

        public init(originJti: String, eventId: String, accessJti: String, idJti: String) {
            self.originJti = originJti
            self.eventId = eventId
            self.accessJti = accessJti
            self.idJti = idJti
        }
    }

    /// The scope of the API's access tokens.
    public static let apiScope = "aws.cognito.signin.user.admin"

    /// The claims of a user's access and ID tokens for `client`, issued at `now` from a
    /// sign-in at `authTime`: the API's scope, or those an OAuth 2.0 sign-in was granted
    /// (`scopes`), and its `nonce`.
    public static func claims(
        user: User, client: AppClient, pool: Pool, issuer: String, authTime: Int64, now: Int64, ids: TokenIDs,
        scopes: [String]? = nil, nonce: String? = nil, amr: [String] = []
    ) -> (access: AccessTokenClaims, id: IDTokenClaims) {
        let groups = (user.groups ?? []).isEmpty ? nil : user.groups
        let access = AccessTokenClaims(
            sub: user.sub, groups: groups, iss: issuer, clientId: client.id, originJti: ids.originJti,
            eventId: ids.eventId,
            tokenUse: "access", scope: scopes?.joined(separator: " ") ?? apiScope, authTime: authTime,
            exp: now + seconds(.access, of: client), iat: now, jti: ids.accessJti, username: user.username)
        var attributes = AttributeRules.readable(user, client: client, pool: pool)
        if attributes["email"] != nil && attributes["email_verified"] == nil
            && (client.readAttributes?.contains("email_verified") ?? true)
        {
            attributes["email_verified"] = "false"
        }
        var id = IDTokenClaims(
            sub: user.sub, groups: groups, iss: issuer, username: user.username, originJti: ids.originJti,
            aud: client.id,
            eventId: ids.eventId, tokenUse: "id", authTime: authTime, exp: now + seconds(.id, of: client), iat: now,
            jti: ids.idJti, attributes: attributes)
        id.nonce = nonce
        id.amr = amr.isEmpty ? nil : amr
        return (access, id)
    }
}
