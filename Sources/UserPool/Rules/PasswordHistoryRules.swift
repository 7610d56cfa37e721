import AuthCrypto

/// A password a user had, as its history keeps it: the salt and the digest of the verifier
/// it made (`PasswordVerifierDigest`), never the verifier itself. Checking a new password
/// against it costs one g^x, as a sign-in does.
public struct PasswordHistoryEntry: Codable, Sendable, Equatable {
    public var salt: [UInt8]
    public var digest: [UInt8]

    public init(salt: [UInt8], digest: [UInt8]) {
        self.salt = salt
        self.digest = digest
    }

    public init(_ verifier: PasswordVerifier) { self.init(salt: verifier.salt, digest: verifier.digest) }
}

/// `PasswordHistorySize`: a user may not set any of the last n passwords again (the current
/// one counts as one of them).
public enum PasswordHistoryRules {
    public static let maxSize = 24

    /// The passwords a new one may not repeat, newest first: the current and the earlier
    /// ones, `historySize` in all.
    public static func remembered(_ user: User, policy: PasswordPolicy) -> [PasswordHistoryEntry] {
        let size = min(max(policy.historySize ?? 0, 0), maxSize)
        guard size > 0 else { return [] }
        let current = user.verifier.map { [PasswordHistoryEntry($0)] } ?? []
        return Array((current + (user.passwordHistory ?? [])).prefix(size))
    }

    /// Sets `verifier` as the user's password, keeping the one it replaces in the history
    /// (as much history as the policy asks for, no more).
    public static func replace(_ user: inout User, with verifier: PasswordVerifier, policy: PasswordPolicy) {
        let size = min(max(policy.historySize ?? 0, 0), maxSize)
        if size > 1, let old = user.verifier {
            user.passwordHistory = Array(([PasswordHistoryEntry(old)] + (user.passwordHistory ?? [])).prefix(size - 1))
        } else {
            user.passwordHistory = nil
        }
        user.verifier = verifier
    }

    public static let violation = PoolError(
        .passwordHistoryPolicyViolation, "The password was used recently: choose one the user has not had before.")
}
