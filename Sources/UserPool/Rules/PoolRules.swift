import CognitoModel

/// Rules about names and passwords that every operation shares. Pure: the same input always
/// gives the same answer.
public enum PoolRules {
    /// The key a username is stored under: lowercased unless the pool is case sensitive.
    public static func canonical(_ username: String, in pool: Pool) -> String {
        pool.caseSensitive ? username : username.lowercased()
    }

    /// Cognito's password policy messages, in Cognito's order.
    public static func validatePassword(_ password: String, policy: PasswordPolicy) throws(PoolError) {
        func fail(_ why: String) -> PoolError {
            PoolError(.invalidPassword, "Password did not conform with policy: \(why)")
        }
        guard password.count >= policy.minimumLength else { throw fail("Password not long enough") }
        if policy.requireLowercase && !password.unicodeScalars.contains(where: { ("a"..."z").contains($0) }) {
            throw fail("Password must have lowercase characters")
        }
        if policy.requireUppercase && !password.unicodeScalars.contains(where: { ("A"..."Z").contains($0) }) {
            throw fail("Password must have uppercase characters")
        }
        if policy.requireNumbers && !password.unicodeScalars.contains(where: { ("0"..."9").contains($0) }) {
            throw fail("Password must have numeric characters")
        }
        if policy.requireSymbols && !password.unicodeScalars.contains(where: { symbols.contains($0) }) {
            throw fail("Password must have symbol characters")
        }
    }

    static let symbols = Set("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+-".unicodeScalars)

    /// An address with one `@`, a dotted domain, and no space or control character (a CR LF
    /// in an address would end an SMTP command early).
    public static func isEmail(_ s: String) -> Bool {
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !parts[1].hasPrefix(".")
            && !parts[1].hasSuffix(".")
            && !s.unicodeScalars.contains { $0.properties.isWhitespace || $0 == "<" || $0 == ">" }
            && !ControlCharacters.contains(s)
    }

    /// `+` and 1 to 15 ASCII digits (checked as scalars: `"\r\n"` is an ASCII `Character`).
    public static func isPhone(_ s: String) -> Bool {
        let scalars = s.unicodeScalars
        return scalars.first == "+" && (2...16).contains(scalars.count)
            && scalars.dropFirst().allSatisfy { ("0"..."9").contains($0) }
    }

    /// The attributes whose values must be unique in `pool`: those used as username or alias.
    public static func uniqueAttributes(_ pool: Pool) -> [String] {
        let names = pool.usernameAttributes.map(\.rawValue) + pool.aliasAttributes.map(\.rawValue)
        return Array(Set(names)).sorted()
    }

    /// How a unique value is compared: emails and preferred usernames without case.
    public static func claimValue(_ attribute: String, _ value: String) -> String {
        attribute == "phone_number" ? value : value.lowercased()
    }

    /// For a pool with email or phone as username: which attribute a given username is, or
    /// Cognito's refusal ("Username should be an email." and its like).
    public static func usernameAttribute(of username: String, in pool: Pool) throws(PoolError) -> String {
        let allowsEmail = pool.usernameAttributes.contains(.email)
        let allowsPhone = pool.usernameAttributes.contains(.phoneNumber)
        if allowsEmail && isEmail(username) { return "email" }
        if allowsPhone && isPhone(username) { return "phone_number" }
        switch (allowsEmail, allowsPhone) {
        case (true, true): throw PoolError(.invalidParameter, "Username should be either an email or a phone number.")
        case (true, false): throw PoolError(.invalidParameter, "Username should be an email.")
        default: throw PoolError(.invalidParameter, "Username should be a phone number.")
        }
    }
}
