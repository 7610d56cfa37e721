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
    }

    public var node: UInt64
    public var pid: Int32
    public var shards: [Shard]
}
