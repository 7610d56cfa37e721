import AuthCrypto
import CognitoModel

/// A user of a pool, as its shard stores it.
public struct User: Codable, Sendable, Equatable {
    public var poolId: String
    /// The username as stored and returned (lowercased in case-insensitive pools).
    public var username: String
    public var sub: String
    public var attributes: [String: String]
    public var status: UserStatusType
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
    /// Outstanding codes (as keyed hashes) and their limits.
    public var codes: CodeState?
    /// New values of attributes that must be verified before they replace the old ones
    /// (UserAttributeUpdateSettings); the old value stays in force until then.
    public var pendingAttributes: [String: String]?
    /// Earlier passwords (PasswordHistorySize), newest first; the current one is `verifier`.
    public var passwordHistory: [PasswordHistoryEntry]?
    /// Second factors: the TOTP authenticator, and which MFA types are on.
    public var mfa: UserMfa?
    /// Registered passkeys (WebAuthn credentials).
    public var passkeys: [Passkey]?
    /// Authorization codes redeemed and not yet expired (each is used once).
    public var usedCodes: [UsedCode]?
    /// Rotating refresh-token families (clients with RefreshTokenRotation), oldest first.
    public var refreshRotations: [RefreshRotation]?

    public init(
        poolId: String, username: String, sub: String, attributes: [String: String], status: UserStatusType,
        enabled: Bool, createdAt: Int64, modifiedAt: Int64, verifier: PasswordVerifier?,
        temporaryPasswordExpiresAt: Int64?,
        failedAttempts: Int, lockedUntil: Int64?, lastFailureAt: Int64?, signedOutAt: Int64? = nil, version: Int,
        groups: [String]? = nil
    ) {
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

    /// The user's sign-in lockout state.
    public var lockout: Lockout {
        get { Lockout(failedAttempts: failedAttempts, lockedUntil: lockedUntil, lastFailureAt: lastFailureAt) }
        set {
            failedAttempts = newValue.failedAttempts
            lockedUntil = newValue.lockedUntil
            lastFailureAt = newValue.lastFailureAt
        }
    }

    /// The user as replies carry it: without the password verifier.
    public var withoutSecrets: User {
        var u = self
        u.verifier = nil
        u.mfa?.totpSecret = nil
        u.mfa?.pendingTotpSecret = nil
        return u
    }

    /// Attributes with `sub`, as Cognito lists them.
    public var allAttributes: [String: String] {
        var a = attributes
        a["sub"] = sub
        return a
    }
}

extension PasswordVerifier {
    /// The fingerprint a sign-in attempt names (see `PasswordVerifierDigest`).
    public var digest: [UInt8] { PasswordVerifierDigest.of(salt: salt, verifier: verifier) }
}

/// A user's second factors.
public struct UserMfa: Codable, Sendable, Equatable {
    /// The verified TOTP secret, sealed with the cluster's key sealer (as signing keys are).
    public var totpSecret: [UInt8]?
    /// A secret AssociateSoftwareToken handed out and VerifySoftwareToken has not yet
    /// confirmed (sealed the same way); the verified one stays in force until then.
    public var pendingTotpSecret: [UInt8]?
    /// Whether `totpSecret` is set: what a sign-in reads from a record without its secrets.
    public var totpVerified: Bool
    /// VerifySoftwareToken's FriendlyDeviceName.
    public var totpName: String?
    /// The last TOTP time step a code was accepted for: each code works once.
    public var totpLastStep: Int64?
    /// MFA types turned on (SetUserMFAPreference): `SOFTWARE_TOKEN_MFA`.
    public var enabled: [String]
    public var preferred: String?

    public init() {
        totpVerified = false
        enabled = []
    }
}
