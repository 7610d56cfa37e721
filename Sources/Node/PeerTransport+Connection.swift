import Logging
import NIOCore
import NodeRPC
import Raft
import Sharding

extension PeerTransport {
    /// Reassembles snapshot chunks per shard on one connection, within its share of the
    /// node's reassembly budget.
    final class Assembler {
        var parts: [UInt32: [[UInt8]]] = [:]
        var bytes = 0
    }

    /// Per connection: learns the peer's identity from the TLS layer, then routes its frames
    /// by what that identity may send, answers client requests, and closes on anything
    /// else (logged).
    final class ConnectionHandler: ChannelInboundHandler {
        typealias InboundIn = Frame
        typealias OutboundOut = Frame
        let transport: PeerTransport
        /// The node this side dialed (nil: an accepted connection).
        let expecting: UInt64?
        var identity: ClusterIdentity?
        var helloSeen = false
        let assembler = Assembler()

        init(transport: PeerTransport, expecting: UInt64?) {
            self.transport = transport
            self.expecting = expecting
        }

        func handlerAdded(context: ChannelHandlerContext) {
            // Outbound frames may be written before the handshake ends (TLS holds them).
            try? context.pipeline.syncOperations.addHandler(FrameWriter(deferFlushes: false), position: .before(self))
        }

        func handlerRemoved(context: ChannelHandlerContext) { releaseAssembly() }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let identified = event as? IdentityCheck.Identified {
                identify(identified.identity, context: context)
            } else if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
                transport.logger.info("closing an idle connection from \(who(context))")
                context.close(promise: nil)
            } else {
                context.fireUserInboundEventTriggered(event)
            }
        }

        private func identify(_ identity: ClusterIdentity, context: ChannelHandlerContext) {
            self.identity = identity
            let limits = transport.limits
            var isNode: Bool
            if case .node = identity { isNode = true } else { isNode = false }
            // Without TLS nobody is known until a hello: every connection gets a node's limits.
            if transport.tls.isPlaintext { isNode = true }
            let ops = context.pipeline.syncOperations
            do {
                try ops.addHandler(
                    IdleStateHandler(readTimeout: isNode ? limits.nodeIdleTimeout : limits.clientIdleTimeout),
                    position: .before(self))
                try ops.addHandler(
                    ByteToMessageHandler(
                        FrameDecoder(maxSize: isNode ? limits.nodeFrameBytes : limits.clientFrameBytes)),
                    position: .before(self))
            } catch {
                context.close(promise: nil)
                return
            }
            // A node connection, once its certificate is checked, is that node's link.
            if let expecting {
                transport.register(expecting, context.channel, dialed: true)
            } else if case .node(let id) = identity, id != transport.nodeId {
                transport.register(id, context.channel, dialed: false)
            }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            transport.metrics.bytesIn.increment(by: frame.payload.count + 6)
            do {
                try route(frame, context: context)
            } catch {
                transport.logger.error(
                    "closing the connection from \(who(context)): refused \(frame.kind) frame: \(error)")
                context.close(promise: nil)
            }
        }

        private func who(_ context: ChannelHandlerContext) -> String {
            let address = context.remoteAddress?.description ?? "?"
            return identity.map { "\($0) at \(address)" } ?? address
        }

        /// The node at the other end, or a refusal for anything that is not one.
        private func node() throws -> UInt64 {
            guard case .node(let id) = identity else {
                throw FrameError(
                    description: "\(identity.map { "\($0)" } ?? "an unidentified peer") may send client requests only")
            }
            return id
        }

        private func route(_ frame: Frame, context: ChannelHandlerContext) throws {
            // A node removed from the cluster is heard no more (its link closes shortly).
            if case .node(let id) = identity, transport.isDenied(id) { return }
            switch frame.kind {
            case .hello:
                var r = BinaryReader(frame.payload)
                let claimed = try r.u64()
                if transport.tls.isPlaintext, expecting == nil, identity == .front("plaintext"),
                    transport.isPeer(claimed), claimed != transport.nodeId
                {
                    // Benchmarks only: the hello is all there is to go by.
                    identity = .node(claimed)
                    transport.register(claimed, context.channel, dialed: false)
                }
                let id = try node()
                guard claimed == id, expecting == nil, !helloSeen else {
                    throw FrameError(description: "hello as node \(claimed) from the certificate of node \(id)")
                }
                helloSeen = true
            case .raft:
                let from = try node()
                let batch = try RaftBatch.decode(frame.payload)
                guard batch.allSatisfy({ $0.1.from == from && $0.1.to == transport.nodeId }) else {
                    throw FrameError(description: "raft messages not from node \(from) to node \(transport.nodeId)")
                }
                transport.handlers.raft(from, batch)
            case .snapshotChunk:
                let from = try node()
                let chunk = try SnapshotChunk(decoding: frame.payload)
                guard chunk.message.from == from, chunk.message.to == transport.nodeId else {
                    throw FrameError(description: "snapshot not from node \(from) to node \(transport.nodeId)")
                }
                try assemble(chunk)
            case .request:
                let request = try ClientRequest(decoding: frame.payload)
                let channel = context.channel
                transport.handlers.request(identity, request) { response in
                    channel.writeAndFlush(Frame(kind: .response, payload: response.encode()), promise: nil)
                }
            case .response:
                throw FrameError(description: "a node does not take responses")
            }
        }

        private func assemble(_ chunk: SnapshotChunk) throws {
            if chunk.chunk == 0, let old = assembler.parts.removeValue(forKey: chunk.shard) {
                let size = old.reduce(0) { $0 + $1.count }
                assembler.bytes -= size
                transport.releaseAssembly(size)
            }
            var parts = assembler.parts[chunk.shard] ?? []
            guard parts.count == Int(chunk.chunk) else { throw FrameError(description: "snapshot chunk out of order") }
            let size = chunk.data.count
            guard assembler.bytes + size <= transport.limits.snapshotAssemblyPerConnection,
                transport.reserveAssembly(size)
            else {
                throw FrameError(description: "snapshot reassembly is over its memory budget")
            }
            assembler.bytes += size
            parts.append(chunk.data)
            if parts.count == Int(chunk.chunks) {
                assembler.parts[chunk.shard] = nil
                let total = parts.reduce(0) { $0 + $1.count }
                assembler.bytes -= total
                transport.releaseAssembly(total)
                var m = chunk.message
                m.snapshot = Raft.Snapshot(metadata: chunk.metadata, data: Array(parts.joined()))
                transport.handlers.snapshot(chunk.shard, m)
            } else {
                assembler.parts[chunk.shard] = parts
            }
        }

        private func releaseAssembly() {
            if assembler.bytes > 0 { transport.releaseAssembly(assembler.bytes) }
            assembler.bytes = 0
            assembler.parts = [:]
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            transport.logger.error("closing the connection from \(who(context)): \(error)")
            context.close(promise: nil)
        }
    }
}
