import NodeRPC
import Raft

/// The node's binary decoders, reachable from outside the module: the fuzz targets
/// (`Fuzz/`) feed them arbitrary bytes, since these are what peers and the disk hand a node.
public enum NodeCodecs {
    /// A `.raft` frame's payload.
    public static func raftBatch(_ bytes: [UInt8]) throws -> [(UInt32, Message)] { try RaftBatch.decode(bytes) }

    /// A `.snapshotChunk` frame's payload, as its shard and message.
    public static func snapshotChunk(_ bytes: [UInt8]) throws -> (UInt32, Message) {
        let chunk = try SnapshotChunk(decoding: bytes)
        return (chunk.shard, chunk.message)
    }

    /// A write-ahead log record's payload: shards, hard states and entries.
    public static func walRecord(_ bytes: [UInt8]) throws -> Int { try RaftWAL.decode(bytes).count }

    /// A stored log entry.
    public static func logEntry(_ bytes: [UInt8]) throws -> Entry { try RaftCodec.decodeEntry(bytes) }

    /// Encodes what `raftBatch` decodes, so a fuzz target can check the round trip.
    public static func encodeRaftBatch(_ messages: [(UInt32, Message)]) -> [[UInt8]] { RaftBatch.encode(messages) }
}
