import AuthCrypto
import CognitoModel

/// A user's lifecycle: how one is made, and the status changes the admin operations make.
public enum UserRules {
    /// How a new user is made: by signing up, or by an administrator.
    public enum Creation: Sendable {
        case signUp
        case admin
    }

    /// The stored username and the sub of a new user. Where users sign in by email or phone
    /// (UsernameAttributes), the username is a UUID, the sub the same, and the given name
    /// becomes the email or phone attribute.
    public static func identity(
        for username: String, in pool: Pool, attributes: inout [String: String], newSub: String
    ) throws(PoolError) -> (username: String, sub: String) {
        guard !pool.usernameAttributes.isEmpty else {
            return (pool.caseSensitive ? username : PoolRules.canonical(username, in: pool), newSub)
        }
        let attribute = try PoolRules.usernameAttribute(of: username, in: pool)
        attributes[attribute] = username
        return (newSub, newSub)
    }

    /// A new user record (version 1).
    public static func newUser(
        pool: Pool, username: String, sub: String, attributes: [String: String], verifier: PasswordVerifier?,
        creation: Creation, now: Int64
    ) -> User {
        let temporary = creation == .admin
        return User(
            poolId: pool.id, username: username, sub: sub, attributes: attributes,
            status: temporary ? .forceChangePassword : .unconfirmed, enabled: true, createdAt: now, modifiedAt: now,
            verifier: verifier,
            temporaryPasswordExpiresAt: temporary
                ? now + Int64(pool.policy.temporaryPasswordValidityDays) * 86_400 : nil,
            failedAttempts: 0, lockedUntil: nil, lastFailureAt: nil, version: 1)
    }

    /// AdminConfirmSignUp: only an unconfirmed user.
    public static func confirm(_ user: inout User, now: Int64) throws(PoolError) {
        guard user.status == .unconfirmed else {
            throw PoolError(.notAuthorized, "User cannot be confirmed. Current status is \(user.status.rawValue)")
        }
        user.status = .confirmed
        user.modifiedAt = now
    }

    /// AdminSetUserPassword: a permanent password confirms the user; a temporary one makes
    /// the user choose a new one at the next sign-in. Either clears a lockout.
    public static func setPassword(
        _ user: inout User, verifier: PasswordVerifier, permanent: Bool, pool: Pool, now: Int64
    ) {
        PasswordHistoryRules.replace(&user, with: verifier, policy: pool.policy)
        user.status = permanent ? .confirmed : .forceChangePassword
        user.temporaryPasswordExpiresAt =
            permanent ? nil : now + Int64(pool.policy.temporaryPasswordValidityDays) * 86_400
        user.lockout = Lockout()
        user.modifiedAt = now
    }

    /// ChangePassword: the user's own new password, the previous one having been checked.
    public static func changePassword(
        _ user: inout User, verifier: PasswordVerifier, policy: PasswordPolicy, now: Int64
    ) {
        PasswordHistoryRules.replace(&user, with: verifier, policy: policy)
        user.modifiedAt = now
    }

    /// NEW_PASSWORD_REQUIRED answered: the chosen password, confirmed. Checked on the record
    /// the write replaces: a user disabled since the challenge was issued gets no password.
    public static func completeNewPassword(
        _ user: inout User, verifier: PasswordVerifier, policy: PasswordPolicy, now: Int64
    ) throws(PoolError) {
        guard user.enabled else { throw PoolError(.notAuthorized, "User is disabled.") }
        guard user.status == .forceChangePassword else {
            throw PoolError(.notAuthorized, "Invalid session for the user, session is expired.")
        }
        PasswordHistoryRules.replace(&user, with: verifier, policy: policy)
        user.status = .confirmed
        user.temporaryPasswordExpiresAt = nil
        user.modifiedAt = now
    }

    /// AdminEnableUser / AdminDisableUser: disabling revokes every token the user holds
    /// (enabling does not bring them back).
    public static func setEnabled(_ user: inout User, _ enabled: Bool, nowMilliseconds: Int64, now: Int64) {
        user.enabled = enabled
        if !enabled { user.signedOutAt = max(user.signedOutAt ?? 0, nowMilliseconds) }
        user.modifiedAt = now
    }

    /// GlobalSignOut / AdminUserGlobalSignOut: every token family begun until now is revoked.
    public static func signOut(_ user: inout User, nowMilliseconds: Int64) {
        user.signedOutAt = max(user.signedOutAt ?? 0, nowMilliseconds)
    }

    /// RevokeToken: one refresh token's family (the last 100 are remembered).
    public static func revoke(_ user: inout User, origin: String) {
        var revoked = user.revokedOrigins ?? []
        if !revoked.contains(origin) { revoked.append(origin) }
        user.revokedOrigins = Array(revoked.suffix(100))
    }

    /// ConfirmSignUp with the right code: an unconfirmed user is confirmed, and the
    /// attribute the code went to is verified.
    public static func confirmSignUp(_ user: inout User, attribute: String?, now: Int64) throws(PoolError) {
        guard user.status == .unconfirmed else {
            throw PoolError(.notAuthorized, "User cannot be confirmed. Current status is \(user.status.rawValue)")
        }
        user.status = .confirmed
        if let attribute { user.attributes["\(attribute)_verified"] = "true" }
        user.modifiedAt = now
    }

    /// VerifyUserAttribute with the right code: the attribute is verified, and a new value
    /// waiting for this verification replaces the old one.
    public static func verifyAttribute(_ user: inout User, _ attribute: String, now: Int64) {
        if let pending = user.pendingAttributes?.removeValue(forKey: attribute) { user.attributes[attribute] = pending }
        if user.pendingAttributes?.isEmpty == true { user.pendingAttributes = nil }
        user.attributes["\(attribute)_verified"] = "true"
        user.modifiedAt = now
    }

    /// ConfirmForgotPassword with the right code: the new password, confirmed and unlocked
    /// (an unconfirmed user stays unconfirmed, as in Cognito).
    public static func resetPassword(
        _ user: inout User, verifier: PasswordVerifier, policy: PasswordPolicy, now: Int64
    ) {
        PasswordHistoryRules.replace(&user, with: verifier, policy: policy)
        if user.status == .resetRequired || user.status == .forceChangePassword { user.status = .confirmed }
        user.temporaryPasswordExpiresAt = nil
        user.lockout = Lockout()
        CodeRules.discard(&user, purpose: .recovery)
        user.modifiedAt = now
    }

    /// AdminResetUserPassword: the password stops working until the user sets a new one
    /// with the code sent.
    public static func requireReset(_ user: inout User, now: Int64) throws(PoolError) {
        guard user.enabled else { throw PoolError(.notAuthorized, "User is disabled.") }
        user.status = .resetRequired
        user.modifiedAt = now
    }

    /// What the code-sending operations (ForgotPassword, ResendConfirmationCode) refuse.
    public static func checkCanReceiveCodes(_ user: User) throws(PoolError) {
        guard user.enabled else { throw PoolError(.notAuthorized, "User is disabled.") }
    }
}
