import AuthCrypto
import CognitoModel
import Foundation
import Sharding
import Storage
import UserPool

/// The `apply` target: well-typed user-pool commands built from the input, carrying extreme
/// values (Int64.min and .max, empty and huge strings, any byte in a key or a name), applied
/// in turn to two replicas of one shard, each command in its own nested transaction as a
/// node applies an entry. What must hold whatever the commands: no trap, and both replicas
/// give the same replies and end with the same records.
enum ApplyFuzz {
    /// Two replicas, kept for the whole run (an environment costs a file); each input works
    /// on a fresh shard of them.
    final class Replica {
        let env: Environment
        let tables: NodeTables
        let machine = UserPoolStateMachine()

        init(_ name: String) {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("cognate-fuzz-\(name)-\(getpid())")
                .path
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            env = try! Environment(path: path, options: .init(mapSize: 1 << 30))
            tables = try! NodeTables(env)
        }

        /// Applies as a node does: a refused command is undone and answered with the
        /// machine's rejection.
        func apply(_ command: [UInt8], shard: UInt32, index: UInt64, clock: UInt64) -> [UInt8] {
            (try? env.write { txn in
                do {
                    return try txn.nested { child in
                        try machine.apply(
                            command: command, shard: shard, index: index, clock: clock, txn: child, tables: tables
                        ).reply
                    }
                } catch let error as StorageError where error.isEnvironmental {
                    preconditionFailure("the store failed: \(error)")
                } catch {
                    return machine.rejection(of: error, command: command)
                }
            }) ?? []
        }

        func records(of shard: UInt32) -> [[UInt8]] {
            (try? env.read { txn in
                try txn.entries(tables.data, from: ShardKeys.prefix(shard), to: ShardKeys.end(shard)).map {
                    $0.key + [0] + $0.value
                }
            }) ?? []
        }

        func clear(_ shard: UInt32) {
            _ = try? env.write { txn in
                try txn.deleteRange(tables.data, from: ShardKeys.prefix(shard), to: ShardKeys.end(shard))
            }
        }
    }

    nonisolated(unsafe) static let replicas = (Replica("a"), Replica("b"))
    nonisolated(unsafe) static var runs: UInt32 = 0

    static func run(_ bytes: [UInt8]) {
        runs &+= 1
        // Shard 0 (meta) now and then; user shards 1…64 otherwise, each input on a fresh one.
        let shard: UInt32 = runs % 5 == 0 ? 0 : 1 + runs % 64
        replicas.0.clear(shard)
        replicas.1.clear(shard)
        var input = FuzzInput(bytes)
        var index: UInt64 = 0
        while !input.isEmpty && index < 24 {
            index += 1
            let clock = input.pick([1_790_000_000_000, 0, UInt64.max, UInt64(Int64.max), 1_000])
            guard let command = input.command() else { break }
            let bytes = command.encoded
            let a = replicas.0.apply(bytes, shard: shard, index: index, clock: clock)
            let b = replicas.1.apply(bytes, shard: shard, index: index, clock: clock)
            precondition(a == b, "replicas answer a command alike")
        }
        precondition(replicas.0.records(of: shard) == replicas.1.records(of: shard), "replicas end alike")
    }
}

/// Reads typed values off the fuzzer's bytes, leaning towards the values that break
/// arithmetic and keys.
struct FuzzInput {
    var bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isEmpty: Bool { offset >= bytes.count }

    mutating func byte() -> UInt8 {
        defer { offset += 1 }
        return offset < bytes.count ? bytes[offset] : 0
    }

    mutating func pick<T>(_ choices: [T]) -> T { choices[Int(byte()) % choices.count] }

    mutating func int64() -> Int64 {
        switch byte() % 8 {
        case 0: .min
        case 1: .max
        case 2: 0
        case 3: -1
        case 4: 1_790_000_000
        case 5: 1_790_000_000 + Int64(byte()) * 3_600
        case 6: Int64(bitPattern: (0..<8).reduce(UInt64(0)) { acc, _ in acc << 8 | UInt64(byte()) })
        default: Int64(byte())
        }
    }

    mutating func int() -> Int { Int(truncatingIfNeeded: int64()) }

    mutating func bool() -> Bool { byte() & 1 == 1 }

