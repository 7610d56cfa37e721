import Foundation
import Sharding
import Storage
import Testing

@testable import UserPool

@Suite("Growing the user shards")
struct ReshardTests {
    static let pool = PointReadTests.pool

    static func user(_ name: String) -> User {
        var u = PointReadTests.user
        u.username = name
        u.sub = "sub-\(name)"
        u.groups = []
        u.version = 1
        return u
    }

    /// Under one user shard every name is on shard 1; under two, these move to shard 2.
    static func moves(_ name: String) -> Bool {
        UserPoolKeys.userShard(pool: pool.id, canonical: name, userShards: 2) == 2
    }

    static func names(_ reply: UserPoolReply) -> [String] {
        guard case .users(let users) = reply else { return [] }
        return users.map(\.username).sorted()
    }

    static func count(_ shard: Shard) throws -> Int64 {
        guard case .count(let n) = try UserPoolReply.decode(try shard.read(.userCount(poolId: pool.id))) else { return -1 }
        return n
    }

    @Test("fenced, a shard keeps serving reads and refuses writes to what moves; the copy lands whole; moved, it deletes it and says where")
    func moveOneShard() throws {
        let source = try Shard(id: 1)
        let names = (0..<40).map { "u\($0)" }
        for (k, name) in names.enumerated() {
            try source.apply(.createUser(Self.user(name), canonical: name))
            try source.apply(.reserveAlias(poolId: Self.pool.id, attribute: "email", value: "\(name)@x.com", owner: name, now: 1, staleBefore: 0, takeOver: nil))
            try source.apply(.commitAlias(poolId: Self.pool.id, attribute: "email", value: "\(name)@x.com", owner: name))
            if k % 4 == 0 { try source.apply(.setMembership(poolId: Self.pool.id, canonical: name, group: "staff", member: true)) }
        }
        // A name no user has, with failed sign-ins counted.
        _ = try source.apply(.signInAttempt(poolId: Self.pool.id, canonical: "ghost7", passwordOK: false, verifierDigest: [], now: 50, lockoutBaseSeconds: 1))
        let moving = names.filter(Self.moves)
        let staying = names.filter { !Self.moves($0) }
        #expect(!moving.isEmpty && !staying.isEmpty)

        guard case .more(false) = try source.apply(.moveShard(ShardMove(shards: 2, phase: .fenced))) else {
            Issue.record("the fence was not set"); return
        }
        // A write to a moving user waits; to a staying one it goes through; reads are served.
        guard case .error(let e) = try source.apply(.setMembership(poolId: Self.pool.id, canonical: moving[0], group: "g", member: true)) else {
            Issue.record("a fenced write went through"); return
        }
        #expect(e.code == .moving)
        guard case .user? = try? source.apply(.setMembership(poolId: Self.pool.id, canonical: staying[0], group: "g2", member: true)) else {
            Issue.record("a staying user's write was refused"); return
        }
        guard case .user(let read?) = try UserPoolReply.decode(try source.read(.user(poolId: Self.pool.id, canonical: moving[0]))) else {
            Issue.record("a fenced read was refused"); return
        }
        #expect(read.username == moving[0])
        guard case .error(let purge) = try source.apply(.purgeGroup(poolId: Self.pool.id, group: "staff")) else {
            Issue.record("a purge ran across a fence"); return
        }
        #expect(purge.code == .moving)

        // The copy: pages of moving records, each naming shard 2.
        var records: [ShardRecord] = []
        var after: Data?
        repeat {
            guard case .records(let page, let next) = try UserPoolReply.decode(try source.read(.movingRecords(shards: 2, after: after, limit: 7))) else {
                Issue.record("no records reply"); return
            }
            records += page
            after = next
        } while after != nil
        #expect(records.allSatisfy { $0.shard == 2 })
        let kinds = Set(records.map { String(decoding: $0.key.prefix { $0 != UInt8(ascii: "/") }, as: UTF8.self) })
        #expect(kinds.isSuperset(of: ["u", "s", "a"]))
        #expect(records.filter { $0.key.starts(with: Array("u/".utf8)) }.count == moving.count)

        let target = try Shard(id: 2)
        for chunk in stride(from: 0, to: records.count, by: 50) {
            guard case .ok = try target.apply(.ingest(Array(records[chunk..<min(chunk + 50, records.count)]))) else {
                Issue.record("ingest refused"); return
            }
        }
        _ = try target.apply(.ingest(Array(records.prefix(10))))  // a repeated page changes nothing
        #expect(try Self.count(target) == Int64(moving.count))
        #expect(Self.names(try UserPoolReply.decode(try target.read(.users(poolId: Self.pool.id, after: nil, limit: 100)))) == moving.sorted())
        // Claims move by their own name, not their owner's.
        let claimed = names.first { UserPoolKeys.userShard(pool: Self.pool.id, canonical: UserPoolKeys.claimName("email", "\($0)@x.com"), userShards: 2) == 2 }
        guard let claimed, case .alias(let claim?) = try UserPoolReply.decode(try target.read(.alias(poolId: Self.pool.id, attribute: "email", value: "\(claimed)@x.com"))) else {
            Issue.record("a moving claim did not arrive"); return
        }
        #expect(claim.owner == claimed)

        // Moved: deleted in batches; point reads and writes of moved names answer where they went.
        var entries = 0
        while case .more(true) = try source.apply(.moveShard(ShardMove(shards: 2, phase: .moved))) { entries += 1 }
        #expect(Self.names(try UserPoolReply.decode(try source.read(.users(poolId: Self.pool.id, after: nil, limit: 100)))) == staying.sorted())
        #expect(try Self.count(source) == Int64(staying.count))
        guard case .moved(2) = try UserPoolReply.decode(try source.read(.user(poolId: Self.pool.id, canonical: moving[0]))) else {
            Issue.record("a moved read was served"); return
        }
        guard case .moved(2) = try source.apply(.deleteUser(poolId: Self.pool.id, canonical: moving[0])) else {
            Issue.record("a moved write was applied"); return
        }
        // A fence repeated after the move does not undo it.
        _ = try source.apply(.moveShard(ShardMove(shards: 2, phase: .fenced)))
        guard case .moved(2) = try source.apply(.deleteUser(poolId: Self.pool.id, canonical: moving[0])) else {
            Issue.record("a repeated fence undid the move"); return
        }
        guard case .records(let left, nil) = try UserPoolReply.decode(try source.read(.movingRecords(shards: 2, after: nil, limit: 100))) else {
            Issue.record("no records reply"); return
        }
        #expect(left.isEmpty)
    }

