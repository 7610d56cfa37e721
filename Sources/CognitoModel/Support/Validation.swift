import Foundation

/// One value failing one constraint of the model.
public struct ValidationFailure: Sendable, Equatable {
    /// The member's path, Cognito's way: `username`, `userAttributes.1.member.value`.
    public var path: String
    /// The value as Cognito quotes it (nil: not quoted, for absent or sensitive values).
    public var value: String?
    /// `Member must have length less than or equal to 128`, and so on.
    public var constraint: String

    public init(path: String, value: String?, constraint: String) {
        self.path = path
        self.value = value
        self.constraint = constraint
    }

    var sentence: String {
        let tail = "at '\(path)' failed to satisfy constraint: \(constraint)"
        switch value {
        case nil where constraint == "Member must not be null": return "Value null " + tail
        case nil: return "Value " + tail
        case let value?: return "Value '\(value)' " + tail
        }
    }

    /// Cognito's message for a list of failures: `1 validation error detected: Value … ;
    /// Value …` (or `2 validation errors detected: …`).
    public static func message(_ failures: [ValidationFailure]) -> String {
        let count = failures.count
        return "\(count) validation error\(count == 1 ? "" : "s") detected: "
            + failures.map(\.sentence).joined(separator: "; ")
    }
}

/// The model's constraint checks. Lengths count UTF-16 code units, as Cognito (Java) does:
/// a character outside the Basic Multilingual Plane counts two.
public enum Validation {
    static func quoted(_ value: String, sensitive: Bool) -> String? {
        sensitive ? nil : value
    }

    static let atLeast = "Member must have length greater than or equal to "
    static let atMost = "Member must have length less than or equal to "

    public static func minLength(
        _ v: String, _ min: Int, at path: String, sensitive: Bool, into failures: inout [ValidationFailure]
    ) {
        if v.utf16.count < min {
            failures.append(.init(path: path, value: quoted(v, sensitive: sensitive), constraint: atLeast + "\(min)"))
        }
    }

    public static func maxLength(
        _ v: String, _ max: Int, at path: String, sensitive: Bool, into failures: inout [ValidationFailure]
    ) {
        if v.utf16.count > max {
            failures.append(.init(path: path, value: quoted(v, sensitive: sensitive), constraint: atMost + "\(max)"))
        }
    }

    public static func maxLength(_ count: Int, _ max: Int, at path: String, into failures: inout [ValidationFailure]) {
        if count > max {
            failures.append(.init(path: path, value: nil, constraint: atMost + "\(max)"))
        }
    }

    public static func pattern(
        _ v: String, _ p: ModelPattern, at path: String, sensitive: Bool, into failures: inout [ValidationFailure]
    ) {
        if !p.matches(v) {
            failures.append(
                .init(
                    path: path, value: quoted(v, sensitive: sensitive),
                    constraint: "Member must satisfy regular expression pattern: \(p.model)"))
        }
    }

    public static func enumValue<E: CustomStringConvertible & Equatable>(
        _ v: E, known: [E], at path: String, into failures: inout [ValidationFailure]
    ) {
        if !known.contains(v) {
            let set = known.map(\.description).joined(separator: ", ")
            failures.append(
                .init(
                    path: path, value: v.description, constraint: "Member must satisfy enum value set: [\(set)]"))
        }
    }

    public static func minValue(_ v: Int64, _ min: Int64, at path: String, into failures: inout [ValidationFailure]) {
        if v < min {
            failures.append(
                .init(
                    path: path, value: "\(v)", constraint: "Member must have value greater than or equal to \(min)"))
        }
    }

    public static func maxValue(_ v: Int64, _ max: Int64, at path: String, into failures: inout [ValidationFailure]) {
        if v > max {
            failures.append(
                .init(
                    path: path, value: "\(v)", constraint: "Member must have value less than or equal to \(max)"))
        }
    }

    public static func minCount(_ count: Int, _ min: Int, at path: String, into failures: inout [ValidationFailure]) {
        if count < min {
            failures.append(.init(path: path, value: nil, constraint: atLeast + "\(min)"))
        }
    }

    public static func maxCount(_ count: Int, _ max: Int, at path: String, into failures: inout [ValidationFailure]) {
        if count > max {
            failures.append(.init(path: path, value: nil, constraint: atMost + "\(max)"))
        }
    }
}

/// A model pattern, compiled once and matched against a whole value, as Java's `matches` does.
///
/// `@unchecked Sendable`: NSRegularExpression is immutable and documented thread-safe.
public final class ModelPattern: @unchecked Sendable {
    /// As the model writes it (quoted in messages).
    public let model: String
    let regex: NSRegularExpression?

    init(model: String, icu: String) {
        self.model = model
        regex = try? NSRegularExpression(pattern: "^(?:\(icu))$")
    }

    public func matches(_ value: String) -> Bool {
        // A pattern ICU cannot compile checks nothing rather than refusing every value.
        guard let regex else { return true }
        let range = NSRange(value.startIndex..<value.endIndex, in: value)
        return regex.firstMatch(in: value, options: [.anchored], range: range) != nil
    }
}
