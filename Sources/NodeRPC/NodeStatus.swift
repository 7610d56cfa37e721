/// What `GET /status` and the status RPC report.
public struct NodeStatus: Codable, Sendable {
    public struct Shard: Codable, Sendable {
        public var shard: UInt32
        public var role: String
        public var term: UInt64
        public var leader: UInt64
        public var commit: UInt64
        public var applied: UInt64
        public var lastIndex: UInt64
        public var firstIndex: UInt64
        public var voters: [UInt64]
        /// Members that receive the log but do not vote yet (absent: none).
        public var learners: [UInt64]?
        /// On a leader: each other member's highest index known to match its own log.
        public var match: [String: UInt64]?
        /// Members whose storage was created again (a new incarnation) and who are learners
        /// until they have the log; the leader makes them voters then (absent: none).
        public var demoted: [UInt64]?
        /// The incarnations the group has recorded, per member (hex).
        public var incarnations: [String: String]?

        public init(
            shard: UInt32, role: String, term: UInt64, leader: UInt64, commit: UInt64, applied: UInt64,
            lastIndex: UInt64,
            firstIndex: UInt64, voters: [UInt64], learners: [UInt64]? = nil, match: [String: UInt64]? = nil
        ) {
            self.shard = shard
            self.role = role
            self.term = term
            self.leader = leader
            self.commit = commit
            self.applied = applied
            self.lastIndex = lastIndex
            self.firstIndex = firstIndex
            self.voters = voters
            self.learners = learners
            self.match = match
        }
    }

    public var node: UInt64
    public var pid: Int32
    /// The incarnation of this node's data directory (hex).
    public var incarnation: String?
    public var shards: [Shard]
    /// Nodes the definition does not list, with the addresses their shards' replicated
    /// state gives (absent: none).
    public var peers: [String: NodeAddress]?

    public init(node: UInt64, pid: Int32, shards: [Shard], peers: [String: NodeAddress]? = nil) {
        self.node = node
        self.pid = pid
        self.shards = shards
        self.peers = peers
    }
}
