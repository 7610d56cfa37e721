/// Which nodes hold which shards, computed only from the definition so every node agrees.
public struct Placement: Sendable, Equatable {
    public let nodes: [UInt64]
    public let shards: Int
    public let replication: Int
    /// The highest shard id a cluster may have (a reshard adds user shards up to it).
    public static let maxShards = 1_024

    public init(nodes: [UInt64], shards: Int, replication: Int) {
        self.nodes = nodes.sorted()
        self.shards = shards
        self.replication = replication
    }

    /// Shard ids: 0 (meta) and 1...shards (users).
    public var allShards: [UInt32] { (0...UInt32(shards)).map { $0 } }

    /// Replicas of `shard`, the preferred leader first. Shard 0 is on every node; shard s
    /// takes `replication` consecutive nodes starting at s − 1, so replicas and preferred
    /// leaders rotate evenly.
    public func replicas(of shard: UInt32) -> [UInt64] {
        if shard == 0 { return nodes }
        let start = Int(shard - 1) % nodes.count
        return (0..<replication).map { nodes[(start + $0) % nodes.count] }
    }

    public func shards(on node: UInt64) -> [UInt32] { allShards.filter { replicas(of: $0).contains(node) } }

    public func preferredLeader(of shard: UInt32) -> UInt64 { replicas(of: shard)[0] }
}
