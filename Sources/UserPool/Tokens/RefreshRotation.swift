import CognitoModel

/// A rotating refresh-token family's state on its user's record: the id of the refresh token
/// that works now, and the one it replaced, good until `previousUntil` (the client's
/// RetryGracePeriodSeconds) so a client that lost the answer can retry.
public struct RefreshRotation: Codable, Sendable, Equatable {
    /// The family (origin_jti).
    public var origin: String
    public var current: String
    /// "" for the family's first refresh token (issued at sign-in, before any rotation).
    public var previous: String?
    public var previousUntil: Int64?

    public init(origin: String, current: String, previous: String?, previousUntil: Int64?) {
        self.origin = origin
        self.current = current
        self.previous = previous
        self.previousUntil = previousUntil
    }
}

/// Refresh-token rotation (the client's RefreshTokenRotation): each refresh answers a new
/// refresh token, and the one it was given stops working once the grace period is over.
public enum RefreshRotationRules {
    /// Families a user's record follows; past this the oldest is forgotten and revoked (its
    /// refresh tokens stop working: the user signs in again).
    public static let maxFamilies = 50

    public static func enabled(_ client: AppClient) -> Bool {
        client.oauth.refreshTokenRotation?.feature == .enabled
    }

    public static func graceSeconds(_ client: AppClient) -> Int64 {
        Int64(client.oauth.refreshTokenRotation?.retryGracePeriodSeconds ?? 0)
    }

    public enum Verdict: Sendable, Equatable {
        /// The token is the family's current one: replace it with `next`.
        case rotate
        /// The token was just replaced and the grace period holds: answer the current one.
        case retry(current: String)
    }

    static let reused = PoolError(.refreshTokenReuse, "Refresh token has been rotated and is no longer valid.")

    /// What a refresh with the token `rotation` (nil or "" for a family's first token) of
    /// the family `origin` may do now.
    public static func check(_ user: User, origin: String, rotation: String?, now: Int64) throws(PoolError) -> Verdict {
        let given = rotation ?? ""
        guard let family = user.refreshRotations?.first(where: { $0.origin == origin }) else {
            // A family never rotated: only its first token exists.
            guard given.isEmpty else { throw PoolError(.notAuthorized, "Invalid Refresh Token") }
            return .rotate
        }
        if given == family.current { return .rotate }
        if given == family.previous, let until = family.previousUntil, now < until {
            return .retry(current: family.current)
        }
        throw reused
    }

    /// Records the rotation of the family `origin` from `rotation` to `next`, checked again
    /// on the record as it is now (a concurrent refresh may have rotated it first: then this
    /// one is a retry, and the record is left as it is).
    public static func rotate(
        _ user: inout User, origin: String, from rotation: String?, to next: String, now: Int64, grace: Int64
    ) throws(PoolError) -> Verdict {
        let verdict = try check(user, origin: origin, rotation: rotation, now: now)
        guard verdict == .rotate else { return verdict }
        var families = (user.refreshRotations ?? []).filter { $0.origin != origin }
        families.append(
            RefreshRotation(origin: origin, current: next, previous: rotation ?? "", previousUntil: now + grace))
        // A forgotten family is revoked, so its first token cannot pass for a new family's.
        for evicted in families.dropLast(maxFamilies) { UserRules.revoke(&user, origin: evicted.origin) }
        user.refreshRotations = Array(families.suffix(maxFamilies))
        return .rotate
    }
}
