import AuthCrypto

/// Cognito's password policy for a pool.
public struct PasswordPolicy: Codable, Sendable, Equatable {
    public var minimumLength = 8
    public var requireUppercase = true
    public var requireLowercase = true
    public var requireNumbers = true
    public var requireSymbols = true
    public var temporaryPasswordValidityDays = 7

    public init() {}
}

/// One attribute of a pool's schema.
public struct SchemaAttribute: Codable, Sendable, Equatable {
    public enum DataType: String, Codable, Sendable { case string = "String", number = "Number", boolean = "Boolean", dateTime = "DateTime" }

    /// Full name as clients send it: standard names bare ("email"), custom ones "custom:…".
    public var name: String
    public var type: DataType
    public var mutable: Bool
    public var required: Bool
    public var minLength: Int?
    public var maxLength: Int?
    public var minValue: Int?
    public var maxValue: Int?

    public init(name: String, type: DataType = .string, mutable: Bool = true, required: Bool = false,
                minLength: Int? = nil, maxLength: Int? = nil, minValue: Int? = nil, maxValue: Int? = nil) {
        self.name = name
        self.type = type
        self.mutable = mutable
        self.required = required
        self.minLength = minLength
        self.maxLength = maxLength
        self.minValue = minValue
        self.maxValue = maxValue
    }
}

public struct Pool: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var createdAt: Int64
    public var modifiedAt: Int64
    public var policy: PasswordPolicy
    public var schema: [SchemaAttribute]
    /// "email" and/or "phone_number" used as the username.
    public var usernameAttributes: [String]
    /// "email", "phone_number", "preferred_username" accepted as aliases.
    public var aliasAttributes: [String]
    public var autoVerifiedAttributes: [String]
    public var caseSensitive: Bool
    public var mfaConfiguration: String
    public var deletionProtection: String
    /// Sign-up by users themselves (false: AdminCreateUserConfig.AllowAdminCreateUserOnly).
    public var allowAdminCreateUserOnly: Bool
    public var tags: [String: String]
    /// The pool's RSA signing key, sealed with the cluster's master key.
    public var signingKey: SealedSigningKey?

    public func attribute(_ name: String) -> SchemaAttribute? { schema.first { $0.name == name } }

    public init(id: String, name: String, createdAt: Int64, modifiedAt: Int64, policy: PasswordPolicy, schema: [SchemaAttribute], usernameAttributes: [String], aliasAttributes: [String], autoVerifiedAttributes: [String], caseSensitive: Bool, mfaConfiguration: String, deletionProtection: String, allowAdminCreateUserOnly: Bool, tags: [String: String], signingKey: SealedSigningKey? = nil) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
        self.modifiedAt = modifiedAt
        self.policy = policy
        self.schema = schema
        self.usernameAttributes = usernameAttributes
        self.aliasAttributes = aliasAttributes
        self.autoVerifiedAttributes = autoVerifiedAttributes
        self.caseSensitive = caseSensitive
        self.mfaConfiguration = mfaConfiguration
        self.deletionProtection = deletionProtection
        self.allowAdminCreateUserOnly = allowAdminCreateUserOnly
        self.tags = tags
        self.signingKey = signingKey
    }
}

public struct AppClient: Codable, Sendable, Equatable {
    public var id: String
    public var poolId: String
    public var name: String
    public var secret: String?
    public var explicitAuthFlows: [String]
    public var readAttributes: [String]?
    public var writeAttributes: [String]?
    public var preventUserExistenceErrors: String
    public var refreshTokenValidity: Int
    public var accessTokenValidity: Int?
    public var idTokenValidity: Int?
    public var tokenValidityUnits: [String: String]?
    public var createdAt: Int64
    public var modifiedAt: Int64

    public init(id: String, poolId: String, name: String, secret: String?, explicitAuthFlows: [String], readAttributes: [String]?, writeAttributes: [String]?, preventUserExistenceErrors: String, refreshTokenValidity: Int, accessTokenValidity: Int?, idTokenValidity: Int?, tokenValidityUnits: [String: String]?, createdAt: Int64, modifiedAt: Int64) {
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
    }
}

