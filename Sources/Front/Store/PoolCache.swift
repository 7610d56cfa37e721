import Foundation
import UserPool

/// Pools and clients this front read or wrote in the last few seconds, shared by every
/// operation. A write through this front replaces its entry at once; another front's write
/// is seen when the entry expires (`seconds`), which bounds how stale any answer can be.
///
/// `@unchecked Sendable`: the maps are guarded by `lock`.
public final class PoolCache: @unchecked Sendable {
    let seconds: Double
    private let lock = NSLock()
    private var pools: [String: (Pool, Double)] = [:]
    private var clients: [String: (AppClient, Double)] = [:]

    init(seconds: Double) { self.seconds = seconds }

    private var now: Double { Date().timeIntervalSince1970 }

    func pool(_ id: String) -> Pool? {
        let t = now
        return lock.withLock { pools[id].flatMap { t - $0.1 < seconds ? $0.0 : nil } }
    }

    func client(_ id: String) -> AppClient? {
        let t = now
        return lock.withLock { clients[id].flatMap { t - $0.1 < seconds ? $0.0 : nil } }
    }

    func store(_ pool: Pool) {
        let t = now
        lock.withLock { pools[pool.id] = (pool, t) }
    }

    func store(_ client: AppClient) {
        let t = now
        lock.withLock { clients[client.id] = (client, t) }
    }

    func forget(pool id: String) { lock.withLock { _ = pools.removeValue(forKey: id) } }
    func forget(client id: String) { lock.withLock { _ = clients.removeValue(forKey: id) } }
}

/// The number of user shards a front routes over: it only grows, and shard 0's layout is
/// read again at most once a second for operations that visit every shard.
///
/// `@unchecked Sendable`: the state is guarded by `lock`.
public final class ShardLayoutView: @unchecked Sendable {
    private let lock = NSLock()
    private var shards: Int
    private var read: ContinuousClock.Instant?

    init(_ shards: Int) { self.shards = shards }

    var count: Int { lock.withLock { shards } }

    func adopt(_ n: Int) { lock.withLock { shards = max(shards, min(n, UserPoolStateMachine.maxUserShards)) } }

    /// Whether shard 0's layout is due to be read again (and marks it read).
    func due() -> Bool {
        let now = ContinuousClock.now
        return lock.withLock {
            if let read, now - read < .seconds(1) { return false }
            read = now
            return true
        }
    }
}
