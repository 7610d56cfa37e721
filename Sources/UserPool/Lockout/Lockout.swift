/// Cognito's sign-in lockout: after five failed attempts a user is locked for 1 s, doubling
/// with each further failure up to about 15 minutes; the count is forgotten after 15 quiet
/// minutes. Pure: time comes in as `now` (Unix seconds).
public struct Lockout: Codable, Sendable, Equatable {
    /// Failures allowed before the first lock.
    public static let free = 5
    public static let maxSeconds: Int64 = 900
    public static let quietSeconds: Int64 = 900

    public var failedAttempts = 0
    public var lockedUntil: Int64?
    public var lastFailureAt: Int64?

    public init(failedAttempts: Int = 0, lockedUntil: Int64? = nil, lastFailureAt: Int64? = nil) {
        self.failedAttempts = failedAttempts
        self.lockedUntil = lockedUntil
        self.lastFailureAt = lastFailureAt
    }

    public func isLocked(at now: Int64) -> Bool { (lockedUntil ?? .min) > now }

    /// Nothing to forget.
    public var isClear: Bool { failedAttempts == 0 && lockedUntil == nil && lastFailureAt == nil }

    /// Counts a failed attempt at `now`. `baseSeconds` is the first lock's length (Cognito:
    /// 1); the lock is in whole seconds and starts a second later than `now`, which is
    /// rounded down, so it lasts at least its length.
    public mutating func fail(at now: Int64, baseSeconds: Int64) {
        if let last = lastFailureAt, now - last > Self.quietSeconds { failedAttempts = 0 }
        failedAttempts = min(failedAttempts + 1, 1_000)
        lastFailureAt = now
        if failedAttempts >= Self.free {
            let exponent = min(failedAttempts - Self.free, 10)
            let base = min(max(baseSeconds, 0), Self.maxSeconds)
            lockedUntil = now + 1 + min(base << exponent, Self.maxSeconds)
        }
    }

    public mutating func clear() { self = Lockout() }
}

/// The outcome of a password check as the user's shard records it: the check itself is
/// made by the front, but its result counts only once the shard has taken it, in log
/// order, so parallel guesses cannot outrun the lock.
public enum AttemptOutcome: String, Codable, Sendable {
    /// The password was right and the user was not locked: counters cleared.
    case accepted
    /// Wrong password (or the password changed since it was read): counted.
    case refused
    /// Locked: the check was not counted and its result must not be revealed.
    case lockedOut
}
