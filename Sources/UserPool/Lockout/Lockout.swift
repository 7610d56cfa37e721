/// Cognito's sign-in lockout: after five failed attempts a user is locked for 1 s, doubling
/// with each further failure up to about 15 minutes. The count is forgotten after 15 quiet
/// minutes counted from the end of the last lock; once it has reached the longest lock, only
/// after a quiet day (or a successful sign-in, or a new password). So waiting out the
/// longest lock never buys five fresh guesses: at most one guess per 15 minutes, about 96 a
/// day, after the first ~15. Pure: time comes in as `now` (Unix seconds).
public struct Lockout: Codable, Sendable, Equatable {
    /// Failures allowed before the first lock.
    public static let free = 5
    public static let maxSeconds: Int64 = 900
    public static let quietSeconds: Int64 = 900
    /// How long a count that reached the longest lock is remembered without failures.
    public static let maxLockMemorySeconds: Int64 = 86_400

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
        if let last = lastFailureAt {
            let quietSince = max(last, lockedUntil ?? last)
            let atLongest = Self.lockSeconds(failedAttempts, base: baseSeconds) >= Self.maxSeconds
            let memory = atLongest ? Self.maxLockMemorySeconds : Self.quietSeconds
            if now.subtractingReportingOverflow(quietSince).partialValue > memory { failedAttempts = 0 }
        }
        failedAttempts = min(max(failedAttempts, 0), 999) + 1
        lastFailureAt = now
        if failedAttempts >= Self.free {
            let length = 1 + Self.lockSeconds(failedAttempts, base: baseSeconds)
            lockedUntil = now.addingReportingOverflow(length).partialValue
        }
    }

    /// The lock `failures` failures earn: none below `free`, then the base doubling, at most
    /// `maxSeconds`.
    static func lockSeconds(_ failures: Int, base baseSeconds: Int64) -> Int64 {
        guard failures >= Self.free else { return 0 }
        let exponent = min(failures - Self.free, 10)
        let base = min(max(baseSeconds, 0), Self.maxSeconds)
        return min(base << exponent, Self.maxSeconds)
    }

    /// How long after `now` this state still changes an answer (for forgetting phantoms).
    public static let memorySeconds = maxSeconds + maxLockMemorySeconds

    public mutating func clear() { self = Lockout() }

    /// How many failures from `now` on it takes to lock: the password checks a shard's
    /// leader lets run at once (0 while locked).
    public func allowance(at now: Int64, baseSeconds: Int64) -> Int {
        guard !isLocked(at: now) else { return 0 }
        var next = self
        var n = 0
        while n < Self.free {
            next.fail(at: now, baseSeconds: baseSeconds)
            n += 1
            if next.isLocked(at: now) { break }
        }
        return n
    }
}

/// The SRP challenge a password check answers: its id (`SignInStateMachine.challengeId`)
/// and the node (and that node's run, `boot`) that read the user for it, where it is
/// claimed once.
public struct AttemptChallenge: Codable, Sendable, Equatable {
    public var id: [UInt8]
    public var node: UInt64
    public var boot: UInt64

    public init(id: [UInt8], node: UInt64, boot: UInt64) {
        self.id = id
        self.node = node
        self.boot = boot
    }
}

/// A shard leader's answer to a reserving read for a password check: refused (`outcome`
/// locked out or replayed) or granted, with what the check's verdict needs: the user
/// (without verifier), its verifier's digest, and whether a success has failures to clear.
public struct AttemptSlot: Codable, Sendable, Equatable {
    public var outcome: AttemptOutcome?
    public var user: User?
    public var verifierDigest: [UInt8]
    /// No failure is counted: a success writes nothing.
    public var clear: Bool

    public init(outcome: AttemptOutcome? = nil, user: User? = nil, verifierDigest: [UInt8] = [], clear: Bool = true) {
        self.outcome = outcome
        self.user = user
        self.verifierDigest = verifierDigest
        self.clear = clear
    }
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
    /// The SRP challenge was answered before: nothing counted, nothing revealed.
    case replayed
}