public struct User: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case unconfirmed = "UNCONFIRMED"
        case confirmed = "CONFIRMED"
        case forceChangePassword = "FORCE_CHANGE_PASSWORD"
        case resetRequired = "RESET_REQUIRED"
    }

    public var poolId: String
    /// The username as stored and returned (lowercased in case-insensitive pools).
    public var username: String
    public var sub: String
    public var attributes: [String: String]
    public var status: Status
    public var enabled: Bool
    public var createdAt: Int64
    public var modifiedAt: Int64
    public var verifier: PasswordVerifier?
    /// When a temporary password stops working (FORCE_CHANGE_PASSWORD).
    public var temporaryPasswordExpiresAt: Int64?
    public var failedAttempts: Int
    public var lockedUntil: Int64?
    public var lastFailureAt: Int64?
    /// Milliseconds: tokens whose sign-in began at or before it are revoked (GlobalSignOut,
    /// AdminUserGlobalSignOut, AdminDisableUser).
    public var signedOutAt: Int64?
    /// Bumped on every change; writes compare it to refuse lost updates.
    public var version: Int
    /// Names of the groups the user belongs to, sorted.
    public var groups: [String]?
    /// Refresh-token families (origin_jti) revoked with RevokeToken; most recent last.
    public var revokedOrigins: [String]?

    public init(poolId: String, username: String, sub: String, attributes: [String: String], status: Status, enabled: Bool, createdAt: Int64, modifiedAt: Int64, verifier: PasswordVerifier?, temporaryPasswordExpiresAt: Int64?, failedAttempts: Int, lockedUntil: Int64?, lastFailureAt: Int64?, signedOutAt: Int64? = nil, version: Int, groups: [String]? = nil) {
        self.poolId = poolId
        self.username = username
        self.sub = sub
        self.attributes = attributes
        self.status = status
        self.enabled = enabled
        self.createdAt = createdAt
        self.modifiedAt = modifiedAt
        self.verifier = verifier
        self.temporaryPasswordExpiresAt = temporaryPasswordExpiresAt
        self.failedAttempts = failedAttempts
        self.lockedUntil = lockedUntil
        self.lastFailureAt = lastFailureAt
        self.signedOutAt = signedOutAt
        self.version = version
        self.groups = groups
    }
}

public struct Group: Codable, Sendable, Equatable {
    public var poolId: String
    public var name: String
    public var description: String?
    public var precedence: Int?
    public var roleArn: String?
    public var createdAt: Int64
    public var modifiedAt: Int64

    public init(poolId: String, name: String, description: String?, precedence: Int?, roleArn: String?, createdAt: Int64, modifiedAt: Int64) {
        self.poolId = poolId
        self.name = name
        self.description = description
        self.precedence = precedence
        self.roleArn = roleArn
        self.createdAt = createdAt
        self.modifiedAt = modifiedAt
    }
}

/// A claim on a unique attribute value (an email or phone used as username or alias), kept
/// on the shard its own hash picks. Claimed in two steps so uniqueness holds across shards:
/// reserve here, write the user on its shard, then commit here.
public struct AliasClaim: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable { case reserved, committed }
    /// The owner's canonical username.
    public var owner: String
    public var state: State
    public var since: Int64
    /// The claimed attribute and value, readable (the key holds only their hash).
    public var attribute: String?
    public var value: String?

    public init(owner: String, state: State, since: Int64, attribute: String? = nil, value: String? = nil) {
        self.owner = owner
        self.state = state
        self.since = since
        self.attribute = attribute
        self.value = value
    }
}

/// A pool's token-signing key: its id (the JWT `kid`) and the sealed private key (DER).
public struct SealedSigningKey: Codable, Sendable, Equatable {
    public var keyId: String
    public var sealed: [UInt8]

    public init(keyId: String, sealed: [UInt8]) {
        self.keyId = keyId
        self.sealed = sealed
    }
}

extension User {
    /// The user's sign-in lockout state.
    public var lockout: Lockout {
        get { Lockout(failedAttempts: failedAttempts, lockedUntil: lockedUntil, lastFailureAt: lastFailureAt) }
        set {
            failedAttempts = newValue.failedAttempts
            lockedUntil = newValue.lockedUntil
            lastFailureAt = newValue.lastFailureAt
        }
    }
}

extension PasswordVerifier {
    /// The fingerprint a sign-in attempt names (see `PasswordVerifierDigest`).
    public var digest: [UInt8] { PasswordVerifierDigest.of(salt: salt, verifier: verifier) }
}