    mutating func string() -> String {
        switch byte() % 6 {
        case 0: return ""
        case 1: return "alice"
        case 2: return String(repeating: "\u{10FFFF}", count: 600)
        case 3: return "us-east-1_pool"
        case 4:
            let n = Int(byte() % 24)
            return String(decoding: (0..<n).map { _ in byte() }, as: UTF8.self)
        default: return String(repeating: "x", count: Int(byte()) * 64)
        }
    }

    mutating func data(max: Int = 64) -> [UInt8] { (0..<Int(byte()) % (max + 1)).map { _ in byte() } }

    mutating func user() -> User {
        var u = User(
            poolId: pick(["us-east-1_pool", string()]), username: string(), sub: string(),
            attributes: bool() ? [:] : [string(): string()], status: pick([.confirmed, .unconfirmed, .forceChangePassword]),
            enabled: bool(), createdAt: int64(), modifiedAt: int64(),
            verifier: bool() ? PasswordVerifier(salt: data(), verifier: data(max: 400), powers: []) : nil,
            temporaryPasswordExpiresAt: bool() ? int64() : nil, failedAttempts: int(), lockedUntil: bool() ? int64() : nil,
            lastFailureAt: bool() ? int64() : nil, signedOutAt: bool() ? int64() : nil, version: int(),
            groups: bool() ? [string()] : nil)
        if bool() {
            var codes = CodeState()
            codes.wrongGuesses = int()
            codes.firstWrongAt = int64()
            codes.sentAt = [int64(), int64()]
            u.codes = codes
        }
        return u
    }

    mutating func command() -> UserPoolCommand? {
        let pool = pick(["us-east-1_pool", "us-east-1_other", string()])
        let name = pick(["alice", "bob", string()])
        switch byte() % 25 {
        case 0: return .createUser(user(), canonical: name)
        case 1: return .updateUser(user(), canonical: name, expectedVersion: int())
        case 2: return .deleteUser(poolId: pool, canonical: name)
        case 3:
            return .signInAttempt(
                poolId: pool, canonical: name, passwordOK: bool(), verifierDigest: data(), now: int64(),
                lockoutBaseSeconds: int64(), challenge: bool() ? data(max: 40) : nil)
        case 4: return .phantomCode(poolId: pool, canonical: name, use: pick([.send, .check]), now: int64())
        case 5: return .setMembership(poolId: pool, canonical: name, group: string(), member: bool())
        case 6: return .purgeGroup(poolId: pool, group: string())
        case 7: return .purgePool(id: pool)
        case 8:
            return .reserveAlias(
                poolId: pool, attribute: string(), value: string(), owner: name, now: int64(), staleBefore: int64(),
                takeOver: bool() ? string() : nil)
        case 9: return .commitAlias(poolId: pool, attribute: string(), value: string(), owner: name)
        case 10: return .releaseAlias(poolId: pool, attribute: string(), value: string(), owner: name)
        case 11:
            guard let inner = command() else { return nil }
            let message = OutboxMessage(
                kind: .signUp, poolId: pool, username: name, medium: .email, destination: string(), subject: nil,
                from: nil, replyTo: nil, text: string(), html: nil, code: string(), createdAt: int64())
            return .withMessages(inner, messages: Array(repeating: message, count: Int(byte() % 10)))
        case 12:
            return .outboxDone(ids: [string(), "1.\(int64()).\(int())", "\(byte()).1.0"], toInbox: bool(), now: int64())
        case 13:
            return .putImportChunk(poolId: pool, jobId: string(), upload: string(), index: int(), data: string())
        case 14: return .deleteImportChunks(jobId: string(), upload: bool() ? string() : nil)
        case 15: return .moveShard(ShardMove(shards: int(), phase: pick([.fenced, .moved])))
        case 16:
            return .ingest([ShardRecord(key: data(max: 600), value: data(max: 200), shard: UInt32(byte()))])
        case 17: return .setLayout(UserShardLayout(shards: int(), target: bool() ? int() : nil, copied: bool()))
        case 18: return .markPoolDeleting(id: pool)
        case 19: return .deletePool(id: pool)
        case 20: return .deleteGroup(poolId: pool, name: string())
        case 21: return .beginImportUpload(poolId: pool, jobId: string(), upload: string())
        case 22:
            return .finishImportUpload(poolId: pool, jobId: string(), upload: string(), bytes: int64(), chunks: int())
        case 23: return .abortImportUpload(poolId: pool, jobId: string(), upload: string())
        default: return .deleteClient(poolId: pool, clientId: string())
        }
    }
}
