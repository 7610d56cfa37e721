import CognitoModel

/// User attributes against a pool's schema and a client's permissions, with Cognito's
/// words: every problem of a request is named, one line each.
public enum AttributeRules {
    /// Attributes only an administrator or a verification may set.
    public static let verificationAttributes: Set<String> = ["email_verified", "phone_number_verified"]

    /// Who is writing, which decides what may be written.
    public enum Writer: Sendable {
        /// SignUp or AdminCreateUser: required attributes must be there, immutable ones may be set.
        case creating(byAdmin: Bool)
        /// An update by an administrator (AdminUpdateUserAttributes).
        case admin
        /// An update by the user, through a client (UpdateUserAttributes, NEW_PASSWORD_REQUIRED).
        case user
    }

    /// Refuses what `attributes` may not be for a user of `pool` written by `writer`: names
    /// not in the schema, `sub`, immutable attributes after creation, values outside their
    /// type and constraints, malformed emails and phone numbers, missing required attributes
    /// at creation. Answers the attributes as they are stored: boolean values, accepted in
    /// any case ("True"), lowercased.
    public static func validate(
        _ attributes: [String: String], pool: Pool, writer: Writer
    ) throws(PoolError) -> [String: String] {
        var lines: [String] = []
        let creating: Bool
        if case .creating = writer { creating = true } else { creating = false }
        let prefix = creating ? "" : "user."
        for (name, value) in attributes.sorted(by: { $0.key < $1.key }) {
            if name == "sub" { throw PoolError(.invalidParameter, "Cannot modify the non-mutable attribute sub") }
            guard let attribute = pool.attribute(name) else {
                lines.append("\(prefix)\(name): Attribute does not exist in the schema.")
                continue
            }
            if !creating && !attribute.mutable {
                throw PoolError(.invalidParameter, "Cannot modify the non-mutable attribute \(name)")
            }
            if let problem = problem(value, attribute) { lines.append("\(prefix)\(name): \(problem)") }
            if name == "email" && !PoolRules.isEmail(value) {
                throw PoolError(.invalidParameter, "Invalid email address format.")
            }
            if name == "phone_number" && !PoolRules.isPhone(value) {
                throw PoolError(.invalidParameter, "Invalid phone number format.")
            }
        }
        if creating {
            for attribute in pool.schema
            where attribute.required && attribute.name != "sub" && attributes[attribute.name] == nil {
                lines.append("\(attribute.name): The attribute is required")
            }
        }
        guard lines.isEmpty else {
            let text = lines.map { $0 + "\n" }.joined()
            throw PoolError(.invalidParameter, creating ? "Attributes did not conform to the schema: " + text : text)
        }
        var stored = attributes
        for (name, value) in attributes where pool.attribute(name)?.type == .boolean {
            stored[name] = value.lowercased()
        }
        return stored
    }

    static func problem(_ value: String, _ attribute: SchemaAttribute) -> String? {
        switch attribute.type {
        case .number:
            guard let n = Int(value) else { return "Number must be an integer" }
            if let min = attribute.minValue, n < min { return "Number must be at least \(min)" }
            if let max = attribute.maxValue, n > max { return "Number must be no more than \(max)" }
        case .boolean:
            guard ["true", "false"].contains(value.lowercased()) else { return "Boolean must be true or false" }
        default:
            let length = value.utf16.count
            if let min = attribute.minLength, length < min { return "String must be at least \(min) characters" }
            if let max = attribute.maxLength, length > max { return "String must be no longer than \(max) characters" }
        }
        return nil
    }

    /// Names AdminDeleteUserAttributes / DeleteUserAttributes may not delete: every one, a line each.
    public static func validateDeletion(_ names: [String], pool: Pool) throws(PoolError) {
        var lines: [String] = []
        for name in names {
            guard let attribute = pool.attribute(name), name != "sub" else {
                lines.append("user.\(name): Attribute does not exist in the schema.")
                continue
            }
            if attribute.required { lines.append("user.\(name): The attribute is required") }
            if !attribute.mutable { lines.append("user.\(name): Cannot modify the non-mutable attribute \(name)") }
        }
        guard lines.isEmpty else { throw PoolError(.invalidParameter, lines.map { $0 + "\n" }.joined()) }
    }

    /// Cognito's refusal when a user (through an app client) writes an attribute the client
    /// may not: the verification flags and developer-only attributes always, others outside
    /// the client's WriteAttributes.
    public static func checkWritable(_ attributes: [String: String], client: AppClient?, pool: Pool?) -> PoolError? {
        for name in attributes.keys.sorted() {
            let developerOnly = pool?.attribute(name)?.developerOnly ?? name.hasPrefix("dev:")
            if verificationAttributes.contains(name) || developerOnly
                || !(client?.writeAttributes?.contains(name) ?? true)
            {
                return PoolError(.notAuthorized, "A client attempted to write unauthorized attribute \(name)")
            }
        }
        return nil
    }

    /// What a client may read of a user's attributes (with `sub`): its ReadAttributes, never
    /// developer-only ones.
    public static func readable(_ user: User, client: AppClient?, pool: Pool) -> [String: String] {
        user.allAttributes.filter { name, _ in
            !(pool.attribute(name)?.developerOnly ?? false)
                && (client?.readAttributes?.contains(name) ?? true || name == "sub")
        }
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
}
