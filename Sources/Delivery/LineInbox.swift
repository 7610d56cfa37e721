import NIOConcurrencyHelpers
import NIOCore

/// Lines a server sends, from the channel to the task that reads them: `next()` waits for
/// the next one, or throws once the connection closed or failed.
final class LineInbox: Sendable {
    struct Closed: Error, CustomStringConvertible {
        var description: String { "the server closed the connection" }
    }

    private struct State {
        var lines: [String] = []
        var waiter: CheckedContinuation<String, any Error>?
        var ended: (any Error)?
    }

    private let state = NIOLockedValueBox(State())

    func push(_ line: String) {
        let w = state.withLockedValue { s -> CheckedContinuation<String, any Error>? in
            if let w = s.waiter {
                s.waiter = nil
                return w
            }
            s.lines.append(line)
            return nil
        }
        w?.resume(returning: line)
    }

    func finish(_ error: any Error) {
        let w = state.withLockedValue { s -> CheckedContinuation<String, any Error>? in
            if s.ended == nil { s.ended = error }
            defer { s.waiter = nil }
            return s.waiter
        }
        w?.resume(throwing: error)
    }

    func next() async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            let ready = state.withLockedValue { s -> Result<String, any Error>? in
                if !s.lines.isEmpty { return .success(s.lines.removeFirst()) }
                if let e = s.ended { return .failure(e) }
                s.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}

/// Splits what arrives into CRLF- (or LF-) ended lines for a `LineInbox`; a line longer
/// than `maxLine` bytes is a protocol error that closes the connection.
final class LineSplitter: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    static let maxLine = 4_096

    let inbox: LineInbox
    private let pending = NIOLockedValueBox<[UInt8]>([])

    init(_ inbox: LineInbox) { self.inbox = inbox }

    struct LineTooLong: Error, CustomStringConvertible {
        var description: String { "the server sent a line over \(LineSplitter.maxLine) bytes" }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        let (lines, tooLong) = pending.withLockedValue { p -> ([String], Bool) in
            p += bytes
            var out: [String] = []
            while let nl = p.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(p[..<nl])
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                out.append(String(decoding: line, as: UTF8.self))
                p.removeSubrange(...nl)
            }
            return (out, p.count > Self.maxLine)
        }
        for l in lines { inbox.push(l) }
        if tooLong {
            inbox.finish(LineTooLong())
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbox.finish(LineInbox.Closed())
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        inbox.finish(error)
        context.close(promise: nil)
    }
}
