import AuthCrypto
import Foundation

/// A request body's fields, with Cognito-style validation errors for missing or wrongly
/// typed members.
public struct JSONInput {
    let fields: [String: Any]

    public init(body: [UInt8]) throws(CognitoError) {
        if body.isEmpty {
            fields = [:]
            return
        }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
        } catch {
            throw .serialization("the request body is not valid JSON")
        }
        guard let object = parsed as? [String: Any] else { throw .serialization("the request body must be a JSON object") }
        fields = object
    }

    init(fields: [String: Any]) { self.fields = fields }

    /// JSON booleans arrive as NSNumbers whose type code is `c`.
    static func isBool(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }

    func typeError(_ key: String, _ type: String) -> CognitoError {
        .serialization("Member \(key) must be \(type)")
    }

    public func has(_ key: String) -> Bool { fields[key] != nil && !(fields[key] is NSNull) }

    public func string(_ key: String, max: Int = 2048) throws(CognitoError) -> String? {
        guard let v = fields[key], !(v is NSNull) else { return nil }
        guard let s = v as? String else { throw typeError(key, "a string") }
        guard s.count <= max else {
            throw .invalidParameter("1 validation error detected: Value at '\(key)' failed to satisfy constraint: Member must have length less than or equal to \(max)")
        }
        return s
    }

    public func required(_ key: String, max: Int = 2048) throws(CognitoError) -> String {
        guard let s = try string(key, max: max) else {
            throw .invalidParameter("1 validation error detected: Value at '\(key)' failed to satisfy constraint: Member must not be null")
        }
        return s
    }

    public func int(_ key: String) throws(CognitoError) -> Int? {
        guard let v = fields[key], !(v is NSNull) else { return nil }
        guard let n = v as? NSNumber, !Self.isBool(n), n.doubleValue == n.doubleValue.rounded(), abs(n.doubleValue) < 1e15 else {
            throw typeError(key, "an integer")
        }
        return n.intValue
    }

    public func bool(_ key: String) throws(CognitoError) -> Bool? {
        guard let v = fields[key], !(v is NSNull) else { return nil }
        guard let n = v as? NSNumber, Self.isBool(n) else { throw typeError(key, "a boolean") }
        return n.boolValue
    }

    public func strings(_ key: String) throws(CognitoError) -> [String]? {
        guard let v = fields[key], !(v is NSNull) else { return nil }
        guard let a = v as? [Any], let s = a as? [String] else { throw typeError(key, "a list of strings") }
        return s
    }

    public func object(_ key: String) throws(CognitoError) -> JSONInput? {
        guard let v = fields[key], !(v is NSNull) else { return nil }
        guard let o = v as? [String: Any] else { throw typeError(key, "an object") }
        return JSONInput(fields: o)
    }

    public func objects(_ key: String) throws(CognitoError) -> [JSONInput]? {
        guard let v = fields[key], !(v is NSNull) else { return nil }
        guard let a = v as? [Any] else { throw typeError(key, "a list") }
        var out: [JSONInput] = []
        for item in a {
            guard let o = item as? [String: Any] else { throw typeError(key, "a list of objects") }
            out.append(JSONInput(fields: o))
        }
        return out
    }

    public func stringMap(_ key: String) throws(CognitoError) -> [String: String]? {
        guard let v = fields[key], !(v is NSNull) else { return nil }
        guard let o = v as? [String: Any], let m = o as? [String: String] else { throw typeError(key, "a map of strings") }
        return m
    }

    /// Cognito's `[{"Name": …, "Value": …}]` attribute lists, as a map (later names win).
    public func attributes(_ key: String) throws(CognitoError) -> [String: String]? {
        guard let list = try objects(key) else { return nil }
        guard list.count <= 100 else { throw .invalidParameter("Too many attributes in \(key)") }
        var out: [String: String] = [:]
        for item in list {
            let name = try item.required("Name", max: 32)
            out[name] = try item.string("Value", max: 2048) ?? ""
        }
        return out
    }

    /// Attribute names only: `["email", …]` (AdminDeleteUserAttributes).
    public func names(_ key: String) throws(CognitoError) -> [String]? { try strings(key) }
}

/// Builds JSON responses.
enum JSONOutput {
    static func data(_ object: [String: Any]) -> [UInt8] {
        CompactJSON.encode(object)
            ?? Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8))
    }

    static func attributes(_ map: [String: String]) -> [[String: String]] {
        map.sorted { $0.key < $1.key }.map { ["Name": $0.key, "Value": $0.value] }
    }
}
