import CognitoModel

/// App clients: what CreateUserPoolClient and UpdateUserPoolClient make of a request.
public enum ClientRules {
    /// The settings a create or update request carries (the two shapes share them).
    public struct Settings: Sendable {
        public var clientName: String?
        public var refreshTokenValidity: Int?
        public var accessTokenValidity: Int?
        public var idTokenValidity: Int?
        public var tokenValidityUnits: TokenValidityUnitsType?
        public var readAttributes: [String]?
        public var writeAttributes: [String]?
        public var explicitAuthFlows: [ExplicitAuthFlowsType]?
        public var preventUserExistenceErrors: PreventUserExistenceErrorTypes?
        public var oauth: ClientOAuthSettings

        public init(_ r: CreateUserPoolClientRequest) {
            clientName = r.clientName
            refreshTokenValidity = r.refreshTokenValidity
            accessTokenValidity = r.accessTokenValidity
            idTokenValidity = r.idTokenValidity
            tokenValidityUnits = r.tokenValidityUnits
            readAttributes = r.readAttributes
            writeAttributes = r.writeAttributes
            explicitAuthFlows = r.explicitAuthFlows
            preventUserExistenceErrors = r.preventUserExistenceErrors
            oauth = ClientOAuthSettings()
            oauth.supportedIdentityProviders = r.supportedIdentityProviders
            oauth.callbackURLs = r.callbackURLs
            oauth.logoutURLs = r.logoutURLs
            oauth.defaultRedirectURI = r.defaultRedirectURI
            oauth.allowedOAuthFlows = r.allowedOAuthFlows
            oauth.allowedOAuthScopes = r.allowedOAuthScopes
            oauth.allowedOAuthFlowsUserPoolClient = r.allowedOAuthFlowsUserPoolClient
            oauth.enableTokenRevocation = r.enableTokenRevocation
            oauth.enablePropagateAdditionalUserContextData = r.enablePropagateAdditionalUserContextData
            oauth.authSessionValidity = r.authSessionValidity
            oauth.analyticsConfiguration = r.analyticsConfiguration
            oauth.refreshTokenRotation = r.refreshTokenRotation
        }

        public init(_ r: UpdateUserPoolClientRequest) {
            clientName = r.clientName
            refreshTokenValidity = r.refreshTokenValidity
            accessTokenValidity = r.accessTokenValidity
            idTokenValidity = r.idTokenValidity
            tokenValidityUnits = r.tokenValidityUnits
            readAttributes = r.readAttributes
            writeAttributes = r.writeAttributes
            explicitAuthFlows = r.explicitAuthFlows
            preventUserExistenceErrors = r.preventUserExistenceErrors
            oauth = ClientOAuthSettings()
            oauth.supportedIdentityProviders = r.supportedIdentityProviders
            oauth.callbackURLs = r.callbackURLs
            oauth.logoutURLs = r.logoutURLs
            oauth.defaultRedirectURI = r.defaultRedirectURI
            oauth.allowedOAuthFlows = r.allowedOAuthFlows
            oauth.allowedOAuthScopes = r.allowedOAuthScopes
            oauth.allowedOAuthFlowsUserPoolClient = r.allowedOAuthFlowsUserPoolClient
            oauth.enableTokenRevocation = r.enableTokenRevocation
            oauth.enablePropagateAdditionalUserContextData = r.enablePropagateAdditionalUserContextData
            oauth.authSessionValidity = r.authSessionValidity
            oauth.analyticsConfiguration = r.analyticsConfiguration
            oauth.refreshTokenRotation = r.refreshTokenRotation
        }
    }

