import CognitoModel

/// One attribute of a pool's schema.
public struct SchemaAttribute: Codable, Sendable, Equatable {
    /// Full name as clients send it: standard names bare (`email`), custom ones `custom:…`,
    /// developer-only ones `dev:custom:…`.
    public var name: String
    public var type: AttributeDataType
    public var mutable: Bool
    public var required: Bool
    /// Readable and writable only with AWS credentials (admin operations), never by a client.
    public var developerOnly: Bool
    public var minLength: Int?
    public var maxLength: Int?
    public var minValue: Int?
    public var maxValue: Int?

    public init(
        name: String, type: AttributeDataType = .string, mutable: Bool = true, required: Bool = false,
        developerOnly: Bool = false, minLength: Int? = nil, maxLength: Int? = nil, minValue: Int? = nil,
        maxValue: Int? = nil
    ) {
        self.name = name
        self.type = type
        self.mutable = mutable
        self.required = required
        self.developerOnly = developerOnly
        self.minLength = minLength
        self.maxLength = maxLength
        self.minValue = minValue
        self.maxValue = maxValue
    }

    enum CodingKeys: String, CodingKey {
        case name, type, mutable, required, developerOnly, minLength, maxLength, minValue, maxValue
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        type = try c.decode(AttributeDataType.self, forKey: .type)
        mutable = try c.decode(Bool.self, forKey: .mutable)
        required = try c.decode(Bool.self, forKey: .required)
        developerOnly = try c.decodeIfPresent(Bool.self, forKey: .developerOnly) ?? false
        minLength = try c.decodeIfPresent(Int.self, forKey: .minLength)
        maxLength = try c.decodeIfPresent(Int.self, forKey: .maxLength)
        minValue = try c.decodeIfPresent(Int.self, forKey: .minValue)
        maxValue = try c.decodeIfPresent(Int.self, forKey: .maxValue)
    }
}
