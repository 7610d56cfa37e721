import CognitoModel

/// An app client of a pool.
public struct AppClient: Codable, Sendable, Equatable {
    public var id: String
    public var poolId: String
    public var name: String
    public var secret: String?
    public var explicitAuthFlows: [ExplicitAuthFlowsType]
    public var readAttributes: [String]?
    public var writeAttributes: [String]?
    public var preventUserExistenceErrors: PreventUserExistenceErrorTypes
    public var refreshTokenValidity: Int
    public var accessTokenValidity: Int?
    public var idTokenValidity: Int?
    public var tokenValidityUnits: TokenValidityUnitsType?
    public var createdAt: Int64
    public var modifiedAt: Int64
    /// What CreateUserPoolClient accepts for the hosted UI and OAuth 2.0, stored and returned.
    public var oauth: ClientOAuthSettings
    /// Every active secret once AddUserPoolClientSecret has been used (the first of them is
    /// `secret`); nil while the client has only the one it was created with.
    public var rotatedSecrets: [ClientSecret]?

    public init(
        id: String, poolId: String, name: String, secret: String?, explicitAuthFlows: [ExplicitAuthFlowsType],
        readAttributes: [String]?, writeAttributes: [String]?,
        preventUserExistenceErrors: PreventUserExistenceErrorTypes,
        refreshTokenValidity: Int, accessTokenValidity: Int?, idTokenValidity: Int?,
        tokenValidityUnits: TokenValidityUnitsType?, createdAt: Int64, modifiedAt: Int64,
        oauth: ClientOAuthSettings = ClientOAuthSettings()
    ) {
        self.id = id
        self.poolId = poolId
        self.name = name
        self.secret = secret
        self.explicitAuthFlows = explicitAuthFlows
        self.readAttributes = readAttributes
        self.writeAttributes = writeAttributes
        self.preventUserExistenceErrors = preventUserExistenceErrors
        self.refreshTokenValidity = refreshTokenValidity
        self.accessTokenValidity = accessTokenValidity
        self.idTokenValidity = idTokenValidity
        self.tokenValidityUnits = tokenValidityUnits
        self.createdAt = createdAt
        self.modifiedAt = modifiedAt
        self.oauth = oauth
    }

    enum CodingKeys: String, CodingKey {
        case id, poolId, name, secret, explicitAuthFlows, readAttributes, writeAttributes, preventUserExistenceErrors
        case refreshTokenValidity, accessTokenValidity, idTokenValidity, tokenValidityUnits, createdAt, modifiedAt
        case oauth, rotatedSecrets
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        poolId = try c.decode(String.self, forKey: .poolId)
        name = try c.decode(String.self, forKey: .name)
        secret = try c.decodeIfPresent(String.self, forKey: .secret)
        explicitAuthFlows = try c.decode([ExplicitAuthFlowsType].self, forKey: .explicitAuthFlows)
        readAttributes = try c.decodeIfPresent([String].self, forKey: .readAttributes)
        writeAttributes = try c.decodeIfPresent([String].self, forKey: .writeAttributes)
        preventUserExistenceErrors = try c.decode(
            PreventUserExistenceErrorTypes.self, forKey: .preventUserExistenceErrors)
        refreshTokenValidity = try c.decode(Int.self, forKey: .refreshTokenValidity)
        accessTokenValidity = try c.decodeIfPresent(Int.self, forKey: .accessTokenValidity)
        idTokenValidity = try c.decodeIfPresent(Int.self, forKey: .idTokenValidity)
        tokenValidityUnits = try c.decodeIfPresent(TokenValidityUnitsType.self, forKey: .tokenValidityUnits)
        createdAt = try c.decode(Int64.self, forKey: .createdAt)
        modifiedAt = try c.decode(Int64.self, forKey: .modifiedAt)
        oauth = try c.decodeIfPresent(ClientOAuthSettings.self, forKey: .oauth) ?? ClientOAuthSettings()
        rotatedSecrets = try c.decodeIfPresent([ClientSecret].self, forKey: .rotatedSecrets)
    }

    /// The client's active secrets: any of them authenticates it.
    public var secrets: [ClientSecret] {
        if let rotatedSecrets { return rotatedSecrets }
        return secret.map { [ClientSecret(id: "\(id)--\(createdAt)", value: $0, createdAt: createdAt)] } ?? []
    }

    /// Whether the client hides whether a user exists (PreventUserExistenceErrors = ENABLED).
    public var hidesUserExistence: Bool { preventUserExistenceErrors == .enabled }
}

/// One of a client's secrets, with the id ListUserPoolClientSecrets names it by.
public struct ClientSecret: Codable, Sendable, Equatable {
    public var id: String
    public var value: String
    public var createdAt: Int64

    public init(id: String, value: String, createdAt: Int64) {
        self.id = id
        self.value = value
        self.createdAt = createdAt
    }
}

/// A client's hosted-UI and OAuth 2.0 settings (used once the OAuth endpoints exist).
public struct ClientOAuthSettings: Codable, Sendable, Equatable {
    public var supportedIdentityProviders: [String]?
    public var callbackURLs: [String]?
    public var logoutURLs: [String]?
    public var defaultRedirectURI: String?
    public var allowedOAuthFlows: [OAuthFlowType]?
    public var allowedOAuthScopes: [String]?
    public var allowedOAuthFlowsUserPoolClient: Bool?
    public var enableTokenRevocation: Bool?
    public var enablePropagateAdditionalUserContextData: Bool?
    public var authSessionValidity: Int?
    public var analyticsConfiguration: AnalyticsConfigurationType?
    public var refreshTokenRotation: RefreshTokenRotationType?

    public init() {}
}
