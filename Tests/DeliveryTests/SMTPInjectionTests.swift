import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
import UserPool

@testable import Delivery

/// A raw SMTP server on 127.0.0.1 that logs every line it receives, as a mail server would
/// see them, and answers each command with the code a real server would.
final class LineLoggingSMTPServer: Sendable {
    let lines = NIOLockedValueBox<[String]>([])
    let group: MultiThreadedEventLoopGroup
    let channel: any Channel

    var port: Int { channel.localAddress?.port ?? 0 }

    init() async throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let lines = lines
        channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    try ch.pipeline.syncOperations.addHandler(Handler(lines: lines))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async throws {
        try await channel.close()
        try await group.shutdownGracefully()
    }

    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        // @unchecked: `pending` and `inData` are touched only on the channel's event loop.
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let lines: NIOLockedValueBox<[String]>
        var pending: [UInt8] = []
        var inData = false

        init(lines: NIOLockedValueBox<[String]>) { self.lines = lines }

        func channelActive(context: ChannelHandlerContext) { reply(context, "220 test ESMTP") }

        func reply(_ context: ChannelHandlerContext, _ text: String) {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text + "\r\n")), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            pending += buffer.readBytes(length: buffer.readableBytes) ?? []
            // A line ends at LF, as servers that accept bare LF see it; CR before it dropped.
            while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(pending[..<nl])
                pending.removeSubrange(...nl)
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                let text = String(decoding: line, as: UTF8.self)
                lines.withLockedValue { $0.append(text) }
                if inData {
                    if text == "." {
                        inData = false
                        reply(context, "250 queued")
                    }
                    continue
                }
                let verb = text.split(separator: " ").first.map { $0.uppercased() } ?? ""
                switch verb {
                case "EHLO": reply(context, "250 test")
                case "DATA":
                    inData = true
                    reply(context, "354 go on")
                case "QUIT": reply(context, "221 bye")
                default: reply(context, "250 ok")
                }
            }
        }
    }
}

@Suite("SMTP sinks check bytes, not Characters")
struct SMTPInjectionTests {
    static func message(to: String, subject: String = "Your code", from: String = "no-reply@example.com") -> EmailMessage {
        EmailMessage(
            from: from, to: to, replyTo: nil, subject: subject, text: "Your code is 123456", html: nil,
            messageId: "1.2.0.us-east-1_x@cognate", date: Date(timeIntervalSince1970: 1_700_000_000))
    }

    @Test("an address with CR LF (one Character in Swift), NEL or NUL is refused before any command goes out")
    func addressInjectionRefused() async throws {
        for bad in ["m@example.com\r\nRSET\r\nNOOP", "m@example.com\nRSET", "m@example.com\u{85}RSET", "m@example.com\u{0}"] {
            #expect(throws: DeliveryError.self, "\(bad.debugDescription)") {
                try SMTPClient.Conversation.commandAddress(bad)
            }
        }
        #expect(try SMTPClient.Conversation.commandAddress("Name <m@example.com>") == "m@example.com")
        #expect(try SMTPClient.Conversation.commandAddress("m@example.com") == "m@example.com")
    }

    @Test("a raw SMTP server receives no injected command from a hostile recipient; a clean one is delivered")
    func rawServerSeesNoInjection() async throws {
        let server = try await LineLoggingSMTPServer()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let client = SMTPClient(group: group, timeout: .seconds(30))
        let smtp = try SMTPServer(url: "smtp://127.0.0.1:\(server.port)", startTLS: "off")
        await #expect(throws: DeliveryError.self) {
            try await client.send(Self.message(to: "m@example.com\r\nRSET\r\nNOOP"), via: smtp)
        }
        try await client.send(
            Self.message(to: "ok@example.com", subject: "Hello\r\nBcc: evil@example.com"), via: smtp)
        let seen = server.lines.withLockedValue { $0 }
        #expect(!seen.contains { $0.uppercased().hasPrefix("RSET") || $0.uppercased().hasPrefix("NOOP") })
        #expect(!seen.contains { $0.lowercased().hasPrefix("bcc:") })
        #expect(seen.contains("RCPT TO:<ok@example.com>"))
        #expect(seen.contains { $0.hasPrefix("Subject: HelloBcc: evil@example.com") })
        try await group.shutdownGracefully()
        try await server.stop()
    }

    @Test("headers lose every control character, by scalar; the body is base64 lines")
    func renderedHeaders() {
        let m = Self.message(
            to: "a@example.com\r\nBcc: x@example.com", subject: "S\u{85}ubject\u{2028}x", from: "f@example.com\r\n")
        let text = m.rendered()
        let lines = text.components(separatedBy: "\r\n")
        #expect(lines.contains("To: a@example.comBcc: x@example.com"))
        #expect(lines.contains("From: f@example.com"))
        #expect(!lines.contains { $0.hasPrefix("Bcc:") })
        #expect(!text.unicodeScalars.contains { $0.value == 0x85 || $0.value == 0x2028 })
        // Every LF in the rendered text is part of a CR LF pair.
        let bytes = Array(text.utf8)
        for (i, b) in bytes.enumerated() where b == UInt8(ascii: "\n") { #expect(i > 0 && bytes[i - 1] == 13) }
    }
}
