import NodeRPC

/// Calls from inside the node's own process (the outbox deliverer): the same paths a
/// client's requests take, answered asynchronously.
extension NodeRuntime {
    /// Proposes `command` to this node's replica of `shard` (answered `notLeader` unless it leads).
    public func propose(shard: UInt32, requestId: [UInt8], command: [UInt8]) async -> ClientResponse.Body {
        await withCheckedContinuation { continuation in
            submit(
                .propose(
                    shard: shard, requestId: requestId, command: command,
                    reply: { continuation.resume(returning: $0) }))
        }
    }

    /// Reads this node's own replica of `shard` as it stands.
    public func localRead(shard: UInt32, request: [UInt8]) async -> ClientResponse.Body {
        await withCheckedContinuation { continuation in
            submit(.localRead(shard: shard, request: request, reply: { continuation.resume(returning: $0) }))
        }
    }

    /// The shards this node leads now.
    public func ledShards() async -> [UInt32] {
        await withCheckedContinuation { continuation in
            status { s in continuation.resume(returning: s.shards.filter { $0.role == "leader" }.map(\.shard)) }
        }
    }
}
