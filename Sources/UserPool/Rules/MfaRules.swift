import CognitoModel

/// Multi-factor authentication: the pool's configuration (SetUserPoolMfaConfig), a user's
/// MFA types (SetUserMFAPreference), and which second factor a sign-in that passed its
/// first one meets. TOTP is the factor built so far; SMS, email and passkey factors are
/// refused by name rather than stored and skipped, so no pool believes it has a factor it
/// does not get.
public enum MfaRules {
    public static let softwareToken = "SOFTWARE_TOKEN_MFA"

    /// SetUserPoolMfaConfig: MfaConfiguration and the factors it may use.
    public static func configure(
        _ pool: inout Pool, mfaConfiguration: UserPoolMfaType?, softwareToken: SoftwareTokenMfaConfigType?,
        sms: SmsMfaConfigType?, email: EmailMfaConfigType?, webAuthn: WebAuthnConfigurationType?, now: Int64
    ) throws(PoolError) {
        if sms != nil { throw PoolError.notSupported("SMS MFA (SmsMfaConfiguration)") }
        if email != nil { throw PoolError.notSupported("Email MFA (EmailMfaConfiguration)") }
        if webAuthn != nil { throw PoolError.notSupported("Passkeys (WebAuthnConfiguration)") }
        let mode = mfaConfiguration ?? pool.mfaConfiguration
        if case .unrecognized(let other) = mode {
            throw PoolError(.invalidParameter, "Invalid MfaConfiguration \(other)")
        }
        let totp = softwareToken?.enabled ?? false
        if mode != .off && !totp {
            throw PoolError(
                .invalidParameter,
                "Invalid MFA configuration given, can't turn on MFA without enabling at least one MFA method.")
        }
        pool.mfaConfiguration = mode
        pool.settings.softwareTokenMfa = SoftwareTokenMfaConfigType(enabled: totp)
        pool.modifiedAt = now
    }

    /// Whether the pool lets users use a TOTP authenticator.
    public static func allowsSoftwareToken(_ pool: Pool) -> Bool { pool.settings.softwareTokenMfa?.enabled == true }

    /// The second factor a sign-in meets once its password (or SRP proof) is right: TOTP
    /// for a user with a verified authenticator the pool allows, when MFA is ON, or
    /// OPTIONAL and the user turned TOTP on; MFA_SETUP when MFA is ON and the user has no
    /// factor; none otherwise.
    public static func challenge(pool: Pool, user: User) -> ChallengeNameType? {
        guard pool.mfaConfiguration != .off else { return nil }
        let mfa = user.mfa ?? UserMfa()
        let totp = allowsSoftwareToken(pool) && mfa.totpVerified
        switch pool.mfaConfiguration {
        case .on:
            return totp ? .softwareTokenMfa : .mfaSetup
        default:
            return totp && mfa.enabled.contains(softwareToken) ? .softwareTokenMfa : nil
        }
    }

    /// SetUserMFAPreference / AdminSetUserMFAPreference for the software token: turning it
    /// on needs a verified authenticator; preferring it needs it on.
    public static func setPreference(
        _ user: inout User, softwareToken: SoftwareTokenMfaSettingsType?, sms: SMSMfaSettingsType?,
        email: EmailMfaSettingsType?, webAuthn: WebAuthnMfaSettingsType?, pool: Pool, now: Int64
    ) throws(PoolError) {
        if sms?.enabled == true || sms?.preferredMfa == true { throw PoolError.notSupported("SMS MFA") }
        if email?.enabled == true || email?.preferredMfa == true { throw PoolError.notSupported("Email MFA") }
        if webAuthn?.enabled == true { throw PoolError.notSupported("Passkeys as MFA") }
        guard let softwareToken else { return }
        var mfa = user.mfa ?? UserMfa()
        if let enabled = softwareToken.enabled {
            if enabled {
                guard mfa.totpVerified else {
                    throw PoolError(.invalidParameter, "User has not verified software token mfa")
                }
                if !mfa.enabled.contains(Self.softwareToken) { mfa.enabled.append(Self.softwareToken) }
            } else {
                mfa.enabled.removeAll { $0 == Self.softwareToken }
                if mfa.preferred == Self.softwareToken { mfa.preferred = nil }
            }
        }
        if softwareToken.preferredMfa == true {
            guard mfa.enabled.contains(Self.softwareToken) else {
                throw PoolError(.invalidParameter, "Software token MFA must be enabled to be the preferred MFA")
            }
            mfa.preferred = Self.softwareToken
        } else if softwareToken.preferredMfa == false, mfa.preferred == Self.softwareToken {
            mfa.preferred = nil
        }
        user.mfa = mfa
        user.modifiedAt = now
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