    @Test("a reshard moves a record of every kind that lives with a user, and nothing else")
    func everyKindMoves() throws {
        let source = try Shard(id: 1)
        // A user, a claim, a membership (with the user's sub) and a name no user has, each
        // routed to shard 2 under two user shards.
        let name = try #require((0..<500).map { "k\($0)" }.first(where: Self.moves))
        let email = try #require(
            (0..<500).map { "\(name)-\($0)@x.com" }.first {
                UserPoolKeys.userShard(
                    pool: Self.pool.id, canonical: UserPoolKeys.claimName("email", $0), userShards: 2) == 2
            })
        let ghost = try #require((0..<500).map { "ghost\($0)" }.first(where: Self.moves))
        try source.apply(.createUser(Self.user(name), canonical: name))
        try source.apply(.reserveAlias(poolId: Self.pool.id, attribute: "email", value: email, owner: name, now: 1, staleBefore: 0, takeOver: nil))
        try source.apply(.commitAlias(poolId: Self.pool.id, attribute: "email", value: email, owner: name))
        try source.apply(.setMembership(poolId: Self.pool.id, canonical: name, group: "staff", member: true))
        _ = try source.apply(.signInAttempt(poolId: Self.pool.id, canonical: ghost, passwordOK: false, verifierDigest: [], now: 50, lockoutBaseSeconds: 1))
        guard case .records(let records, nil) = try UserPoolReply.decode(try source.read(.movingRecords(shards: 2, after: nil, limit: 100))) else {
            Issue.record("no records reply"); return
        }
        let kinds = Set(records.compactMap { RecordKind.of($0.key) })
        #expect(kinds == Set(RecordKind.allCases.filter(\.movesWithUser)))
        // Every kind is either routed or said to stay: nothing moves that is not routed.
        for kind in RecordKind.allCases {
            if case .stays = kind.routing { #expect(!kind.movesWithUser, "\(kind)") } else { #expect(kind.movesWithUser, "\(kind)") }
        }
    }

    @Test("hostile reshard commands are refused: foreign records, keys of other kinds, shrinking layouts, bad counts")
    func refusals() throws {
        let target = try Shard(id: 2)
        for bad in [
            ShardRecord(key: Array("u/p/x".utf8), value: [], shard: 3),
            ShardRecord(key: Array("p/us-east-1_X".utf8), value: Array("{}".utf8), shard: 2),
            ShardRecord(key: Array("o/".utf8), value: [], shard: 2),
            ShardRecord(key: Array(repeating: UInt8(ascii: "u"), count: 600), value: [], shard: 2),
        ] {
            guard case .error(let e) = try target.apply(.ingest([bad])) else { Issue.record("took \(bad)"); continue }
            #expect(e.code == .invalidParameter)
        }
        for shards in [0, 1, 5_000] {
            guard case .error = try target.apply(.moveShard(ShardMove(shards: shards, phase: .fenced))) else {
                Issue.record("moved to \(shards)"); continue
            }
        }
        let meta = try Shard(id: 0)
        guard case .layout = try meta.apply(.setLayout(UserShardLayout(shards: 3, target: 5))) else { Issue.record("no layout"); return }
        guard case .layout = try meta.apply(.setLayout(UserShardLayout(shards: 3, target: 5, copied: true))) else { Issue.record("no layout"); return }
        guard case .error = try meta.apply(.setLayout(UserShardLayout(shards: 4))) else { Issue.record("shrank"); return }
        guard case .error = try meta.apply(.setLayout(UserShardLayout(shards: 5, target: 4))) else { Issue.record("target below"); return }
        guard case .layout(let l?) = try UserPoolReply.decode(try meta.read(.layout)) else { Issue.record("no layout read"); return }
        #expect(l.routing == 5)
        guard case .error = try UserPoolReply.decode(try meta.read(.movingRecords(shards: 2, after: nil, limit: 1))) else {
            Issue.record("shard 0 listed moving records"); return
        }
    }
}
