import Foundation

/// A shape of Cognito's service model: Codable in Cognito's JSON 1.1 form, able to check
/// itself against the model's constraints, and to stand in, as a placeholder, for a required
/// member a request left out (so that absence is a validation failure, worded as Cognito
/// words it, rather than a decoding error).
public protocol CognitoShape: Codable, Sendable, Equatable {
    /// Required members the decoded request left out.
    var absent: Set<String> { get }
    static var placeholder: Self { get }
    /// Appends every failure of this shape and its members; `path` prefixes member names
    /// (`""` at the top, `"userAttributes.1.member."` below).
    func validate(at path: String, into failures: inout [ValidationFailure])
}

extension CognitoShape {
    /// Every failure, top level.
    public func validationFailures() -> [ValidationFailure] {
        var failures: [ValidationFailure] = []
        validate(at: "", into: &failures)
        return failures
    }
}

/// An operation's input and output types, so a handler is written against them.
public protocol CognitoOperationType {
    associatedtype Input: CognitoShape
    associatedtype Output: CognitoShape
    static var operation: CognitoOperation { get }
}

/// The output of an operation that returns nothing: `{}`.
public struct EmptyShape: CognitoShape {
    public var absent: Set<String> { [] }
    public init() {}
    public static var placeholder: Self { Self() }
    public func validate(at path: String, into failures: inout [ValidationFailure]) {}
    public init(from decoder: any Decoder) throws {}
    public func encode(to encoder: any Encoder) throws { _ = encoder.container(keyedBy: EmptyKeys.self) }
    enum EmptyKeys: CodingKey {}
}

/// Binary data, as base64 text in JSON (the model's `blob`).
public struct Blob: Codable, Sendable, Hashable {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let data = Data(base64Encoded: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not base64"))
        }
        bytes = Array(data)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(Data(bytes).base64EncodedString())
    }
}

/// Any JSON value (the model's `document`).
public indirect enum JSONValue: Codable, Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n): try c.encode(n)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}
