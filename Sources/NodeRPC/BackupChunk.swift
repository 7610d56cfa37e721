import Sharding

/// A piece of a shard's state-machine copy for a backup: which copy (node, shard, index and
/// term), its whole size and SHA-256, and `bytes` from `offset` on.
public struct BackupChunk: Sendable, Equatable {
    /// The largest piece a node sends in one answer (frames are at most 16 MiB).
    public static let maxBytes = 4 << 20

    public var node: UInt64
    public var shard: UInt32
    public var index: UInt64
    public var term: UInt64
    public var total: UInt64
    public var sha256: [UInt8]
    public var offset: UInt64
    public var bytes: [UInt8]

    public init(
        node: UInt64, shard: UInt32, index: UInt64, term: UInt64, total: UInt64, sha256: [UInt8], offset: UInt64,
        bytes: [UInt8]
    ) {
        self.node = node
        self.shard = shard
        self.index = index
        self.term = term
        self.total = total
        self.sha256 = sha256
        self.offset = offset
        self.bytes = bytes
    }

    public func encode() -> [UInt8] {
        var w = BinaryWriter(capacity: bytes.count + 96)
        w.u64(node)
        w.u32(shard)
        w.u64(index)
        w.u64(term)
        w.u64(total)
        w.blob(sha256)
        w.u64(offset)
        w.blob(bytes)
        return w.bytes
    }

    public init(decoding data: [UInt8]) throws {
        var r = BinaryReader(data)
        node = try r.u64()
        shard = try r.u32()
        index = try r.u64()
        term = try r.u64()
        total = try r.u64()
        sha256 = try r.blob(max: 32)
        offset = try r.u64()
        bytes = try r.blob(max: Self.maxBytes)
        guard sha256.count == 32, offset <= total, UInt64(bytes.count) <= total - offset else {
            throw BinaryReader.Truncated()
        }
    }
}
