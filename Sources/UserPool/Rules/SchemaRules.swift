import CognitoModel

/// A pool's schema: the standard attributes every pool has, and what CreateUserPool's
/// `Schema` and AddCustomAttributes may change or add, with Cognito's refusals.
public enum SchemaRules {
    public static let standardNames: [String] = [
        "address", "birthdate", "email", "email_verified", "family_name", "gender", "given_name", "locale",
        "middle_name", "name", "nickname", "phone_number", "phone_number_verified", "picture",
        "preferred_username", "profile", "sub", "updated_at", "website", "zoneinfo",
    ]

    /// The schema every pool starts with: Cognito's standard attributes and their defaults
    /// (birthdate is exactly 10 characters, `YYYY-MM-DD`).
    public static var standardSchema: [SchemaAttribute] {
        standardNames.map { name in
            switch name {
            case "sub": SchemaAttribute(name: name, mutable: false, required: true, minLength: 1, maxLength: 2048)
            case "email_verified", "phone_number_verified": SchemaAttribute(name: name, type: .boolean)
            case "updated_at": SchemaAttribute(name: name, type: .number, minValue: 0)
            case "birthdate": SchemaAttribute(name: name, minLength: 10, maxLength: 10)
            default: SchemaAttribute(name: name, minLength: 0, maxLength: 2048)
            }
        }
    }

    /// The most custom attributes a pool may have.
    public static let maxCustomAttributes = 50

    /// CreateUserPool's schema: the standard one with `requested` applied (standard
    /// attributes may change Required, Mutable and string lengths; custom ones are added).
    public static func schema(from requested: [SchemaAttributeType]) throws(PoolError) -> [SchemaAttribute] {
        var schema = standardSchema
        for a in requested {
            let name = a.name ?? ""
            if let i = schema.firstIndex(where: { $0.name == name }), standardNames.contains(name) {
                schema[i] = try standard(schema[i], changedBy: a)
            } else {
                let custom = try customAttribute(a)
                if let existing = schema.first(where: { baseName($0.name) == baseName(custom.name) }) {
                    throw PoolError(
                        .invalidParameter, "\(custom.name): Existing attribute already has name \(existing.name).")
                }
                schema.append(custom)
            }
        }
        try checkCount(schema)
        return schema
    }

    /// AddCustomAttributes: `added` after `schema`, each a custom attribute with a new name.
    public static func adding(
        _ added: [SchemaAttributeType], to schema: [SchemaAttribute]
    ) throws(PoolError)
        -> [SchemaAttribute]
    {
        var schema = schema
        for a in added {
            let custom = try customAttribute(a)
            if let existing = schema.first(where: { baseName($0.name) == baseName(custom.name) }) {
                throw PoolError(
                    .invalidParameter, "\(custom.name): Existing attribute already has name \(existing.name).")
            }
            schema.append(custom)
        }
        try checkCount(schema)
        return schema
    }

    /// `custom:x` and `dev:custom:x` are the same attribute.
    static func baseName(_ name: String) -> String {
        name.hasPrefix("dev:") ? String(name.dropFirst(4)) : name
    }

    static func checkCount(_ schema: [SchemaAttribute]) throws(PoolError) {
        let custom = schema.filter { !standardNames.contains($0.name) }.count
        guard custom <= maxCustomAttributes else {
            throw PoolError(.limitExceeded, "A user pool can have at most \(maxCustomAttributes) custom attributes.")
        }
    }

    static func standard(
        _ current: SchemaAttribute, changedBy a: SchemaAttributeType
    ) throws(PoolError) -> SchemaAttribute {
        if (a.attributeDataType.map { $0 != current.type } ?? false) || a.developerOnlyAttribute == true {
            throw PoolError(
                .invalidParameter,
                "You can not change AttributeDataType or set developerOnlyAttribute for standard schema attribute "
                    + "\(current.name)"
            )
        }
        var attribute = current
        attribute.mutable = a.mutable ?? current.mutable
        attribute.required = a.required ?? current.required
        try applyConstraints(a, to: &attribute)
        return attribute
    }

    static func customAttribute(_ a: SchemaAttributeType) throws(PoolError) -> SchemaAttribute {
        guard let type = a.attributeDataType, type.isKnown else {
            throw PoolError(
                .invalidParameter,
                "Invalid AttributeDataType input, consider using the provided AttributeDataType enum.")
        }
        if a.required == true {
            throw PoolError(.invalidParameter, "Required custom attributes are not supported currently.")
        }
        let bare = a.name ?? ""
        var name = bare.hasPrefix("custom:") ? bare : "custom:\(bare)"
        let developerOnly = a.developerOnlyAttribute ?? false
        if developerOnly { name = "dev:" + name }
        var attribute = SchemaAttribute(
            name: name, type: type, mutable: a.mutable ?? true, required: false, developerOnly: developerOnly)
        try applyConstraints(a, to: &attribute)
        return attribute
    }

    /// String lengths for String attributes, values for Number ones (each given as text in
    /// the API); the other kind is ignored, as Cognito does.
    static func applyConstraints(_ a: SchemaAttributeType, to attribute: inout SchemaAttribute) throws(PoolError) {
        func number(_ text: String?, _ kind: String) throws(PoolError) -> Int? {
            guard let text else { return nil }
            guard let n = Int(text) else {
                throw PoolError(.invalidParameter, "Invalid \(kind) for schema attribute \(attribute.name)")
            }
            return n
        }
        let stringMin = try number(a.stringAttributeConstraints?.minLength, "StringAttributeConstraints")
        let stringMax = try number(a.stringAttributeConstraints?.maxLength, "StringAttributeConstraints")
        let numberMin = try number(a.numberAttributeConstraints?.minValue, "NumberAttributeConstraints")
        let numberMax = try number(a.numberAttributeConstraints?.maxValue, "NumberAttributeConstraints")
        switch attribute.type {
        case .string:
            if let min = stringMin { attribute.minLength = min }
            if let max = stringMax { attribute.maxLength = max }
            if (stringMin ?? 0) > 2048 || (stringMax ?? 0) > 2048 {
                throw PoolError(
                    .invalidParameter,
                    "user.\(attribute.name): String attributes cannot have a length of more than 2048")
            }
            if let min = attribute.minLength, let max = attribute.maxLength, max < min {
                throw PoolError(.invalidParameter, "user.\(attribute.name): Max length cannot be less than min length.")
            }
        case .number:
            if let min = numberMin { attribute.minValue = min }
            if let max = numberMax { attribute.maxValue = max }
            if let min = attribute.minValue, let max = attribute.maxValue, max < min {
                throw PoolError(.invalidParameter, "user.\(attribute.name): Max value cannot be less than min value.")
            }
        default:
            break
        }
    }
}
