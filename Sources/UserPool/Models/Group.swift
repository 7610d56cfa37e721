/// A group of a pool (its definition on shard 0; memberships on the members' shards).
public struct Group: Codable, Sendable, Equatable {
    public var poolId: String
    public var name: String
    public var description: String?
    public var precedence: Int?
    public var roleArn: String?
    public var createdAt: Int64
    public var modifiedAt: Int64

    public init(
        poolId: String, name: String, description: String?, precedence: Int?, roleArn: String?, createdAt: Int64,
        modifiedAt: Int64
    ) {
        self.poolId = poolId
        self.name = name
        self.description = description
        self.precedence = precedence
        self.roleArn = roleArn
        self.createdAt = createdAt
        self.modifiedAt = modifiedAt
    }
}

/// A claim on a unique attribute value (an email or phone used as username or alias), kept
/// on the shard its own hash picks. Claimed in two steps so uniqueness holds across shards:
/// reserve here, write the user on its shard, then commit here.
public struct AliasClaim: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable { case reserved, committed }
    /// The owner's canonical username.
    public var owner: String
    public var state: State
    public var since: Int64
    /// The claimed attribute and value, readable (the key holds only their hash).
    public var attribute: String?
    public var value: String?

    public init(owner: String, state: State, since: Int64, attribute: String? = nil, value: String? = nil) {
        self.owner = owner
        self.state = state
        self.since = since
        self.attribute = attribute
        self.value = value
    }
}
