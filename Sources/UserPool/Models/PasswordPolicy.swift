/// Cognito's password policy for a pool.
public struct PasswordPolicy: Codable, Sendable, Equatable {
    public var minimumLength = 8
    public var requireUppercase = true
    public var requireLowercase = true
    public var requireNumbers = true
    public var requireSymbols = true
    public var temporaryPasswordValidityDays = 7
    /// PasswordHistorySize: how many of a user's passwords (the current one included) a new
    /// one may not repeat; nil or 0: none.
    public var historySize: Int?

    public init() {}
}
