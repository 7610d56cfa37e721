import NIOCore

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
    public init(description: String) { self.description = description }
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
        guard version == Frame.version else {
            throw FrameError(description: "frame version \(version), expected \(Frame.version)")
        }
        guard let kind = Frame.Kind(rawValue: kindByte) else {
            throw FrameError(description: "unknown frame kind \(kindByte)")
        }
        let payload = buffer.readBytes(length: Int(length) - 2)!
        context.fireChannelRead(wrapInboundOut(Frame(kind: kind, payload: payload)))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
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
