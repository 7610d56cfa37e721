import CognitoModel

/// Multi-factor authentication: the pool's configuration (SetUserPoolMfaConfig), a user's
/// MFA types (SetUserMFAPreference), and which second factor a sign-in that passed its
/// first one meets: TOTP, email and SMS codes, and a passkey (WebAuthnMfaSettings: the
/// user's registered passkey, WEB_AUTHN after the password, in a pool with a
/// WebAuthnConfiguration). A passkey as the first factor is `PasskeyRules`'; it stands for
/// both factors only by the pool's WebAuthnConfiguration.
public enum MfaRules {
    public static let softwareToken = "SOFTWARE_TOKEN_MFA"
    public static let emailOtp = "EMAIL_OTP"
    public static let smsMfa = "SMS_MFA"
    public static let webAuthn = "WEB_AUTHN"

    /// SetUserPoolMfaConfig: MfaConfiguration and the factors it may use (a factor left
    /// out is turned off).
    public static func configure(
        _ pool: inout Pool, mfaConfiguration: UserPoolMfaType?, softwareToken: SoftwareTokenMfaConfigType?,
        sms: SmsMfaConfigType?, email: EmailMfaConfigType?, webAuthn: WebAuthnConfigurationType?, now: Int64
    ) throws(PoolError) {
        try PasskeyRules.configure(&pool, webAuthn)
        let mode = mfaConfiguration ?? pool.mfaConfiguration
        if case .unrecognized(let other) = mode {
            throw PoolError(.invalidParameter, "Invalid MfaConfiguration \(other)")
        }
        if let email {
            if pool.settings.userPoolTier == .lite {
                throw PoolError(
                    .featureUnavailableInTier, "Email MFA is not available in the LITE tier; use ESSENTIALS or PLUS.")
            }
            if let message = email.message, !message.contains("{####}") {
                throw PoolError(.invalidParameter, "EmailMfaConfiguration.Message must contain {####}.")
            }
        }
        if let sms {
            guard sms.smsConfiguration != nil || pool.settings.smsConfiguration != nil else {
                throw PoolError(.invalidParameter, "SMS MFA needs an SmsConfiguration (its SnsCallerArn).")
            }
            if let message = sms.smsAuthenticationMessage, !message.contains("{####}") {
                throw PoolError(.invalidParameter, "SmsAuthenticationMessage must contain {####}.")
            }
        }
        let totp = softwareToken?.enabled ?? false
        if mode != .off && !totp && email == nil && sms == nil {
            throw PoolError(
                .invalidParameter,
                "Invalid MFA configuration given, can't turn on MFA without enabling at least one MFA method.")
        }
        pool.mfaConfiguration = mode
        pool.settings.softwareTokenMfa = SoftwareTokenMfaConfigType(enabled: totp)
        pool.settings.emailMfa = email
        pool.settings.smsMfa = sms
        pool.modifiedAt = now
    }

    /// Whether the pool lets users use a TOTP authenticator.
    public static func allowsSoftwareToken(_ pool: Pool) -> Bool { pool.settings.softwareTokenMfa?.enabled == true }
    /// AssociateSoftwareToken and VerifySoftwareToken need a pool that allows TOTP.
    public static func checkSoftwareTokenAllowed(_ pool: Pool) throws(PoolError) {
        guard allowsSoftwareToken(pool) else {
            throw PoolError(.softwareTokenMFANotFound, "Software Token MFA is not enabled for the user pool.")
        }
    }

    /// Whether the pool sends sign-in codes by email.
    public static func allowsEmail(_ pool: Pool) -> Bool { pool.settings.emailMfa != nil }
    /// Whether the pool sends sign-in codes by SMS.
    public static func allowsSms(_ pool: Pool) -> Bool { pool.settings.smsMfa != nil }
    /// Whether the pool's passkeys can be a second factor (it has a relying party).
    public static func allowsWebAuthn(_ pool: Pool) -> Bool { pool.settings.webAuthn?.relyingPartyId != nil }

    /// The factors `user` has in `pool`: a verified authenticator, an email address.
    public static func available(pool: Pool, user: User) -> [String] {
        var out: [String] = []
        if allowsSoftwareToken(pool) && user.mfa?.totpVerified == true { out.append(softwareToken) }
        if allowsSms(pool) && user.attributes["phone_number"] != nil { out.append(smsMfa) }
        if allowsEmail(pool) && user.attributes["email"] != nil { out.append(emailOtp) }
        if allowsWebAuthn(pool) && !(user.passkeys ?? []).isEmpty { out.append(webAuthn) }
        return out
    }

