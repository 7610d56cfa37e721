import NIOCore

/// Encodes outbound frames into one buffer per flush, so frames written together go out as
/// one TLS write (records of up to 16 KiB) and one system call instead of one each.
///
/// `deferFlushes`: a flush waits for the end of the event loop's turn, so the requests that
/// many tasks on one loop write in one turn (a front's calls) share a write. A node does not
/// defer: its turn includes a cycle's disk writes, which its replies and Raft messages must
/// not wait for.
public final class FrameWriter: ChannelOutboundHandler, RemovableChannelHandler {
    public typealias OutboundIn = Frame
    public typealias OutboundOut = ByteBuffer

    let deferFlushes: Bool

    private var pending: ByteBuffer?
    private var promises: [EventLoopPromise<Void>] = []
    private var flushScheduled = false
    private var removed = false

    public init(deferFlushes: Bool) { self.deferFlushes = deferFlushes }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = unwrapOutboundIn(data)
        if pending == nil { pending = context.channel.allocator.buffer(capacity: max(512, frame.payload.count + 6)) }
        frame.encode(into: &pending!)
        if let promise { promises.append(promise) }
    }

    public func flush(context: ChannelHandlerContext) {
        guard deferFlushes else { return emit(context: context) }
        guard !flushScheduled else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute { [self] in
            flushScheduled = false
            emit(context: context)
        }
    }

    private func emit(context: ChannelHandlerContext) {
        guard !removed else { return }
        guard let buffer = pending else { return context.flush() }
        pending = nil
        let waiting = promises
        promises = []
        let done: EventLoopPromise<Void>? = waiting.isEmpty ? nil : context.eventLoop.makePromise()
        done?.futureResult.whenComplete { result in
            for p in waiting { p.completeWith(result) }
        }
        context.write(wrapOutboundOut(buffer), promise: done)
        context.flush()
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        // What is written before a close goes out before it.
        if pending != nil { emit(context: context) }
        context.close(mode: mode, promise: promise)
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        removed = true
        let waiting = promises
        promises = []
        pending = nil
        for p in waiting { p.fail(ChannelError.ioOnClosedChannel) }
    }
}
