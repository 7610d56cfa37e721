import NIOCore
import Raft

/// One unit on a node connection: `length(u32, BE) ‖ version(u8) ‖ kind(u8) ‖ payload`,
/// where length counts everything after itself. Peers and clients share the framing.
public struct Frame: Sendable, Equatable {
    public enum Kind: UInt8, Sendable {
        /// First frame a dialing peer sends: its node id.
        case hello = 1
        /// Raft messages for any number of shards, to one peer.
        case raft = 2
        /// A piece of a snapshot message (see `SnapshotChunk`).
        case snapshotChunk = 3
        /// A client request (see `ClientRequest`).
        case request = 10
        /// A client response (see `ClientResponse`).
        case response = 11
    }

    public static let version: UInt8 = 1
    /// The largest frame accepted; bigger ones close the connection.
    public static let maxSize = 16 << 20

    public var kind: Kind
    public var payload: [UInt8]

    public init(kind: Kind, payload: [UInt8]) {
        self.kind = kind
        self.payload = payload
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(payload.count + 2))
        buffer.writeInteger(Frame.version)
        buffer.writeInteger(kind.rawValue)
        buffer.writeBytes(payload)
    }
}

/// Why a connection's bytes were refused; the connection is closed.
public struct FrameError: Error, CustomStringConvertible {
    public var description: String
}

/// Splits the byte stream into frames, refusing oversized, versionless or unknown ones.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Frame
    let maxSize: Int

    public init(maxSize: Int = Frame.maxSize) { self.maxSize = maxSize }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        guard length >= 2 else { throw FrameError(description: "frame of length \(length) is too short") }
        guard Int(length) <= maxSize else {
            throw FrameError(description: "frame of \(length) bytes exceeds the \(maxSize)-byte limit")
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        let version: UInt8 = buffer.readInteger()!
        let kindByte: UInt8 = buffer.readInteger()!
        guard version == Frame.version else { throw FrameError(description: "frame version \(version), expected \(Frame.version)") }
        guard let kind = Frame.Kind(rawValue: kindByte) else { throw FrameError(description: "unknown frame kind \(kindByte)") }
        let payload = buffer.readBytes(length: Int(length) - 2)!
        context.fireChannelRead(wrapInboundOut(Frame(kind: kind, payload: payload)))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if buffer.readableBytes > 0 {
            throw FrameError(description: "connection closed inside a frame (\(buffer.readableBytes) bytes left)")
        }
        return .needMoreData
    }
}

public struct FrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = Frame
    public init() {}
    public func encode(data: Frame, out: inout ByteBuffer) throws { data.encode(into: &out) }
}

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
        guard n <= 1 << 20 else { throw BinaryReader.Truncated() }
        return try (0..<n).map { _ in (try r.u32(), try RaftCodec.message(&r)) }
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
