import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NodeRPC
import Prometheus
import Sharding

/// The node's admin HTTP endpoint: `GET /status` (JSON) and `GET /metrics` (Prometheus).
/// Read-only and unauthenticated (it tells nothing secret), so it is bounded like every
/// port: connections, idle time, and request bodies (ignored, never buffered).
public final class AdminServer: Sendable {
    let status: @Sendable (@escaping @Sendable (Data) -> Void) -> Void
    let registry: PrometheusCollectorRegistry
    let limits: ConnectionLimits

    public init(
        registry: PrometheusCollectorRegistry, limits: ConnectionLimits = ConnectionLimits(),
        status: @escaping @Sendable (@escaping @Sendable (Data) -> Void) -> Void
    ) {
        self.registry = registry
        self.limits = limits
        self.status = status
    }

    public func bind(_ address: HostPort, group: EventLoopGroup) async throws -> Channel {
        // Nobody authenticates here: every connection counts against the unauthenticated
        // pool and its cap per address, so one client cannot hold every place.
        let gate = ConnectionGate(
            .init(
                unauthenticated: limits.unauthenticated, perAddress: limits.unauthenticatedPerAddress,
                authenticated: 0)
        ) { _ in }
        let idle = limits.handshakeTimeout
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ConnectionGate.Acceptor(gate))
                }
            }
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: idle))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(server: self))
                }
            }
            .bind(host: address.host, port: address.port).get()
    }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let server: AdminServer
        var head: HTTPRequestHead?

        init(server: AdminServer) { self.server = server }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if event is IdleStateHandler.IdleStateEvent { return context.close(promise: nil) }
            context.fireUserInboundEventTriggered(event)
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h): head = h
            case .body: break
            case .end:
                guard let head else { return }
                let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
                let channel = context.channel
                switch (head.method, path) {
                case (.GET, "/status"):
                    server.status { body in
                        channel.eventLoop.execute { Self.respond(channel, .ok, "application/json", Array(body)) }
                    }
                case (.GET, "/metrics"):
                    ProcessCPU.record()
                    Self.respond(channel, .ok, "text/plain; version=0.0.4", server.registry.emitToBuffer())
                default:
                    Self.respond(channel, .notFound, "text/plain", Array("not found: \(head.method) \(path)\n".utf8))
                }
            }
        }

        static func respond(_ channel: Channel, _ status: HTTPResponseStatus, _ type: String, _ body: [UInt8]) {
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: type)
            headers.add(name: "Content-Length", value: "\(body.count)")
            channel.write(
                HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)),
                promise: nil)
            var buffer = channel.allocator.buffer(capacity: body.count)
            buffer.writeBytes(body)
            channel.write(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil)
            channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
        }
    }
}