    /// The factors a sign-in may ask `user` for: those the user turned on (with MFA ON and
    /// none turned on, every one the user has).
    public static func factors(pool: Pool, user: User) -> [String] {
        guard pool.mfaConfiguration != .off else { return [] }
        let available = available(pool: pool, user: user)
        let enabled = available.filter { (user.mfa?.enabled ?? []).contains($0) }
        return pool.mfaConfiguration == .on && enabled.isEmpty ? available : enabled
    }

    /// The second factor a sign-in meets once its password (or SRP proof) is right: the
    /// preferred factor, the only one, or a choice (SELECT_MFA_TYPE); MFA_SETUP when MFA is
    /// ON and the user has none; nothing when MFA is off, or OPTIONAL and none is on.
    public static func challenge(pool: Pool, user: User) -> ChallengeNameType? {
        let factors = factors(pool: pool, user: user)
        guard !factors.isEmpty else { return pool.mfaConfiguration == .on ? .mfaSetup : nil }
        if let preferred = user.mfa?.preferred, factors.contains(preferred) {
            return ChallengeNameType(rawValue: preferred)
        }
        return factors.count == 1 ? ChallengeNameType(rawValue: factors[0]) : .selectMfaType
    }

    /// SetUserMFAPreference / AdminSetUserMFAPreference: turning TOTP on needs a verified
    /// authenticator, email (SMS) an address (a phone number) and a pool that sends codes
    /// that way; preferring a factor needs it on.
    public static func setPreference(
        _ user: inout User, softwareToken: SoftwareTokenMfaSettingsType?, sms: SMSMfaSettingsType?,
        email: EmailMfaSettingsType?, webAuthn: WebAuthnMfaSettingsType?, pool: Pool, now: Int64
    ) throws(PoolError) {
        var mfa = user.mfa ?? UserMfa()
        if let webAuthn {
            if webAuthn.enabled == true {
                guard allowsWebAuthn(pool) else {
                    throw PoolError(
                        .init(.webAuthnConfigurationMissing),
                        "The user pool's WebAuthnConfiguration has no RelyingPartyId.")
                }
                guard !(user.passkeys ?? []).isEmpty else {
                    throw PoolError(.invalidParameter, "User has no passkey to use as a second factor.")
                }
            }
            // No preference: a passkey is never the preferred factor.
            set(&mfa, Self.webAuthn, enabled: webAuthn.enabled, preferred: nil)
        }
        if let softwareToken {
            if softwareToken.enabled == true && !mfa.totpVerified {
                throw PoolError(.invalidParameter, "User has not verified software token mfa")
            }
            set(&mfa, Self.softwareToken, enabled: softwareToken.enabled, preferred: softwareToken.preferredMfa)
        }
        if let sms {
            if sms.enabled == true {
                guard allowsSms(pool) else {
                    throw PoolError(.invalidParameter, "SMS MFA is not enabled for this user pool.")
                }
                guard user.attributes["phone_number"] != nil else {
                    throw PoolError(.invalidParameter, "User does not have a phone number to send codes to.")
                }
            }
            set(&mfa, smsMfa, enabled: sms.enabled, preferred: sms.preferredMfa)
        }
        if let email {
            if email.enabled == true {
                guard allowsEmail(pool) else {
                    throw PoolError(.invalidParameter, "Email MFA is not enabled for this user pool.")
                }
                guard user.attributes["email"] != nil else {
                    throw PoolError(.invalidParameter, "User does not have an email address to send codes to.")
                }
            }
            set(&mfa, emailOtp, enabled: email.enabled, preferred: email.preferredMfa)
        }
        if let preferred = mfa.preferred, !mfa.enabled.contains(preferred) {
            throw PoolError(.invalidParameter, "The preferred MFA must be enabled.")
        }
        user.mfa = mfa
        user.modifiedAt = now
    }

    static func set(_ mfa: inout UserMfa, _ type: String, enabled: Bool?, preferred: Bool?) {
        switch enabled {
        case true?: if !mfa.enabled.contains(type) { mfa.enabled.append(type) }
        case false?:
            mfa.enabled.removeAll { $0 == type }
            if mfa.preferred == type { mfa.preferred = nil }
        case nil: break
        }
        switch preferred {
        case true?: mfa.preferred = type
        case false? where mfa.preferred == type: mfa.preferred = nil
        default: break
        }
    }

