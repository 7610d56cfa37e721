import CognitoModel

/// A resource server of a pool (on shard 0): an API whose custom scopes app clients may be
/// allowed (`<identifier>/<scope>`), for OAuth 2.0 access tokens.
public struct ResourceServer: Codable, Sendable, Equatable {
    public struct Scope: Codable, Sendable, Equatable {
        public var name: String
        public var description: String

        public init(name: String, description: String) {
            self.name = name
            self.description = description
        }
    }

    public var poolId: String
    public var identifier: String
    public var name: String
    public var scopes: [Scope]

    public init(poolId: String, identifier: String, name: String, scopes: [Scope]) {
        self.poolId = poolId
        self.identifier = identifier
        self.name = name
        self.scopes = scopes
    }

    public var resourceServerType: ResourceServerType {
        ResourceServerType(
            userPoolId: poolId, identifier: identifier, name: name,
            scopes: scopes.map { ResourceServerScopeType(scopeName: $0.name, scopeDescription: $0.description) })
    }

    /// Its scopes as a client names them.
    public var fullScopes: [String] { scopes.map { "\(identifier)/\($0.name)" } }
}

/// Cognito's rules for resource servers and the scopes app clients may be allowed.
public enum ResourceServerRules {
    /// Resource servers a pool may have (Cognito's quota).
    public static let maxPerPool = 25
    /// Scopes a resource server may have.
    public static let maxScopes = 100
    /// The scopes every pool has.
    public static let standardScopes = ["openid", "email", "phone", "profile", "aws.cognito.signin.user.admin"]

    /// CreateResourceServer / UpdateResourceServer: scope names unique.
    public static func server(
        poolId: String, identifier: String, name: String, scopes: [ResourceServerScopeType]?
    ) throws(PoolError) -> ResourceServer {
        let scopes = scopes ?? []
        guard scopes.count <= maxScopes else {
            throw PoolError(.invalidParameter, "A resource server has at most \(maxScopes) scopes.")
        }
        var seen = Set<String>()
        for s in scopes where !seen.insert(s.scopeName).inserted {
            throw PoolError(.invalidParameter, "Duplicate scope name \(s.scopeName).")
        }
        return ResourceServer(
            poolId: poolId, identifier: identifier, name: name,
            scopes: scopes.map { ResourceServer.Scope(name: $0.scopeName, description: $0.scopeDescription) })
    }

    /// A client's AllowedOAuthScopes: standard scopes, or `<identifier>/<scope>` of one of
    /// the pool's resource servers; the first unknown one is refused.
    public static func checkScopes(_ scopes: [String]?, servers: [ResourceServer]) throws(PoolError) {
        let known = Set(standardScopes + servers.flatMap(\.fullScopes))
        if let unknown = (scopes ?? []).first(where: { !known.contains($0) }) {
            throw PoolError(.invalidParameter, "Invalid scope requested: \(unknown)")
        }
    }
}
