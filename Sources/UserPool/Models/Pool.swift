import CognitoModel

/// A user pool as a shard stores it: what the rules use, and the settings Cognito stores
/// and returns (`settings`) for the features that read them.
public struct Pool: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var createdAt: Int64
    public var modifiedAt: Int64
    public var policy: PasswordPolicy
    public var schema: [SchemaAttribute]
    /// Email and/or phone number as the username.
    public var usernameAttributes: [UsernameAttributeType]
    /// Email, phone number or preferred_username accepted as aliases.
    public var aliasAttributes: [AliasAttributeType]
    public var autoVerifiedAttributes: [VerifiedAttributeType]
    public var caseSensitive: Bool
    public var mfaConfiguration: UserPoolMfaType
    public var deletionProtection: DeletionProtectionType
    /// Sign-up by users themselves refused (AdminCreateUserConfig.AllowAdminCreateUserOnly).
    public var allowAdminCreateUserOnly: Bool
    public var tags: [String: String]
    /// The pool's RSA signing key, sealed with the cluster's master key.
    public var signingKey: SealedSigningKey?
    public var settings: PoolSettings
    /// DeleteUserPool has begun: the pool answers as if gone while its users, claims and
    /// messages are removed from the user shards; then the record goes.
    public var deleting: Bool?

    public func attribute(_ name: String) -> SchemaAttribute? { schema.first { $0.name == name } }

    public init(
        id: String, name: String, createdAt: Int64, modifiedAt: Int64, policy: PasswordPolicy,
        schema: [SchemaAttribute], usernameAttributes: [UsernameAttributeType], aliasAttributes: [AliasAttributeType],
        autoVerifiedAttributes: [VerifiedAttributeType], caseSensitive: Bool, mfaConfiguration: UserPoolMfaType,
        deletionProtection: DeletionProtectionType, allowAdminCreateUserOnly: Bool, tags: [String: String],
        signingKey: SealedSigningKey? = nil, settings: PoolSettings = PoolSettings()
    ) {
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
        self.settings = settings
    }

    enum CodingKeys: String, CodingKey {
        case id, name, createdAt, modifiedAt, policy, schema, usernameAttributes, aliasAttributes
        case autoVerifiedAttributes, caseSensitive, mfaConfiguration, deletionProtection, allowAdminCreateUserOnly
        case tags, signingKey, settings, deleting
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        name = try c.decode(String.self, forKey: .name)
        createdAt = try c.decode(Int64.self, forKey: .createdAt)
        modifiedAt = try c.decode(Int64.self, forKey: .modifiedAt)
        policy = try c.decode(PasswordPolicy.self, forKey: .policy)
        schema = try c.decode([SchemaAttribute].self, forKey: .schema)
        usernameAttributes = try c.decode([UsernameAttributeType].self, forKey: .usernameAttributes)
        aliasAttributes = try c.decode([AliasAttributeType].self, forKey: .aliasAttributes)
        autoVerifiedAttributes = try c.decode([VerifiedAttributeType].self, forKey: .autoVerifiedAttributes)
        caseSensitive = try c.decode(Bool.self, forKey: .caseSensitive)
        mfaConfiguration = try c.decode(UserPoolMfaType.self, forKey: .mfaConfiguration)
        deletionProtection = try c.decode(DeletionProtectionType.self, forKey: .deletionProtection)
        allowAdminCreateUserOnly = try c.decode(Bool.self, forKey: .allowAdminCreateUserOnly)
        tags = try c.decode([String: String].self, forKey: .tags)
        signingKey = try c.decodeIfPresent(SealedSigningKey.self, forKey: .signingKey)
        settings = try c.decodeIfPresent(PoolSettings.self, forKey: .settings) ?? PoolSettings()
        deleting = try c.decodeIfPresent(Bool.self, forKey: .deleting)
    }
}

/// What CreateUserPool and UpdateUserPool accept that the rules of today do not read:
/// validated as the model says, stored, and returned by DescribeUserPool, so that the
/// features that use them (messages, triggers, recovery) find them in place.
public struct PoolSettings: Codable, Sendable, Equatable {
    public var lambdaConfig: LambdaConfigType?
    public var verificationMessageTemplate: VerificationMessageTemplateType?
    public var emailVerificationMessage: String?
    public var emailVerificationSubject: String?
    public var smsVerificationMessage: String?
    public var smsAuthenticationMessage: String?
    public var accountRecoverySetting: AccountRecoverySettingType?
    public var emailConfiguration: EmailConfigurationType?
    public var smsConfiguration: SmsConfigurationType?
    public var userAttributeUpdateSettings: UserAttributeUpdateSettingsType?
    public var deviceConfiguration: DeviceConfigurationType?
    public var adminCreateUserConfig: AdminCreateUserConfigType?
    public var userPoolAddOns: UserPoolAddOnsType?
    public var userPoolTier: UserPoolTierType?
    /// SetLogDeliveryConfiguration's configurations, stored and described (Cognate keeps its
    /// own logs; it delivers nothing to CloudWatch, S3 or Firehose).
    public var logConfigurations: [LogConfigurationType]?
    /// SetUserPoolMfaConfig's SoftwareTokenMfaConfiguration: whether users may sign in with
    /// a TOTP authenticator as their second factor.
    public var softwareTokenMfa: SoftwareTokenMfaConfigType?
    /// SetUserPoolMfaConfig's EmailMfaConfiguration: sign-in codes by email.
    public var emailMfa: EmailMfaConfigType?
    /// SetUserPoolMfaConfig's SmsMfaConfiguration: sign-in codes by SMS.
    public var smsMfa: SmsMfaConfigType?
    /// Policies.SignInPolicy.AllowedFirstAuthFactors (nil: PASSWORD alone).
    public var allowedFirstAuthFactors: [AuthFactorType]?
    /// SetUserPoolMfaConfig's WebAuthnConfiguration: the passkeys' relying party.
    public var webAuthn: WebAuthnConfigurationType?
    /// The pool's domains (CreateUserPoolDomain): at most one prefix and one custom domain.
    public var domains: [PoolDomain]?

    public init() {}
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
