import Crypto
import Foundation

/// What a code was sent for: confirming a sign-up, verifying an attribute, or resetting a
/// password (ForgotPassword, AdminResetUserPassword).
public enum CodePurpose: String, Codable, Sendable {
    case signUp
    case attribute
    case recovery
    /// A sign-in's one-time code (EMAIL_OTP), sent once the password was right.
    case signIn
}

/// A code a user was sent, as the user's record keeps it: a keyed hash, never the code.
public struct StoredCode: Codable, Sendable, Equatable {
    public var purpose: CodePurpose
    /// The attribute the code was sent to verify (`email`, `phone_number`), or that carried it.
    public var attribute: String?
    public var digest: [UInt8]
    public var expiresAt: Int64
    /// Wrong answers to this code (sign-in codes only: their session ends after a few).
    public var wrong: Int? = nil
}

/// A user's outstanding codes and the counters that throttle them. Replicated with the
/// user, so a failover neither revives a used code nor resets a limit.
public struct CodeState: Codable, Sendable, Equatable {
    public var codes: [StoredCode] = []
    /// Wrong codes since `firstWrongAt` (the window restarts an hour after it).
    public var wrongGuesses = 0
    public var firstWrongAt: Int64?
    /// When the codes of the last hour were sent (the oldest dropped first).
    public var sentAt: [Int64] = []

    public init() {}
}

/// Cognito's rules for codes: six digits, one outstanding code per purpose and attribute
/// (a new one supersedes it), single use, and limits on wrong guesses and on sends.
public enum CodeRules {
    /// Sign-up confirmation and attribute verification codes last 24 hours; recovery
    /// codes one hour, as in Cognito.
    public static func lifetime(_ purpose: CodePurpose) -> Int64 {
        switch purpose {
        case .recovery: 3_600
        case .signIn: 180
        case .signUp, .attribute: 86_400
        }
    }

    /// After this many wrong codes in an hour, every code check of the user is refused
    /// with LimitExceededException until the hour since the first wrong one is over.
    public static let maxWrongGuesses = 5
    /// A sign-in code (its session) takes this many wrong answers, then is gone: the
    /// session is over and the sign-in starts again.
    public static let maxSessionGuesses = 3
    /// At most this many codes are sent to a user in any hour.
    public static let maxSendsPerHour = 5
    static let window: Int64 = 3_600

    public static let limited = PoolError(.limitExceeded, "Attempt limit exceeded, please try after some time.")

    /// Six decimal digits, uniformly drawn.
    public static func newCode<R: RandomNumberGenerator>(using random: inout R) -> String {
        let n = UInt32.random(in: 0..<1_000_000, using: &random)
        let digits = String(n)
        return String(repeating: "0", count: 6 - digits.count) + digits
    }

    /// The keyed hash a code is kept as, bound to the pool, the user, the purpose and the
    /// attribute, so a code sent for one cannot answer another.
    public static func digest(
        _ code: String, key: SymmetricKey, pool: String, username: String, purpose: CodePurpose, attribute: String?
    ) -> [UInt8] {
        var h = HMAC<SHA256>(key: key)
        for part in [pool, username, purpose.rawValue, boundAttribute(purpose, attribute) ?? "", code] {
            let bytes = Array(part.utf8)
            withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { h.update(data: Array($0)) }
            h.update(data: bytes)
        }
        return Array(h.finalize())
    }

    /// Records a code sent to `user`: it supersedes any outstanding code of the same
    /// purpose and attribute. Refused past the sends allowed per hour.
    public static func issue(
        _ user: inout User, purpose: CodePurpose, attribute: String?, digest: [UInt8], now: Int64
    ) throws(PoolError) {
        var state = user.codes ?? CodeState()
        // A sign-in code goes out only after the right password: not counted against the
        // sends a code operation anyone can call is allowed.
        if purpose != .signIn { try countSend(&state, now: now) }
        state.codes.removeAll { matches($0, purpose, attribute) || $0.expiresAt <= now }
        state.codes.append(
            StoredCode(purpose: purpose, attribute: attribute, digest: digest, expiresAt: now + lifetime(purpose)))
        user.codes = state
    }

