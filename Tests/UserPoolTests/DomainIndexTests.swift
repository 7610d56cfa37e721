import CognitoModel
import Testing

@testable import UserPool

@Suite("User pool domains on the meta shard")
struct DomainIndexTests {
    static func pool(_ id: String) -> Pool {
        var p = SignInFixtures.pool
        p.id = id
        return p
    }

    func owner(_ shard: Shard, _ name: String) throws -> String? {
        guard case .pool(let p) = try UserPoolReply.decode(try shard.read(.poolByDomain(name))) else { return nil }
        return p?.id
    }

    @Test("a domain belongs to one pool; a pool that lets it go, or is deleted, frees it")
    func index() throws {
        let shard = try Shard(id: 0)
        var a = Self.pool("us-east-1_A")
        var b = Self.pool("us-east-1_B")
        try shard.apply(.createPool(a))
        try shard.apply(.createPool(b))
        _ = try DomainRules.create(&a, name: "acme", certificateArn: nil, managedLoginVersion: nil, now: 5)
        try shard.apply(.updatePool(a))
        #expect(try owner(shard, "acme") == a.id)
        _ = try DomainRules.create(&b, name: "acme", certificateArn: nil, managedLoginVersion: nil, now: 5)
        guard case .error(let e) = try shard.apply(.updatePool(b)) else {
            Issue.record("a second pool took the name")
            return
        }
        #expect(e.code == .invalidParameter)
        // Refused whole: b's record is as it was.
        guard case .pool(let stored?) = try UserPoolReply.decode(try shard.read(.pool(id: b.id))) else {
            Issue.record("b is gone")
            return
        }
        #expect(stored.settings.domains == nil)
        // An update that leaves the domain out lets it go.
        try DomainRules.delete(&a, name: "acme", now: 6)
        try shard.apply(.updatePool(a))
        #expect(try owner(shard, "acme") == nil)
        try shard.apply(.updatePool(b))
        #expect(try owner(shard, "acme") == b.id)
        try shard.apply(.deletePool(id: b.id))
        #expect(try owner(shard, "acme") == nil)
    }

    @Test("names: prefixes without reserved words, custom domains fully qualified, one of each per pool")
    func names() throws {
        var p = Self.pool("us-east-1_C")
        for bad in ["UPPER", "-x", "x-", "my.domain", "awsome", "cognito-x", String(repeating: "a", count: 64)] {
            #expect(throws: PoolError.self, "\(bad)") {
                try DomainRules.create(&p, name: bad, certificateArn: nil, managedLoginVersion: nil, now: 1)
            }
        }
        #expect(throws: PoolError.self) {
            try DomainRules.create(&p, name: "single", certificateArn: "arn:cert", managedLoginVersion: nil, now: 1)
        }
        #expect(throws: PoolError.self) {
            try DomainRules.create(&p, name: "ok", certificateArn: nil, managedLoginVersion: 3, now: 1)
        }
        _ = try DomainRules.create(&p, name: "ok", certificateArn: nil, managedLoginVersion: 2, now: 1)
        _ = try DomainRules.create(&p, name: "auth.example.com", certificateArn: "arn:cert", managedLoginVersion: nil, now: 1)
        #expect(throws: PoolError.self) {
            try DomainRules.create(&p, name: "ok2", certificateArn: nil, managedLoginVersion: nil, now: 1)
        }
        #expect(DomainRules.names(p) == ["ok", "auth.example.com"])
    }

    @Test("resource servers: 25 per pool, an update only of one that exists, gone with their pool")
    func resourceServers() throws {
        let shard = try Shard(id: 0)
        let pool = Self.pool("us-east-1_R")
        try shard.apply(.createPool(pool))
        for i in 0..<ResourceServerRules.maxPerPool {
            let server = ResourceServer(poolId: pool.id, identifier: "api-\(i)", name: "api", scopes: [])
            guard case .resourceServer = try shard.apply(.putResourceServer(server, create: true)) else {
                Issue.record("server \(i) refused")
                return
            }
        }
        let extra = ResourceServer(poolId: pool.id, identifier: "extra", name: "x", scopes: [])
        guard case .error(let full) = try shard.apply(.putResourceServer(extra, create: true)) else {
            Issue.record("a 26th accepted")
            return
        }
        #expect(full.code == .limitExceeded)
        guard case .error(let missing) = try shard.apply(.putResourceServer(extra, create: false)) else {
            Issue.record("an update of none accepted")
            return
        }
        #expect(missing.code == .resourceNotFound)
        try shard.apply(.deletePool(id: pool.id))
        guard case .resourceServers(let left) = try UserPoolReply.decode(try shard.read(.resourceServers(poolId: pool.id)))
        else {
            Issue.record("no reply")
            return
        }
        #expect(left.isEmpty)
        #expect(throws: PoolError.self) {
            try ResourceServerRules.checkScopes(["openid", "api-1/read"], servers: [])
        }
    }
}
