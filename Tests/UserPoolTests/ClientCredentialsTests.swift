import CognitoModel
import Testing

@testable import UserPool

@Suite("client_credentials: who may, and which scopes")
struct ClientCredentialsTests {
    static func client(secret: String? = "s3cret", flows: [OAuthFlowType] = [.clientCredentials]) -> AppClient {
        var c = SignInFixtures.client(secret: secret)
        c.oauth.allowedOAuthFlowsUserPoolClient = true
        c.oauth.allowedOAuthFlows = flows
        c.oauth.allowedOAuthScopes = ["api/read", "api/write", "gone/x"]
        return c
    }

    static let servers = [
        ResourceServer(
            poolId: "p", identifier: "api", name: "api",
            scopes: [.init(name: "read", description: "r"), .init(name: "write", description: "w")])
    ]

    @Test("every allowed scope a resource server still defines, or those asked for")
    func scopes() throws {
        #expect(try ClientCredentialsRules.grant(Self.client(), asked: nil, servers: Self.servers) == ["api/read", "api/write"])
        #expect(try ClientCredentialsRules.grant(Self.client(), asked: ["api/read", "api/read"], servers: Self.servers) == ["api/read"])
        #expect(throws: PoolError.self) {
            try ClientCredentialsRules.grant(Self.client(), asked: ["gone/x"], servers: Self.servers)
        }
        #expect(throws: PoolError.self) { try ClientCredentialsRules.grant(Self.client(), asked: nil, servers: []) }
    }

    @Test("a public client, or one not allowed the flow, is refused")
    func refused() {
        #expect(throws: PoolError.self) {
            try ClientCredentialsRules.grant(Self.client(secret: nil), asked: nil, servers: Self.servers)
        }
        #expect(throws: PoolError.self) {
            try ClientCredentialsRules.grant(Self.client(flows: [.code]), asked: nil, servers: Self.servers)
        }
    }

    @Test("the token: the client as subject, no user, the scopes joined")
    func claims() {
        let c = ClientCredentialsRules.claims(Self.client(), scopes: ["api/read", "api/write"], issuer: "i", now: 10, jti: "j")
        #expect(c.sub == "client1" && c.clientId == "client1" && c.scope == "api/read api/write")
        #expect(c.exp == 10 + 3600 && c.tokenUse == "access")
    }
}
