import Foundation

/// What the front proposes to a shard. Everything the apply needs is inside, including
/// times and generated ids, so every replica applies it identically.
public enum UserPoolCommand: Codable, Sendable {
    // Shard 0 (meta).
    case createPool(Pool)
    case updatePool(Pool)
    case deletePool(id: String)
    case createClient(AppClient)
    case updateClient(AppClient)
    case deleteClient(poolId: String, clientId: String)
    // User shards.
    /// Fails with UsernameExistsException when the canonical name is taken.
    case createUser(User, canonical: String)
    /// Replaces a user if its stored version is still `expectedVersion`.
    case updateUser(User, canonical: String, expectedVersion: Int)
    case deleteUser(poolId: String, canonical: String)
    // Groups: definitions on shard 0, memberships on the member's shard.
    case createGroup(Group)
    case updateGroup(Group)
    case deleteGroup(poolId: String, name: String)
    /// Adds or removes a membership on the user's record and the group's member index.
    case setMembership(poolId: String, canonical: String, group: String, member: Bool)
    /// Removes every membership of a deleted group on this shard.
    case purgeGroup(poolId: String, group: String)
    // Unique attribute values, on the shard of the value's hash.
    /// Reserves `value` for `owner`; refused while another owner holds it, unless that
    /// owner's reservation is older than `staleBefore` and `takeOver` names it.
    case reserveAlias(poolId: String, attribute: String, value: String, owner: String, now: Int64, staleBefore: Int64, takeOver: String?)
    case commitAlias(poolId: String, attribute: String, value: String, owner: String)
    /// Drops the claim if `owner` holds it.
    case releaseAlias(poolId: String, attribute: String, value: String, owner: String)

    public var encoded: [UInt8] { Array(try! Self.encoder.encode(self)) }

    public static func decode(_ bytes: [UInt8]) throws -> UserPoolCommand {
        try JSONDecoder().decode(UserPoolCommand.self, from: Data(bytes))
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }()
}

/// Reads the front makes of a shard.
public enum UserPoolQuery: Codable, Sendable {
    case pool(id: String)
    case pools(after: String?, limit: Int)
    case client(poolId: String, clientId: String)
    /// A client by its id alone (public operations name only the client).
    case clientById(String)
    case clients(poolId: String, after: String?, limit: Int)
    case user(poolId: String, canonical: String)
    /// Users of a pool on this shard in key order, after `after` (a canonical name).
    case users(poolId: String, after: String?, limit: Int)
    case group(poolId: String, name: String)
    case groups(poolId: String, after: String?, limit: Int)
    /// Members of a group on this shard (canonical names), after `after`.
    case members(poolId: String, group: String, after: String?, limit: Int)
    case alias(poolId: String, attribute: String, value: String)

    public var encoded: [UInt8] { Array(try! UserPoolCommand.encoder.encode(self)) }
}

/// A shard's answer: a value, or a domain error.
public enum UserPoolReply: Codable, Sendable {
    case ok
    case pool(Pool?)
    case pools([Pool])
    case client(AppClient?)
    case clients([AppClient])
    case user(User?)
    case users([User])
    case group(Group?)
    case groups([Group])
    case names([String])
    case alias(AliasClaim?)
    case error(PoolError)

    public var encoded: [UInt8] { Array(try! UserPoolCommand.encoder.encode(self)) }

    public static func decode(_ bytes: [UInt8]) throws -> UserPoolReply {
        try JSONDecoder().decode(UserPoolReply.self, from: Data(bytes))
    }
}
