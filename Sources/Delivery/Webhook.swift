import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The SMS gateway: each message is a `POST` of JSON to one URL (`http://` or `https://`).
/// A 2xx answer is delivered, a 5xx (or no answer) is retried, any other status fails it.
public struct SMSWebhook: Sendable {
    public let url: URL
    let host: String
    let port: Int
    let tls: Bool
    let path: String
    let group: any EventLoopGroup
    let timeout: Duration

    /// What the gateway receives.
    public struct Body: Codable, Sendable {
        public var phoneNumber: String
        public var message: String
        public var messageId: String
        public var userPoolId: String
    }

    public init(url text: String, group: any EventLoopGroup, timeout: Duration = .seconds(10)) throws {
        guard let url = URL(string: text), let scheme = url.scheme, scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else {
            throw SMTPServer.Invalid(description: "an SMS webhook URL is http(s)://host[:port]/path, not \(text)")
        }
        self.url = url
        self.host = host
        tls = scheme == "https"
        port = url.port ?? (tls ? 443 : 80)
        let p = url.path.isEmpty ? "/" : url.path
        path = url.query.map { "\(p)?\($0)" } ?? p
        self.group = group
        self.timeout = timeout
    }

    public func send(_ body: Body) async throws(DeliveryError) {
        let json: [UInt8]
        do {
            json = Array(try JSONEncoder().encode(body))
        } catch {
            throw .permanent("cannot encode the SMS body: \(error)")
        }
        let status = NIOLockedValueBox<HTTPResponseStatus?>(nil)
        let done: EventLoopPromise<Void>
        let channel: any Channel
        do {
            let loop = group.next()
            done = loop.makePromise(of: Void.self)
            let tlsContext = tls ? try NIOSSLContext(configuration: .makeClientConfiguration()) : nil
            let host = host
            let collector = StatusCollector(status: status, done: done)
            channel = try await ClientBootstrap(group: loop)
                .connectTimeout(.seconds(5))
                .channelInitializer { ch in
                    ch.eventLoop.makeCompletedFuture {
                        if let tlsContext {
                            try ch.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: tlsContext, serverHostname: host))
                        }
                        try ch.pipeline.syncOperations.addHTTPClientHandlers()
                        try ch.pipeline.syncOperations.addHandler(collector)
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            throw .transient("cannot connect to \(host):\(port): \(error)")
        }
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path)
        head.headers.add(name: "Host", value: url.port.map { "\(host):\($0)" } ?? host)
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: "\(json.count)")
        head.headers.add(name: "Connection", value: "close")
        head.headers.add(name: "Idempotency-Key", value: body.messageId)
        let ms = Int64(timeout.components.seconds * 1000)
        let timer = channel.eventLoop.scheduleTask(in: .milliseconds(ms)) {
            done.fail(DeliveryError.transient("no answer from \(host):\(port) within \(ms) ms"))
        }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: json))), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        do {
            try await done.futureResult.get()
        } catch let e as DeliveryError {
            throw e
        } catch {
            throw .transient("\(host):\(port): \(error)")
        }
        guard let code = status.withLockedValue({ $0 })?.code else {
            throw .transient("\(host):\(port) closed without an answer")
        }
        switch code {
        case 200..<300: return
        case 500..<600: throw .transient("the SMS gateway answered \(code)")
        default: throw .permanent("the SMS gateway answered \(code)")
        }
    }

    /// Notes the response's status and completes at its end (or when the connection ends).
    final class StatusCollector: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPClientResponsePart
        let status: NIOLockedValueBox<HTTPResponseStatus?>
        let done: EventLoopPromise<Void>

        init(status: NIOLockedValueBox<HTTPResponseStatus?>, done: EventLoopPromise<Void>) {
            self.status = status
            self.done = done
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h): status.withLockedValue { $0 = h.status }
            case .body: break
            case .end: done.succeed()
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            done.succeed()
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            done.fail(error)
            context.close(promise: nil)
        }
    }
}