    /// Counts a code sent at `now`; refused past the sends allowed per hour.
    public static func countSend(_ state: inout CodeState, now: Int64) throws(PoolError) {
        state.sentAt = state.sentAt.filter { $0 > now - window }
        guard state.sentAt.count < maxSendsPerHour else { throw limited }
        state.sentAt.append(now)
    }

    /// Counts a wrong code at `now` (`.mismatch`), or `.limited` when the hour's wrong codes
    /// are spent (then nothing is counted).
    public static func countWrong(_ state: inout CodeState, now: Int64) -> Verdict {
        if let first = state.firstWrongAt, first <= now - window {
            state.wrongGuesses = 0
            state.firstWrongAt = nil
        }
        guard state.wrongGuesses < maxWrongGuesses else { return .limited }
        state.wrongGuesses = min(max(state.wrongGuesses, 0), 1 << 20) + 1
        state.firstWrongAt = state.firstWrongAt ?? now
        return .mismatch
    }

    /// How long a name's code counters matter: after this long with nothing sent or guessed,
    /// its state is as good as new.
    public static let memorySeconds = window

    /// Sign-up and recovery codes are one per user (the attribute they went to is noted);
    /// attribute codes one per attribute.
    static func matches(_ c: StoredCode, _ purpose: CodePurpose, _ attribute: String?) -> Bool {
        c.purpose == purpose && (purpose != .attribute || c.attribute == attribute)
    }

    /// The attribute a code's hash is bound to: only attribute codes name one.
    public static func boundAttribute(_ purpose: CodePurpose, _ attribute: String?) -> String? {
        purpose == .attribute ? attribute : nil
    }

    /// What checking a code found; an accepted code names the attribute it was sent to.
    public enum Verdict: Equatable, Sendable {
        case accepted(attribute: String?)
        case mismatch
        case expired
        case limited

        /// The refusal a client gets, or nil when accepted.
        public var refusal: PoolError? {
            switch self {
            case .accepted: nil
            case .mismatch: PoolError(.codeMismatch, "Invalid verification code provided, please try again.")
            case .expired: PoolError(.expiredCode, "Invalid code provided, please request a code again.")
            case .limited: CodeRules.limited
            }
        }
    }

    /// Checks a code given for `purpose`: a right one is used up and clears the wrong count;
    /// a wrong one is counted. The caller writes `user` back in every case but `.limited`
    /// (which changes nothing), then answers the verdict.
    public static func check(
        _ user: inout User, purpose: CodePurpose, attribute: String?, digest: [UInt8], now: Int64
    ) -> Verdict {
        var state = user.codes ?? CodeState()
        if let first = state.firstWrongAt, first <= now - window {
            state.wrongGuesses = 0
            state.firstWrongAt = nil
        }
        guard state.wrongGuesses < maxWrongGuesses else { return .limited }
        guard let i = state.codes.firstIndex(where: { matches($0, purpose, attribute) }) else {
            // A sign-in code gone (used, or guessed wrong too often) ends its session.
            if purpose == .signIn { return .expired }
            // No code outstanding (never sent, used, or superseded and gone): a wrong code.
            state.wrongGuesses = min(max(state.wrongGuesses, 0), 1 << 20) + 1
            state.firstWrongAt = state.firstWrongAt ?? now
            user.codes = state
            return .mismatch
        }
        let stored = state.codes[i]
        guard constantTimeEqual(stored.digest, digest) else {
            if purpose == .signIn {
                let wrong = min(max(stored.wrong ?? 0, 0), maxSessionGuesses) + 1
                if wrong >= maxSessionGuesses {
                    state.codes.remove(at: i)
                } else {
                    state.codes[i].wrong = wrong
                }
            }
            state.wrongGuesses = min(max(state.wrongGuesses, 0), 1 << 20) + 1
            state.firstWrongAt = state.firstWrongAt ?? now
            user.codes = state
            return .mismatch
        }
        if stored.expiresAt <= now {
            state.codes.remove(at: i)
            user.codes = state
            return .expired
        }
        state.codes.remove(at: i)
        state.wrongGuesses = 0
        state.firstWrongAt = nil
        user.codes = state
        return .accepted(attribute: stored.attribute)
    }

    /// Drops the codes of a purpose (a password set another way ends a recovery).
    public static func discard(_ user: inout User, purpose: CodePurpose) {
        user.codes?.codes.removeAll { $0.purpose == purpose }
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
