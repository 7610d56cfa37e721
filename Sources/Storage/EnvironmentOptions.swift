/// How an `Environment` is opened.
public struct EnvironmentOptions: Sendable {
    /// Whether a commit waits for the data to reach the disk.
    public enum Durability: Sendable {
        /// fsync on every commit: a commit that returned survives a crash (the default).
        case durable
        /// No fsync on commit (`MDB_NOSYNC`): a crash may lose recent commits, never
        /// corrupts. Only for benchmarks and throwaway data; ask for it explicitly.
        case noSync
    }

    /// Initial size of the memory map in bytes; it grows on `MDB_MAP_FULL`.
    public var mapSize: Int
    /// The map never grows beyond this; a write that needs more fails with `.mapFull`.
    public var maxMapSize: Int
    /// Named tables the environment can hold.
    public var maxTables: UInt32
    /// Concurrent read transactions.
    public var maxReaders: UInt32
    public var durability: Durability

    public init(
        mapSize: Int = 64 << 20,
        maxMapSize: Int = 1 << 40,
        maxTables: UInt32 = 64,
        maxReaders: UInt32 = 256,
        durability: Durability = .durable
    ) {
        self.mapSize = mapSize
        self.maxMapSize = maxMapSize
        self.maxTables = maxTables
        self.maxReaders = maxReaders
        self.durability = durability
    }
}
