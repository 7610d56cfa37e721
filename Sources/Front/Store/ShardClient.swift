import NodeRPC

/// What the front needs of the cluster: propose a command to a shard's leader (applied at
/// most once per request id) and read a shard linearizably. `NodeClient` is the real one; the
/// front's tests use shards in the same process that apply the same state machine.
public protocol ShardClient: Sendable {
    func propose(shard: UInt32, requestId: [UInt8], command: [UInt8], timeout: Duration) async throws -> [UInt8]
    func read(shard: UInt32, request: [UInt8], timeout: Duration) async throws -> [UInt8]
}

extension NodeClient: ShardClient {}
