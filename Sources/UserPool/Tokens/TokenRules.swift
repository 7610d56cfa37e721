import AuthCrypto
import CognitoModel

/// Token lifetimes and revocation, as Cognito defines them.
public enum TokenRules {
    public enum Kind: String, Sendable, CaseIterable {
        case access = "AccessToken"
        case id = "IdToken"
        case refresh = "RefreshToken"
    }

    /// Cognito's ranges, in seconds: access and ID tokens 5 minutes to 1 day, refresh tokens
    /// 1 hour to 10 years.
    static func range(_ kind: Kind) -> ClosedRange<Int64> {
        kind == .refresh ? 3_600...315_360_000 : 300...86_400
    }

    /// The unit a value is in when TokenValidityUnits does not say (Cognito's defaults).
    static func defaultUnit(_ kind: Kind) -> String { kind == .refresh ? "days" : "hours" }

    static func unitSeconds(_ unit: String) -> Int64? {
        switch unit {
        case "seconds": 1
        case "minutes": 60
        case "hours": 3_600
        case "days": 86_400
        default: nil
        }
    }

    static func unit(_ kind: Kind, of client: AppClient) -> String {
        let units = client.tokenValidityUnits
        let unit: TimeUnitsType?
        switch kind {
        case .access: unit = units?.accessToken
        case .id: unit = units?.idToken
        case .refresh: unit = units?.refreshToken
        }
        return unit?.rawValue ?? defaultUnit(kind)
    }

    static func value(_ kind: Kind, of client: AppClient) -> Int? {
        switch kind {
        case .access: client.accessTokenValidity
        case .id: client.idTokenValidity
        case .refresh: client.refreshTokenValidity
        }
    }

    /// How long `kind` tokens of `client` live, in seconds (defaults: 1 hour, 30 days).
    public static func seconds(_ kind: Kind, of client: AppClient) -> Int64 {
        guard let value = value(kind, of: client) else { return kind == .refresh ? 30 * 86_400 : 3_600 }
        let unit = unitSeconds(unit(kind, of: client)) ?? 1
        // Bounded at create and update (`validate`); clamped here too, so a record written
        // otherwise cannot overflow anything.
        let (product, overflow) = Int64(value).multipliedReportingOverflow(by: unit)
        return overflow ? range(kind).upperBound : min(max(product, range(kind).lowerBound), range(kind).upperBound)
    }

    /// Cognito's refusal for token lifetimes out of range, or units it does not know.
    public static func validate(_ client: AppClient) -> PoolError? {
        for kind in Kind.allCases {
            guard let value = value(kind, of: client) else { continue }
            guard let unit = unitSeconds(unit(kind, of: client)) else {
                return PoolError(.invalidParameter, "Invalid range for token validity.")
            }
            let (product, overflow) = Int64(value).multipliedReportingOverflow(by: unit)
            guard value > 0, !overflow, range(kind).contains(product) else {
                return PoolError(.invalidParameter, "Invalid range for token validity.")
            }
        }
        return nil
    }

    /// Whether tokens of the family `originJti` (the refresh token's, carried by every
    /// token it yields) are revoked for `user`: revoked one by one (RevokeToken), or begun
    /// before the user was signed out everywhere or disabled.
    public static func isRevoked(originJti: String, user: User) -> Bool {
        if (user.revokedOrigins ?? []).contains(originJti) { return true }
        guard let signedOut = user.signedOutAt else { return false }
        guard let began = uuidMilliseconds(originJti) else { return true }
        return began <= signedOut
    }
}
