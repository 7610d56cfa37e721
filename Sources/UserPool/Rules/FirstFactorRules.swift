import CognitoModel

/// Choice-based sign-in (USER_AUTH): the first factors a pool allows
/// (`Policies.SignInPolicy.AllowedFirstAuthFactors`) and the ones a user can meet.
///
/// - PASSWORD is always allowed, and offered as two challenges, PASSWORD and PASSWORD_SRP,
///   to a user who has a password.
/// - EMAIL_OTP and SMS_OTP (codes by email or SMS instead of a password) need the ESSENTIALS
///   or PLUS tier, SMS an SmsConfiguration; they are offered to a user whose email (phone
///   number) is verified, and never while MFA is ON: a passwordless sign-in meets no second
///   factor, so a pool that requires one keeps its users to passwords.
/// - WEB_AUTHN (passkeys, `PasskeyRules`) needs the same tiers; it is offered to a user who
///   registered one, and while MFA is ON only when the pool's WebAuthnConfiguration makes a
///   passkey both factors (MULTI_FACTOR_WITH_USER_VERIFICATION, user verification required).
public enum FirstFactorRules {
    /// The pool's allowed first factors (PASSWORD alone unless the pool says more).
    public static func allowed(_ pool: Pool) -> [AuthFactorType] {
        pool.settings.allowedFirstAuthFactors ?? [.password]
    }

    /// CreateUserPool's and UpdateUserPool's SignInPolicy, checked against the pool it goes
    /// into; nil when the request names none (PASSWORD alone).
    public static func validate(_ policy: SignInPolicyType?, pool: Pool) throws(PoolError) -> [AuthFactorType]? {
        guard let factors = policy?.allowedFirstAuthFactors else { return nil }
        var out: [AuthFactorType] = []
        for factor in factors where !out.contains(factor) {
            switch factor {
            case .password: break
            case .emailOtp, .smsOtp, .webAuthn:
                if pool.settings.userPoolTier == .lite {
                    throw PoolError(
                        .featureUnavailableInTier,
                        "Passwordless sign-in (\(factor.rawValue)) needs the ESSENTIALS or PLUS tier; "
                            + "this user pool is in the LITE tier.")
                }
                if factor == .smsOtp && pool.settings.smsConfiguration == nil {
                    throw PoolError(.invalidParameter, "SMS_OTP needs the user pool's SmsConfiguration.")
                }
            case .softwareToken, .unrecognized:
                throw PoolError(.invalidParameter, "Invalid AllowedFirstAuthFactors value \(factor.rawValue)")
            }
            out.append(factor)
        }
        guard out.contains(.password) else {
            throw PoolError(.invalidParameter, "AllowedFirstAuthFactors must include PASSWORD.")
        }
        return out
    }

    /// The challenges a USER_AUTH sign-in offers `user`, in Cognito's order. For a name no
    /// user has (`user` nil, in a client that hides existence) the ones any user with a
    /// password and verified contacts would get, so the answer does not single it out.
    public static func available(pool: Pool, user: User?) -> [ChallengeNameType] {
        let allowed = allowed(pool)
        let passwordless = pool.mfaConfiguration != .on
        var out: [ChallengeNameType] = []
        if user == nil || user?.verifier != nil { out += [.password, .passwordSrp] }
        if passwordless && allowed.contains(.emailOtp) && (user == nil || verified(user, "email")) {
            out.append(.emailOtp)
        }
        if passwordless && allowed.contains(.smsOtp) && (user == nil || verified(user, "phone_number")) {
            out.append(.smsOtp)
        }
        // A name no user has is offered no passkey, as most users have none.
        if (passwordless || PasskeyRules.multiFactor(pool)) && allowed.contains(.webAuthn)
            && !(user?.passkeys ?? []).isEmpty
        {
            out.append(.webAuthn)
        }
        return out
    }

    static func verified(_ user: User?, _ attribute: String) -> Bool {
        guard let user, user.attributes[attribute] != nil else { return false }
        return user.attributes["\(attribute)_verified"] == "true"
    }

    /// GetUserAuthFactors' ConfiguredUserAuthFactors: the first factors `user` can sign in with.
    public static func configured(pool: Pool, user: User) -> [AuthFactorType] {
        var out: [AuthFactorType] = user.verifier == nil ? [] : [.password]
        let offered = available(pool: pool, user: user)
        if offered.contains(.emailOtp) { out.append(.emailOtp) }
        if offered.contains(.smsOtp) { out.append(.smsOtp) }
        if offered.contains(.webAuthn) { out.append(.webAuthn) }
        return out
    }

    /// SignUp without a password: only where the pool allows a passwordless first factor.
    public static func checkPasswordless(_ pool: Pool) throws(PoolError) {
        guard allowed(pool).contains(where: { $0 != .password }) else {
            throw PoolError(
                .invalidParameter,
                "Password is required: this user pool allows no passwordless first factor (EMAIL_OTP, SMS_OTP, "
                    + "WEB_AUTHN).")
        }
    }

    /// The challenges a USER_AUTH client may name as PREFERRED_CHALLENGE or ANSWER.
    public static let choices: [ChallengeNameType] = [.password, .passwordSrp, .emailOtp, .smsOtp, .webAuthn]
}
