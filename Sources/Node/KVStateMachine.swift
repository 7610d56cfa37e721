import NodeRPC
import Sharding
import Storage

/// A small key-value state machine: the node's test harness and benchmark load.
///
/// Commands: put(key, value), delete(key), compare-and-set(key, expected?, new).
/// Reads: get(keys) → values, and a checksum of the whole shard. Its keys live under a
/// first byte of 0, which no other state machine's keys start with, so the harness cannot
/// touch another's records even where both run.
public struct KVStateMachine: ReplicatedStateMachine {
    public enum Command: Equatable, Sendable {
        case put(key: [UInt8], value: [UInt8])
        case delete(key: [UInt8])
        /// Sets `value` if the current value equals `expected` (nil: absent).
        case compareAndSet(key: [UInt8], expected: [UInt8]?, value: [UInt8])

        public var encoded: [UInt8] {
            var w = BinaryWriter()
            switch self {
            case .put(let k, let v):
                w.u8(1); w.blob(k); w.blob(v)
            case .delete(let k):
                w.u8(2); w.blob(k)
            case .compareAndSet(let k, let e, let v):
                w.u8(3); w.blob(k); w.bool(e != nil); w.blob(e ?? []); w.blob(v)
            }
            return w.bytes
        }

        public init(decoding bytes: [UInt8]) throws {
            var r = BinaryReader(bytes)
            switch try r.u8() {
            case 1: self = .put(key: try r.blob(), value: try r.blob())
            case 2: self = .delete(key: try r.blob())
            case 3:
                let k = try r.blob()
                let has = try r.bool()
                let e = try r.blob()
                self = .compareAndSet(key: k, expected: has ? e : nil, value: try r.blob())
            default: throw BinaryReader.Truncated()
            }
        }
    }

    /// Replies: 0 ok, 1 compare failed (then the current value), 2 malformed command,
    /// 3 rejected at apply (a key or value the store refuses).
    public enum Reply: Equatable, Sendable {
        case ok
        case compareFailed(current: [UInt8]?)
        case malformed
        case rejected

        public var encoded: [UInt8] {
            switch self {
            case .ok: [0]
            case .compareFailed(let c):
                [1] + (c.map { [1] + $0 } ?? [0])
            case .malformed: [2]
            case .rejected: [3]
            }
        }

        public init(decoding bytes: [UInt8]) {
            switch bytes.first {
            case 0: self = .ok
            case 1: self = .compareFailed(current: bytes.count > 1 && bytes[1] == 1 ? Array(bytes[2...]) : nil)
            case 3: self = .rejected
            default: self = .malformed
            }
        }
    }

    public init() {}

    /// Where `key` is stored on `shard`.
    static func storageKey(_ shard: UInt32, _ key: [UInt8]) -> [UInt8] { ShardKeys.key(shard, [0] + key) }

    public func apply(
        command: [UInt8], shard: UInt32, index: UInt64, clock: UInt64, txn: borrowing WriteTransaction,
        tables: NodeTables
    )
        throws -> Applied
    {
        guard let cmd = try? Command(decoding: command) else { return Applied(reply: Reply.malformed.encoded) }
        switch cmd {
        case .put(let k, let v):
            try txn.put(Self.storageKey(shard, k), v, in: tables.data)
        case .delete(let k):
            try txn.delete(Self.storageKey(shard, k), in: tables.data)
        case .compareAndSet(let k, let expected, let v):
            let current = try txn.get(Self.storageKey(shard, k), in: tables.data)
            guard current == expected else { return Applied(reply: Reply.compareFailed(current: current).encoded) }
            try txn.put(Self.storageKey(shard, k), v, in: tables.data)
        }
        return Applied(reply: Reply.ok.encoded)
    }

    public func rejection(of error: any Error, command: [UInt8]) -> [UInt8] { Reply.rejected.encoded }

    /// Read requests: 1 ‖ count ‖ keys → count ‖ (present ‖ value)*; 2 → checksum (u64, count u64).
    public func read(
        request: [UInt8], shard: UInt32, txn: borrowing ReadTransaction, tables: NodeTables
    ) throws -> [UInt8] {
        var r = BinaryReader(request)
        var w = BinaryWriter()
        switch try r.u8() {
        case 1:
            let n = Int(try r.u32())
            guard n <= 100_000, n * 4 <= r.remaining else { throw BinaryReader.Truncated() }
            w.u32(UInt32(n))
            for _ in 0..<n {
                let value = try txn.get(Self.storageKey(shard, try r.blob()), in: tables.data)
                w.bool(value != nil)
                w.blob(value ?? [])
            }
        case 2:
            var hash = FNV1a()
            var count: UInt64 = 0
            try txn.scan(tables.data, from: ShardKeys.prefix(shard), to: ShardKeys.end(shard)) { k, v in
                hash.add(k)
                hash.add(v)
                count += 1
                return true
            }
            w.u64(hash.value)
            w.u64(count)
        default:
            throw BinaryReader.Truncated()
        }
        return w.bytes
    }

    public static func getRequest(_ keys: [[UInt8]]) -> [UInt8] {
        var w = BinaryWriter()
        w.u8(1)
        w.u32(UInt32(keys.count))
        for k in keys { w.blob(k) }
        return w.bytes
    }

    public static func decodeGet(_ bytes: [UInt8]) throws -> [[UInt8]?] {
        var r = BinaryReader(bytes)
        let n = Int(try r.u32())
        guard n * 5 <= r.remaining else { throw BinaryReader.Truncated() }
        return try (0..<n).map { _ in
            let present = try r.bool()
            let v = try r.blob()
            return present ? v : nil
        }
    }

    public static let checksumRequest: [UInt8] = [2]
}
