import NodeRPC

/// What the front needs of the cluster: propose a command to a shard's leader (applied at
/// most once per request id) and read a shard linearizably. `NodeClient` is the real one; the
/// front's tests use shards in the same process that apply the same state machine.
public protocol ShardClient: Sendable {
    func propose(shard: UInt32, requestId: [UInt8], command: [UInt8], timeout: Duration) async throws -> [UInt8]
    func read(shard: UInt32, request: [UInt8], timeout: Duration) async throws -> [UInt8]
    /// A reserving read on the shard's leader (a sign-in attempt's slot, an SRP challenge's
    /// single use).
    func reserve(shard: UInt32, request: [UInt8], timeout: Duration) async throws -> ReservedReply
    /// Gives back what `reserve` holds.
    func release(_ reserved: ReservedReply, shard: UInt32) async
    /// Claims a once id on the node that issued it: true the first time.
    func claim(node: UInt64, boot: UInt64, id: [UInt8], timeout: Duration) async -> Bool
}

extension NodeClient: ShardClient {}
