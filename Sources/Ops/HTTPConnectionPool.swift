import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1.1 client for the load tools: kept-alive connections to one host, one
/// request at a time on each, reused from an idle list. Much lighter on the CPU than
/// URLSession on Linux, which matters when the load generator shares the cores with the
/// service it measures.
///
/// `@unchecked Sendable`: `idle` and `closed` are under `lock`.
final class HTTPConnectionPool: @unchecked Sendable {
    struct Response {
        var status: Int
        var body: [UInt8]
        var keepAlive: Bool
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let host: String
    let port: Int
    let hostHeader: String
    let timeout: TimeAmount
    /// NIO's shared group: in a process that runs its tasks on those loops too (see
    /// `cognate bench signin`), a request and its connection share a thread.
    private let group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    private let lock = NIOLock()
    private var idle: [Channel] = []
    private var closed = false

    init(host: String, port: Int, timeoutSeconds: Double) {
        self.host = host
        self.port = port
        hostHeader = port == 80 ? host : "\(host):\(port)"
        timeout = .milliseconds(Int64(timeoutSeconds * 1000))
    }

    /// Sends `body` to `path` with `headers`; the connection goes back to the pool after a
    /// complete answer and is closed after an error or a timeout.
    func send(
        _ method: HTTPMethod = .POST, path: String, headers: [(String, String)] = [], body: [UInt8] = []
    ) async throws -> Response {
        let channel = try await take()
        let handler = try await channel.pipeline.handler(type: ResponseCollector.self).get()
        let promise = channel.eventLoop.makePromise(of: Response.self)
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: hostHeader)
        head.headers.add(name: "Content-Length", value: "\(body.count)")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        let requestHead = head
        let timeout = self.timeout
        channel.eventLoop.execute {
            handler.expect(promise)
            channel.write(HTTPClientRequestPart.head(requestHead), promise: nil)
            channel.write(HTTPClientRequestPart.body(.byteBuffer(channel.allocator.buffer(bytes: body))), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            let timer = channel.eventLoop.scheduleTask(in: timeout) {
                promise.fail(Failure(description: "no answer within \(timeout)"))
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
        }
        do {
            let response = try await promise.futureResult.get()
            give(channel, reusable: response.keepAlive)
            return response
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    private func take() async throws -> Channel {
        if let ch = lock.withLock({ () -> Channel? in
            while let c = idle.popLast() { if c.isActive { return c } }
            return nil
        }) {
            return ch
        }
        return try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector())
                }
            }
            .connect(host: host, port: port).get()
    }

    private func give(_ channel: Channel, reusable: Bool) {
        guard reusable, channel.isActive else {
            channel.close(promise: nil)
            return
        }
        let keep = lock.withLock { () -> Bool in
            guard !closed else { return false }
            idle.append(channel)
            return true
        }
        if !keep { channel.close(promise: nil) }
    }

    func close() {
        let all = lock.withLock { () -> [Channel] in
            closed = true
            defer { idle = [] }
            return idle
        }
        for c in all { c.close(promise: nil) }
    }

    /// Collects one response at a time into a `Response`. Touched only on its event loop.
    final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        private var promise: EventLoopPromise<Response>?
        private var status = 0
        private var body: [UInt8] = []
        private(set) var keepAlive = true

        func expect(_ promise: EventLoopPromise<Response>) {
            self.promise = promise
            status = 0
            body = []
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                status = Int(head.status.code)
                keepAlive = head.isKeepAlive
            case .body(var buffer):
                body += buffer.readBytes(length: buffer.readableBytes) ?? []
            case .end:
                let p = promise
                promise = nil
                p?.succeed(Response(status: status, body: body, keepAlive: keepAlive))
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            keepAlive = false
            promise?.fail(Failure(description: "connection closed"))
            promise = nil
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            keepAlive = false
            promise?.fail(error)
            promise = nil
            context.close(promise: nil)
        }
    }
}
