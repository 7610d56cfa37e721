import AuthCrypto
import Foundation
import Sharding
import Storage
import CognitoModel
import Testing
@testable import UserPool

/// A shard's state machine on a scratch LMDB environment.
final class Shard {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("cognate-userpool-\(UUID().uuidString)").path
    let env: Environment
    let tables: NodeTables
    let machine = UserPoolStateMachine()
    var index: UInt64 = 0
    /// The entries' clock (ms): the tests' commands carry times near 1,000 s.
    var clock: UInt64 = 1_000_000
    /// Which shard this is (its keys' prefix).
    let id: UInt32

    init(id: UInt32 = 1) throws {
        self.id = id
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        env = try Environment(path: path, options: .init(mapSize: 16 << 20))
        tables = try NodeTables(env)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func apply(_ command: UserPoolCommand) throws -> UserPoolReply {
        try UserPoolReply.decode(try applied(command).reply)
    }

    /// The whole outcome, as the node gets it (reply and what it retains).
    func applied(_ command: UserPoolCommand) throws -> Applied {
        try applyBytes(command.encoded)
    }

    func applyBytes(_ bytes: [UInt8]) throws -> Applied {
        index += 1
        return try env.write { txn in
            try machine.apply(command: bytes, shard: id, index: index, clock: clock, txn: txn, tables: tables)
        }
    }

    /// What a retry of a request gets from what was retained.
    func retry(_ retained: [UInt8]) throws -> UserPoolReply {
        try UserPoolReply.decode(try env.read { txn in try machine.retry(retained: retained, command: [UserPoolCommand.tag], shard: id, txn: txn, tables: tables) })
    }

    func read(_ query: UserPoolQuery) throws -> [UInt8] {
        try env.read { txn in try machine.read(request: query.encoded, shard: id, txn: txn, tables: tables) }
    }

    func put(_ key: [UInt8], _ value: [UInt8]) throws {
        try env.write { txn in try txn.put(ShardKeys.key(id, key), value, in: tables.data) }
    }
}

@Suite("Point reads on a shard")
struct PointReadTests {
    static let pool = Pool(
        id: "us-east-1_Point", name: "point", createdAt: 1, modifiedAt: 1, policy: PasswordPolicy(), schema: [],
        usernameAttributes: [], aliasAttributes: [.email], autoVerifiedAttributes: [], caseSensitive: false,
        mfaConfiguration: .off, deletionProtection: .inactive, allowAdminCreateUserOnly: false, tags: ["k": "v"])
    static let client = AppClient(
        id: "client1", poolId: pool.id, name: "app", secret: nil, explicitAuthFlows: [.allowUserSrpAuth],
        readAttributes: nil, writeAttributes: nil, preventUserExistenceErrors: .enabled, refreshTokenValidity: 30,
        accessTokenValidity: nil, idTokenValidity: nil, tokenValidityUnits: nil, createdAt: 1, modifiedAt: 1)
    static let user = User(poolId: pool.id, username: "Alice", sub: "2c1e6a9e-0b7f-4f0e-9d55-8a1f3c7b6d42",
                           attributes: ["email": "alice@example.com", "name": "A \"quoted\" \\ name ✓"], status: .confirmed, enabled: true,
                           createdAt: 5, modifiedAt: 6, verifier: PasswordVerifier(salt: Array(0..<16), verifier: (0..<384).map { UInt8($0 % 251) }),
                           temporaryPasswordExpiresAt: nil, failedAttempts: 2, lockedUntil: nil, lastFailureAt: 4, signedOutAt: 3, version: 7,
                           groups: ["admins"])
    static let group = Group(poolId: pool.id, name: "admins", description: "d", precedence: 1, roleArn: nil, createdAt: 1, modifiedAt: 1)

    @Test("a point read's reply is the encoder's, byte for byte, and decodes to the stored record")
    func spliced() throws {
        let shard = try Shard()
        try shard.apply(.createPool(Self.pool))
        try shard.apply(.createClient(Self.client))
        try shard.apply(.createUser(Self.user, canonical: "alice"))
        try shard.apply(.createGroup(Self.group))
        try shard.apply(.reserveAlias(poolId: Self.pool.id, attribute: "email", value: "alice@example.com", owner: "alice", now: 10, staleBefore: 0, takeOver: nil))

        let user = try shard.read(.user(poolId: Self.pool.id, canonical: "alice"))
        #expect(user == UserPoolReply.user(Self.user).encoded)
        guard case .user(let decoded) = try UserPoolReply.decode(user) else { Issue.record("not a user reply"); return }
        #expect(decoded == Self.user)

        #expect(try shard.read(.pool(id: Self.pool.id)) == UserPoolReply.pool(Self.pool).encoded)
        #expect(try shard.read(.client(poolId: Self.pool.id, clientId: "client1")) == UserPoolReply.client(Self.client).encoded)
        #expect(try shard.read(.clientById("client1")) == UserPoolReply.client(Self.client).encoded)
        #expect(try shard.read(.group(poolId: Self.pool.id, name: "admins")) == UserPoolReply.group(Self.group).encoded)
        guard case .alias(let claim?) = try UserPoolReply.decode(try shard.read(.alias(poolId: Self.pool.id, attribute: "email", value: "alice@example.com")))
        else { Issue.record("no alias claim"); return }
        #expect(claim.owner == "alice")
    }

    @Test("an absent record reads as the encoder's empty reply")
    func absent() throws {
        let shard = try Shard()
        #expect(try shard.read(.user(poolId: "us-east-1_None", canonical: "nobody")) == UserPoolReply.user(nil).encoded)
        #expect(try shard.read(.clientById("none")) == UserPoolReply.client(nil).encoded)
        #expect(try shard.read(.pool(id: "us-east-1_None")) == UserPoolReply.pool(nil).encoded)
        guard case .user(nil) = try UserPoolReply.decode(try shard.read(.user(poolId: "p", canonical: "c"))) else {
            Issue.record("expected an empty user reply")
            return
        }
    }

    @Test("a record stored in the old form (verifier as arrays of numbers) is passed on as stored and still decodes")
    func oldRecord() throws {
        let shard = try Shard()
        var json = try JSONSerialization.jsonObject(with: UserPoolCommand.encoder.encode(Self.user)) as! [String: Any]
        json["verifier"] = ["salt": Self.user.verifier!.salt.map(Int.init), "verifier": Self.user.verifier!.verifier.map(Int.init)]
        let old = Array(try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]))
        try shard.put(UserPoolKeys.user(Self.pool.id, "alice"), old)
        let reply = try shard.read(.user(poolId: Self.pool.id, canonical: "alice"))
        #expect(reply == Array(#"{"user":{"_0":"#.utf8) + old + Array("}}".utf8))
        guard case .user(let decoded) = try UserPoolReply.decode(reply) else { Issue.record("not a user reply"); return }
        #expect(decoded == Self.user)
    }
}