    /// SetUserSettings / AdminSetUserSettings, the legacy form: MFAOptions naming SMS to
    /// phone_number turn SMS MFA on, an empty list turns it off.
    public static func setLegacySettings(
        _ user: inout User, _ options: [MFAOptionType], pool: Pool, now: Int64
    )
        throws(PoolError)
    {
        for option in options {
            guard option.deliveryMedium == .sms, option.attributeName == nil || option.attributeName == "phone_number"
            else {
                throw PoolError(.invalidParameter, "MFAOptions may only name SMS to phone_number.")
            }
        }
        try setPreference(
            &user, softwareToken: nil, sms: SMSMfaSettingsType(enabled: !options.isEmpty), email: nil, webAuthn: nil,
            pool: pool, now: now)
    }

    /// GetUser's and AdminGetUser's legacy MFAOptions: SMS to phone_number while SMS MFA is on.
    public static func legacyOptions(_ user: User) -> [MFAOptionType]? {
        guard user.mfa?.enabled.contains(smsMfa) == true else { return nil }
        return [MFAOptionType(deliveryMedium: .sms, attributeName: "phone_number")]
    }

    /// GetUser's and AdminGetUser's UserMFASettingList (nil when empty, as Cognito leaves it
    /// out) and PreferredMfaSetting.
    public static func settings(_ user: User) -> (list: [String]?, preferred: String?) {
        let enabled = user.mfa?.enabled ?? []
        return (enabled.isEmpty ? nil : enabled, user.mfa?.preferred)
    }

    /// AssociateSoftwareToken: a new secret (sealed) waits for its first code.
    public static func associate(_ user: inout User, sealedSecret: [UInt8], now: Int64) {
        var mfa = user.mfa ?? UserMfa()
        mfa.pendingTotpSecret = sealedSecret
        user.mfa = mfa
        user.modifiedAt = now
    }

    /// VerifySoftwareToken with a right code for `step`: the pending secret becomes the
    /// user's authenticator. Checked on the record the write replaces: the secret is still
    /// the one the code was checked against, and the step was not used since.
    public static func verify(
        _ user: inout User, checkedSecret: [UInt8], step: Int64, name: String?, now: Int64
    ) throws(PoolError) {
        guard var mfa = user.mfa, mfa.pendingTotpSecret == checkedSecret else {
            throw PoolError(.enableSoftwareTokenMFA, "Code mismatch")
        }
        mfa.totpSecret = checkedSecret
        mfa.totpVerified = true
        mfa.pendingTotpSecret = nil
        mfa.totpName = name
        mfa.totpLastStep = max(step, mfa.totpLastStep ?? step)
        user.mfa = mfa
        user.modifiedAt = now
    }

    /// A sign-in's TOTP code accepted for `step`: refused if that step (or a later one) was
    /// used since the check, so a code works once however many fronts race with it.
    public static func useStep(_ user: inout User, step: Int64) throws(PoolError) {
        guard var mfa = user.mfa, mfa.totpSecret != nil, step > (mfa.totpLastStep ?? Int64.min) else {
            throw PoolError(.codeMismatch, "Invalid code received for user")
        }
        mfa.totpLastStep = step
        user.mfa = mfa
        user.lockout = Lockout()
    }

    /// The MFA_SETUP session AssociateSoftwareToken and VerifySoftwareToken are called with
    /// instead of an access token: for that challenge, and before its authenticator is
    /// verified.
    public static func setupSession(_ session: SignInSession?) throws(PoolError) -> SignInSession {
        guard let session, session.challenge == .mfaSetup, !session.factorVerified else {
            throw PoolError(.notAuthorized, "Invalid session for the user, session is expired.")
        }
        return session
    }

    /// An authenticator verified in MFA_SETUP is the user's MFA from then on.
    public static func enableAfterSetup(_ user: inout User) {
        var mfa = user.mfa ?? UserMfa()
        if !mfa.enabled.contains(softwareToken) { mfa.enabled.append(softwareToken) }
        mfa.preferred = mfa.preferred ?? softwareToken
        user.mfa = mfa
    }

    /// AdminDeleteSoftwareToken: the authenticator and the TOTP preference go.
    public static func deleteSoftwareToken(_ user: inout User, now: Int64) {
        guard var mfa = user.mfa else { return }
        mfa.totpSecret = nil
        mfa.totpVerified = false
        mfa.pendingTotpSecret = nil
        mfa.totpName = nil
        mfa.enabled.removeAll { $0 == softwareToken }
        if mfa.preferred == softwareToken { mfa.preferred = nil }
        user.mfa = mfa
        user.modifiedAt = now
    }
}
