import NodeRPC
import Raft
import Sharding

/// Raft messages in a `.raft` frame: count(u32) ‖ (shard(u32) ‖ message)*.
enum RaftBatch {
    /// The most payload a `.raft` frame is filled with. One cycle's messages to a peer can
    /// add up to far more than `Frame.maxSize` (a leader answers each of a rejoining
    /// follower's queued heartbeat responses with an append of its backlog), and the
    /// receiver drops a connection that sends an oversized frame, so they go as several.
    static let frameBudget = 4 << 20

    /// `messages` as the payloads of one or more `.raft` frames, in order, each holding as
    /// many as fit in `maxBytes` (a single bigger message goes alone; Raft's 4 MiB cap on
    /// an append keeps it under `Frame.maxSize`).
    static func encode(_ messages: [(UInt32, Message)], maxBytes: Int = frameBudget) -> [[UInt8]] {
        guard !messages.isEmpty else { return [] }
        var payloads: [[UInt8]] = []
        var start = 0
        repeat {
            var end = start, size = 4
            while end < messages.count {
                let next = 4 + RaftCodec.encodedSize(messages[end].1)
                if end > start && size + next > maxBytes { break }
                size += next
                end += 1
            }
            var w = BinaryWriter(capacity: size)
            w.u32(UInt32(end - start))
            for (shard, m) in messages[start..<end] {
                w.u32(shard)
                RaftCodec.write(m, into: &w)
            }
            payloads.append(w.bytes)
            start = end
        } while start < messages.count
        return payloads
    }

    static func decode(_ bytes: [UInt8]) throws -> [(UInt32, Message)] {
        var r = BinaryReader(bytes)
        let n = Int(try r.u32())
        // A message takes at least 74 bytes (shard and header): check before reserving.
        guard n <= 1 << 20, n * 74 <= r.remaining else { throw BinaryReader.Truncated() }
        var out: [(UInt32, Message)] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append((try r.u32(), try RaftCodec.message(&r))) }
        return out
    }
}

/// A snapshot message split for the wire: the message header and metadata ride in every
/// chunk; the receiver reassembles `data` and hands Raft one message.
struct SnapshotChunk {
    var shard: UInt32
    var message: Message
    var metadata: SnapshotMetadata
    var chunk: UInt32
    var chunks: UInt32
    var data: [UInt8]

    static let size = 1 << 20

    func encode() -> [UInt8] {
        var w = BinaryWriter(capacity: data.count + 128)
        w.u32(shard)
        var header = message
        header.snapshot = nil
        RaftCodec.write(header, into: &w)
        RaftCodec.write(metadata, into: &w)
        w.u32(chunk)
        w.u32(chunks)
        w.blob(data)
        return w.bytes
    }

    init(shard: UInt32, message: Message, metadata: SnapshotMetadata, chunk: UInt32, chunks: UInt32, data: [UInt8]) {
        self.shard = shard
        self.message = message
        self.metadata = metadata
        self.chunk = chunk
        self.chunks = chunks
        self.data = data
    }

    init(decoding bytes: [UInt8]) throws {
        var r = BinaryReader(bytes)
        shard = try r.u32()
        message = try RaftCodec.message(&r)
        metadata = try RaftCodec.snapshotMetadata(&r)
        chunk = try r.u32()
        chunks = try r.u32()
        data = try r.blob()
        guard chunks > 0, chunk < chunks else { throw BinaryReader.Truncated() }
    }

    static func split(shard: UInt32, message: Message) -> [SnapshotChunk] {
        let snap = message.snapshot ?? Snapshot()
        let data = snap.data
        let count = max(1, (data.count + size - 1) / size)
        return (0..<count).map { i in
            let lo = i * size, hi = min(data.count, lo + size)
            return SnapshotChunk(
                shard: shard, message: message, metadata: snap.metadata, chunk: UInt32(i), chunks: UInt32(count),
                data: lo < hi ? Array(data[lo..<hi]) : [])
        }
    }
}
