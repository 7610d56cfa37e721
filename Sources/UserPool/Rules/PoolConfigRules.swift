import CognitoModel

/// What CreateUserPool and UpdateUserPool make of a request.
public enum PoolConfigRules {
    /// A new pool from CreateUserPool (its id, signing key and time from the front).
    public static func pool(
        from r: CreateUserPoolRequest, id: String, signingKey: SealedSigningKey, now: Int64
    ) throws(PoolError) -> Pool {
        let usernameAttributes = r.usernameAttributes ?? []
        let aliasAttributes = r.aliasAttributes ?? []
        if !usernameAttributes.isEmpty && !aliasAttributes.isEmpty {
            throw PoolError(
                .invalidParameter, "Only one of the aliasAttributes or usernameAttributes can be set in a User Pool")
        }
        let mfaOn = r.mfaConfiguration.map { $0 != .off } ?? false
        // MFA at creation is SMS MFA, as in Cognito (TOTP and email are turned on by
        // SetUserPoolMfaConfig): it needs the SMS configuration.
        if mfaOn && r.smsConfiguration == nil {
            throw PoolError(.invalidParameter, "SMS configuration is required when MFA is required/optional.")
        }
        var pool = Pool(
            id: id, name: r.poolName, createdAt: now, modifiedAt: now,
            policy: try policy(r.policies?.passwordPolicy, base: PasswordPolicy()),
            schema: try SchemaRules.schema(from: r.schema ?? []), usernameAttributes: usernameAttributes,
            aliasAttributes: aliasAttributes, autoVerifiedAttributes: r.autoVerifiedAttributes ?? [],
            caseSensitive: r.usernameConfiguration?.caseSensitive ?? true, mfaConfiguration: r.mfaConfiguration ?? .off,
            deletionProtection: r.deletionProtection ?? .inactive,
            allowAdminCreateUserOnly: r.adminCreateUserConfig?.allowAdminCreateUserOnly ?? false,
            tags: r.userPoolTags ?? [:], signingKey: signingKey)
        pool.settings.lambdaConfig = r.lambdaConfig
        pool.settings.verificationMessageTemplate = r.verificationMessageTemplate
        pool.settings.emailVerificationMessage = r.emailVerificationMessage
        pool.settings.emailVerificationSubject = r.emailVerificationSubject
        pool.settings.smsVerificationMessage = r.smsVerificationMessage
        pool.settings.smsAuthenticationMessage = r.smsAuthenticationMessage
        pool.settings.accountRecoverySetting = r.accountRecoverySetting
        pool.settings.emailConfiguration = r.emailConfiguration
        pool.settings.smsConfiguration = r.smsConfiguration
        pool.settings.userAttributeUpdateSettings = r.userAttributeUpdateSettings
        pool.settings.deviceConfiguration = r.deviceConfiguration
        pool.settings.adminCreateUserConfig = r.adminCreateUserConfig
        pool.settings.userPoolAddOns = r.userPoolAddOns
        pool.settings.userPoolTier = r.userPoolTier
        if mfaOn {
            pool.settings.smsMfa = SmsMfaConfigType(
                smsAuthenticationMessage: r.smsAuthenticationMessage, smsConfiguration: r.smsConfiguration)
        }
        pool.settings.allowedFirstAuthFactors = try FirstFactorRules.validate(r.policies?.signInPolicy, pool: pool)
        try checkSettings(pool)
        return pool
    }