    /// A new client, or an updated one: as in Cognito, an update sets every setting it does
    /// not name back to its default (only the id, name and secret are kept). The defaults:
    /// refresh tokens 30 days, PreventUserExistenceErrors LEGACY, every attribute readable
    /// and writable.
    public static func client(
        _ settings: Settings, id: String, poolId: String, name: String, secret: String?, pool: Pool, createdAt: Int64,
        now: Int64
    ) throws(PoolError) -> AppClient {
        for (key, attributes) in [("read", settings.readAttributes), ("write", settings.writeAttributes)] {
            for a in attributes ?? [] {
                let unknown = pool.attribute(a) == nil
                let notWritable = key == "write" && AttributeRules.verificationAttributes.contains(a)
                if unknown || notWritable {
                    throw PoolError(.invalidParameter, "Invalid \(key) attributes specified while creating a client")
                }
            }
        }
        if settings.oauth.allowedOAuthFlowsUserPoolClient != true
            && (!(settings.oauth.allowedOAuthFlows ?? []).isEmpty || !(settings.oauth.allowedOAuthScopes ?? []).isEmpty)
        {
            throw PoolError(
                .invalidParameter,
                "AllowedOAuthFlows and AllowedOAuthScopes are allowed only if AllowedOAuthFlowsUserPoolClient is true.")
        }
        // Cognito does not take the legacy flow names together with the ALLOW_ ones.
        let flows = settings.explicitAuthFlows ?? []
        let legacy: [ExplicitAuthFlowsType] = [.adminNoSrpAuth, .customAuthFlowOnly, .userPasswordAuth]
        if flows.contains(where: legacy.contains) && flows.contains(where: { $0.rawValue.hasPrefix("ALLOW_") }) {
            throw PoolError(
                .invalidParameter, "ExplicitAuthFlows cannot mix legacy flow names with ALLOW_ flow names.")
        }
        if let redirect = settings.oauth.defaultRedirectURI, !(settings.oauth.callbackURLs ?? []).contains(redirect) {
            throw PoolError(.invalidParameter, "DefaultRedirectURI must be one of the CallbackURLs.")
        }
        try AuthorizeRules.checkClientSettings(settings.oauth)
        let client = AppClient(
            id: id, poolId: poolId, name: settings.clientName ?? name, secret: secret,
            explicitAuthFlows: settings.explicitAuthFlows ?? [], readAttributes: settings.readAttributes,
            writeAttributes: settings.writeAttributes,
            preventUserExistenceErrors: settings.preventUserExistenceErrors ?? .legacy,
            refreshTokenValidity: settings.refreshTokenValidity ?? 30,
            accessTokenValidity: settings.accessTokenValidity,
            idTokenValidity: settings.idTokenValidity, tokenValidityUnits: settings.tokenValidityUnits,
            createdAt: createdAt,
            modifiedAt: now, oauth: settings.oauth)
        if let refusal = TokenRules.validate(client) { throw refusal }
        return client
    }
}

/// Client secret rotation (AddUserPoolClientSecret, DeleteUserPoolClientSecret): at most two
/// active secrets, never none for a client that has one.
public enum ClientSecretRules {
    public static let maxActive = 2

    public static func add(
        _ client: inout AppClient, id: String, value: String, now: Int64
    ) throws(PoolError)
        -> ClientSecret
    {
        var secrets = client.secrets
        guard !secrets.isEmpty else {
            throw PoolError(.invalidParameter, "The app client \(client.id) has no secret: it is a public client.")
        }
        guard secrets.count < maxActive else {
            throw PoolError(
                .limitExceeded, "The app client has \(maxActive) secrets; delete one before adding another.")
        }
        let added = ClientSecret(id: id, value: value, createdAt: now)
        secrets.append(added)
        client.rotatedSecrets = secrets
        client.secret = secrets.first?.value
        client.modifiedAt = now
        return added
    }

    public static func delete(_ client: inout AppClient, id: String, now: Int64) throws(PoolError) {
        var secrets = client.secrets
        guard let i = secrets.firstIndex(where: { $0.id == id }) else {
            throw PoolError(.resourceNotFound, "Client secret \(id) does not exist.")
        }
        guard secrets.count > 1 else {
            throw PoolError(.invalidParameter, "The app client's only secret cannot be deleted.")
        }
        secrets.remove(at: i)
        client.rotatedSecrets = secrets
        client.secret = secrets.first?.value
        client.modifiedAt = now
    }
}
