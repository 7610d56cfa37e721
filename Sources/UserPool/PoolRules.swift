/// Input checks that happen before anything is proposed. Pure: the same input always gives
/// the same answer.
public enum PoolRules {
    public static let standardAttributes: [String] = [
        "address", "birthdate", "email", "email_verified", "family_name", "gender", "given_name", "locale",
        "middle_name", "name", "nickname", "phone_number", "phone_number_verified", "picture",
        "preferred_username", "profile", "sub", "updated_at", "website", "zoneinfo",
    ]

    /// The schema every pool starts with (Cognito's standard attributes).
    public static var standardSchema: [SchemaAttribute] {
        standardAttributes.map { name in
            switch name {
            case "sub": SchemaAttribute(name: name, mutable: false, required: true, minLength: 1, maxLength: 2048)
            case "email_verified", "phone_number_verified": SchemaAttribute(name: name, type: .boolean)
            case "updated_at": SchemaAttribute(name: name, type: .number, minValue: 0)
            default: SchemaAttribute(name: name, minLength: 0, maxLength: 2048)
            }
        }
    }

    /// The key a username is stored under: lowercased unless the pool is case sensitive.
    public static func canonical(_ username: String, in pool: Pool) -> String {
        pool.caseSensitive ? username : username.lowercased()
    }

    public static func validateUsername(_ username: String) throws(PoolError) {
        guard (1...128).contains(username.count) else {
            throw PoolError(.invalidParameter, "1 validation error detected: Value at 'username' failed to satisfy constraint: Member must have length between 1 and 128")
        }
        guard !username.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 }) else {
            throw PoolError(.invalidParameter, "1 validation error detected: Value at 'username' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+")
        }
    }

    /// Cognito's messages, in Cognito's order.
    public static func validatePassword(_ password: String, policy: PasswordPolicy) throws(PoolError) {
        func fail(_ why: String) -> PoolError { PoolError(.invalidPassword, "Password did not conform with policy: \(why)") }
        guard password.count <= 256 else { throw PoolError(.invalidParameter, "Password must have length less than or equal to 256") }
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
        let symbols = Set("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+-".unicodeScalars)
        if policy.requireSymbols && !password.unicodeScalars.contains(where: { symbols.contains($0) }) {
            throw fail("Password must have symbol characters")
        }
    }

    /// Checks attributes against the schema. `creating` also enforces required attributes;
    /// `byAdmin` may set immutable ones (as AdminCreateUser does).
    public static func validateAttributes(_ attributes: [String: String], pool: Pool, creating: Bool, byAdmin: Bool) throws(PoolError) {
        func fail(_ why: String) -> PoolError { PoolError(.invalidParameter, "Attributes did not conform to the schema: \(why)") }
        for (name, value) in attributes.sorted(by: { $0.key < $1.key }) {
            if name == "sub" { throw PoolError(.invalidParameter, "Cannot modify the non-mutable attribute sub") }
            guard let attribute = pool.attribute(name) else { throw fail("\(name): Attribute does not exist in the schema.") }
            if !creating && !attribute.mutable { throw PoolError(.invalidParameter, "Cannot modify the non-mutable attribute \(name)") }
            switch attribute.type {
            case .string, .dateTime:
                if let min = attribute.minLength, value.count < min { throw fail("\(name): String must be at least \(min) characters") }
                if let max = attribute.maxLength, value.count > max { throw fail("\(name): String must be no longer than \(max) characters") }
            case .number:
                guard let n = Int(value) else { throw fail("\(name): Number must be an integer") }
                if let min = attribute.minValue, n < min { throw fail("\(name): Number must be at least \(min)") }
                if let max = attribute.maxValue, n > max { throw fail("\(name): Number must be no more than \(max)") }
            case .boolean:
                guard value == "true" || value == "false" else { throw fail("\(name): Boolean must be true or false") }
            }
            if name == "email" && !isEmail(value) { throw PoolError(.invalidParameter, "Invalid email address format.") }
            if name == "phone_number" && !isPhone(value) { throw PoolError(.invalidParameter, "Invalid phone number format.") }
        }
        if creating {
            for attribute in pool.schema where attribute.required && attribute.name != "sub" && attributes[attribute.name] == nil {
                throw fail("\(attribute.name): The attribute \(attribute.name) is required")
            }
        }
    }

    /// Attributes only an administrator or a verification may set.
    public static let verificationAttributes: Set<String> = ["email_verified", "phone_number_verified"]

    /// Cognito's refusal when a user (through an app client) writes an attribute the client
    /// may not: the verification flags always, others outside the client's WriteAttributes.
    public static func checkUserWritable(_ attributes: [String: String], client: AppClient?) -> PoolError? {
        for name in attributes.keys.sorted() {
            if verificationAttributes.contains(name) || !(client?.writeAttributes?.contains(name) ?? true) {
                return PoolError(.notAuthorized, "A client attempted to write unauthorized attribute \(name)")
            }
        }
        return nil
    }

    /// Applies attribute changes to a user: a changed email or phone number becomes
    /// unverified, unless an administrator sets its flag in the same call.
    public static func apply(_ attributes: [String: String], to user: inout User, byAdmin: Bool) {
        for (attribute, flag) in [("email", "email_verified"), ("phone_number", "phone_number_verified")] {
            guard let new = attributes[attribute], new != user.attributes[attribute] else { continue }
            if !(byAdmin && attributes[flag] != nil) { user.attributes[flag] = "false" }
        }
        for (name, value) in attributes where byAdmin || !verificationAttributes.contains(name) {
            user.attributes[name] = value
        }
    }

    public static func isEmail(_ s: String) -> Bool {
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !parts[1].hasPrefix(".")
            && !parts[1].hasSuffix(".") && !s.contains(" ")
    }

    public static func isPhone(_ s: String) -> Bool {
        s.hasPrefix("+") && (2...16).contains(s.count) && s.dropFirst().allSatisfy { $0.isASCII && $0.isNumber }
    }
}