    /// UpdateUserPool: as in Cognito, what the request leaves out goes back to its default
    /// (the schema, username and alias attributes and case sensitivity cannot change).
    public static func updated(_ current: Pool, with r: UpdateUserPoolRequest, now: Int64) throws(PoolError) -> Pool {
        // MFA on needs a factor the pool can use: one SetUserPoolMfaConfig turned on, or SMS
        // MFA with the SmsConfiguration given here.
        let mfaOn = r.mfaConfiguration.map { $0 != .off } ?? false
        if mfaOn && r.smsConfiguration == nil
            && !(MfaRules.allowsSoftwareToken(current) || MfaRules.allowsEmail(current) || MfaRules.allowsSms(current))
        {
            throw PoolError(
                .invalidParameter,
                "Invalid MFA configuration given, can't turn on MFA without enabling at least one MFA method.")
        }
        var pool = current
        pool.policy = try policy(r.policies?.passwordPolicy, base: PasswordPolicy())
        pool.autoVerifiedAttributes = r.autoVerifiedAttributes ?? []
        pool.mfaConfiguration = r.mfaConfiguration ?? .off
        pool.deletionProtection = r.deletionProtection ?? .inactive
        pool.allowAdminCreateUserOnly = r.adminCreateUserConfig?.allowAdminCreateUserOnly ?? false
        pool.tags = r.userPoolTags ?? [:]
        pool.modifiedAt = now
        var settings = PoolSettings()
        settings.lambdaConfig = r.lambdaConfig
        settings.verificationMessageTemplate = r.verificationMessageTemplate
        settings.emailVerificationMessage = r.emailVerificationMessage
        settings.emailVerificationSubject = r.emailVerificationSubject
        settings.smsVerificationMessage = r.smsVerificationMessage
        settings.smsAuthenticationMessage = r.smsAuthenticationMessage
        settings.accountRecoverySetting = r.accountRecoverySetting
        settings.emailConfiguration = r.emailConfiguration
        settings.smsConfiguration = r.smsConfiguration
        settings.userAttributeUpdateSettings = r.userAttributeUpdateSettings
        settings.deviceConfiguration = r.deviceConfiguration
        settings.adminCreateUserConfig = r.adminCreateUserConfig
        settings.userPoolAddOns = r.userPoolAddOns
        settings.userPoolTier = r.userPoolTier ?? current.settings.userPoolTier
        // Set by their own operations, not UpdateUserPool's.
        settings.logConfigurations = current.settings.logConfigurations
        settings.softwareTokenMfa = current.settings.softwareTokenMfa
        settings.emailMfa = current.settings.emailMfa
        settings.smsMfa = current.settings.smsMfa
        settings.webAuthn = current.settings.webAuthn
        settings.domains = current.settings.domains
        if mfaOn, let sms = r.smsConfiguration {
            settings.smsMfa = SmsMfaConfigType(
                smsAuthenticationMessage: r.smsAuthenticationMessage
                    ?? current.settings.smsMfa?.smsAuthenticationMessage,
                smsConfiguration: sms)
        }
        pool.settings = settings
        pool.settings.allowedFirstAuthFactors = try FirstFactorRules.validate(r.policies?.signInPolicy, pool: pool)
        try checkSettings(pool)
        return pool
    }

    static func policy(_ p: PasswordPolicyType?, base: PasswordPolicy) throws(PoolError) -> PasswordPolicy {
        var policy = base
        guard let p else { return policy }
        if let n = p.minimumLength { policy.minimumLength = n }
        policy.requireUppercase = p.requireUppercase ?? policy.requireUppercase
        policy.requireLowercase = p.requireLowercase ?? policy.requireLowercase
        policy.requireNumbers = p.requireNumbers ?? policy.requireNumbers
        policy.requireSymbols = p.requireSymbols ?? policy.requireSymbols
        policy.temporaryPasswordValidityDays = p.temporaryPasswordValidityDays ?? policy.temporaryPasswordValidityDays
        policy.historySize = p.passwordHistorySize.flatMap { $0 > 0 ? $0 : nil }
        return policy
    }

    /// The cross-field rules the model cannot state.
    static func checkSettings(_ pool: Pool) throws(PoolError) {
        try MessageRules.checkTemplates(pool.settings)
        if pool.policy.historySize != nil && pool.settings.userPoolTier == .lite {
            throw PoolError(
                .featureUnavailableInTier,
                "PasswordHistorySize needs the ESSENTIALS or PLUS tier; this user pool is in the LITE tier.")
        }
        if let mode = pool.settings.userPoolAddOns?.advancedSecurityMode, mode != .off {
            throw PoolError.notSupported("AdvancedSecurityMode \(mode.rawValue) (threat protection)")
        }
        let verified = Set(pool.autoVerifiedAttributes.map(\.rawValue))
        if let mechanisms = pool.settings.accountRecoverySetting?.recoveryMechanisms {
            let priorities = mechanisms.map(\.priority)
            guard Set(priorities).count == priorities.count else {
                throw PoolError(.invalidParameter, "Priorities of the recovery mechanisms must be unique.")
            }
            if mechanisms.contains(where: { $0.name == .adminOnly }) && mechanisms.count > 1 {
                throw PoolError(.invalidParameter, "admin_only cannot be combined with other recovery mechanisms.")
            }
        }
        if let required = pool.settings.userAttributeUpdateSettings?.attributesRequireVerificationBeforeUpdate {
            for a in required where !verified.contains(a.rawValue) {
                throw PoolError(
                    .invalidParameter,
                    "The attributes in AttributesRequireVerificationBeforeUpdate must also be in "
                        + "AutoVerifiedAttributes."
                )
            }
        }
    }
}
