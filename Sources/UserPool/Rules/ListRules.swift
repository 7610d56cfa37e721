import AuthCrypto
import Foundation

/// ListUsers' filter language (`attribute = "value"`, `attribute ^= "value"`) and the
/// pagination tokens of listings that cross shards.
public enum ListRules {
    /// A page's size from a request's Limit or MaxResults: 60 (Cognito's largest page) when
    /// absent or 0, else what was asked (the model bounds it).
    public static func pageSize(_ asked: Int?, default fallback: Int = 60) -> Int {
        guard let asked, asked > 0 else { return fallback }
        return asked
    }

    /// One page of a list held whole (a pool's resource servers, terms): the items after
    /// `token` in `key` order, at most `limit`, and the token of the next page (the last
    /// item's key) while more remain.
    public static func page<Item>(
        _ items: [Item], after token: String?, limit: Int, key: (Item) -> String
    ) -> (items: [Item], next: String?) {
        let rest = items.sorted { key($0) < key($1) }.filter { token == nil || key($0) > token! }
        let page = Array(rest.prefix(limit))
        return (page, rest.count > limit ? page.last.map(key) : nil)
    }

    public struct Filter: Sendable, Equatable {
        public var attribute: String
        public var prefix: Bool
        public var value: String

        public func matches(_ u: User) -> Bool {
            let actual: String?
            switch attribute {
            case "username": actual = u.username
            case "status": actual = u.enabled ? "Enabled" : "Disabled"
            case "cognito:user_status": actual = u.status.rawValue
            default: actual = u.allAttributes[attribute]
            }
            guard let actual else { return false }
            return prefix ? actual.hasPrefix(value) : actual == value
        }
    }

    static let filterable: Set<String> = [
        "username", "email", "phone_number", "name", "given_name", "family_name", "preferred_username",
        "cognito:user_status", "status", "sub",
    ]

    /// Parses a filter; nil for an empty one.
    public static func filter(_ text: String?) throws(PoolError) -> Filter? {
        guard let text, !text.isEmpty else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let op = trimmed.contains("^=") ? "^=" : "="
        let parts = trimmed.components(separatedBy: op)
        guard parts.count == 2 else { throw PoolError(.invalidParameter, "Error while parsing filter.") }
        let name = parts[0].trimmingCharacters(in: .whitespaces)
        var value = parts[1].trimmingCharacters(in: .whitespaces)
        guard value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") else {
            throw PoolError(.invalidParameter, "Error while parsing filter.")
        }
        value = String(value.dropFirst().dropLast())
        guard filterable.contains(name) else { throw PoolError(.invalidParameter, "Invalid search attribute: \(name)") }
        return Filter(attribute: name, prefix: op == "^=", value: value)
    }

    /// Where a listing over the user shards stopped: the shard's place in the list and the
    /// last name it returned there.
    public struct Cursor: Sendable, Equatable {
        public var shardIndex: Int
        public var after: String?

        public init(shardIndex: Int, after: String?) {
            self.shardIndex = shardIndex
            self.after = after
        }

        public var token: String { Base64.encode(Array("\(shardIndex)\n\(after ?? "")".utf8)) }

        public init(token: String?, shards: Int) throws(PoolError) {
            guard let token else {
                self.init(shardIndex: 0, after: nil)
                return
            }
            guard let bytes = Base64.decode(token) else {
                throw PoolError(.invalidParameter, "Invalid pagination token")
            }
            let parts = String(decoding: bytes, as: UTF8.self).split(
                separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let shard = Int(parts[0]), (0..<shards).contains(shard) else {
                throw PoolError(.invalidParameter, "Invalid pagination token")
            }
            self.init(shardIndex: shard, after: parts[1].isEmpty ? nil : String(parts[1]))
        }
    }
}
