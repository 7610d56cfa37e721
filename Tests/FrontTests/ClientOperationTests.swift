import CognitoModel
import Testing

@testable import Front

@Suite("App clients through the front")
struct ClientOperationTests {
    @Test("CreateUserPoolClient: LEGACY when PreventUserExistenceErrors is left out; a secret when asked")
    func createUserPoolClient() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let plain = try await c.appClient(pool: pool, prevent: nil)
            #expect(plain.preventUserExistenceErrors == .legacy)
            #expect(plain.clientSecret == nil)
            #expect(plain.refreshTokenValidity == 30)
            let secret = try await c.appClient(pool: pool, secret: true)
            #expect((secret.clientSecret ?? "").count >= 40)
            let badFlow = try await c.failure(
                CreateUserPoolClientOperation.self,
                CreateUserPoolClientRequest(
                    userPoolId: pool, clientName: "x", explicitAuthFlows: [.adminNoSrpAuth, .allowUserSrpAuth]))
            #expect(badFlow.type == "InvalidParameterException")
            let badValidity = try await c.failure(
                CreateUserPoolClientOperation.self,
                CreateUserPoolClientRequest(userPoolId: pool, clientName: "x", accessTokenValidity: 25))
            #expect(badValidity.type == "InvalidParameterException")
        }
    }

    @Test("DescribeUserPoolClient: what was created; another pool's client is not found")
    func describeUserPoolClient() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let other = try await c.pool(CreateUserPoolRequest(poolName: "other"))
            let client = try await c.appClient(pool: pool, read: ["email", "name"])
            let described = try await c.call(
                DescribeUserPoolClientOperation.self,
                DescribeUserPoolClientRequest(userPoolId: pool, clientId: client.clientId!))
            #expect(described.userPoolClient?.readAttributes == ["email", "name"])
            #expect(described.userPoolClient?.explicitAuthFlows == client.explicitAuthFlows)
            let elsewhere = try await c.failure(
                DescribeUserPoolClientOperation.self,
                DescribeUserPoolClientRequest(userPoolId: other, clientId: client.clientId!))
            #expect(elsewhere.type == "ResourceNotFoundException")
        }
    }

    @Test("OAuth client settings are validated, stored and described before the OAuth endpoints exist")
    func oauthSettings() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let made = try await c.call(
                CreateUserPoolClientOperation.self,
                CreateUserPoolClientRequest(
                    userPoolId: pool, clientName: "web", supportedIdentityProviders: ["COGNITO"],
                    callbackURLs: ["https://app.example.com/cb"], logoutURLs: ["https://app.example.com/out"],
                    defaultRedirectURI: "https://app.example.com/cb", allowedOAuthFlows: [.code],
                    allowedOAuthScopes: ["openid", "email"], allowedOAuthFlowsUserPoolClient: true))
            let id = try #require(made.userPoolClient?.clientId)
            let described = try await c.call(
                DescribeUserPoolClientOperation.self, DescribeUserPoolClientRequest(userPoolId: pool, clientId: id))
            #expect(described.userPoolClient?.callbackURLs == ["https://app.example.com/cb"])
            #expect(described.userPoolClient?.allowedOAuthFlows == [.code])
            #expect(described.userPoolClient?.allowedOAuthScopes == ["openid", "email"])
            #expect(described.userPoolClient?.defaultRedirectURI == "https://app.example.com/cb")
            let stray = try await c.failure(
                CreateUserPoolClientOperation.self,
                CreateUserPoolClientRequest(
                    userPoolId: pool, clientName: "web", callbackURLs: ["https://a.example.com/cb"],
                    defaultRedirectURI: "https://b.example.com/cb"))
            #expect(stray.message == "DefaultRedirectURI must be one of the CallbackURLs.")
        }
    }

    @Test("UpdateUserPoolClient: what the request leaves out returns to Cognito's defaults")
    func updateUserPoolClient() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let client = try await c.appClient(pool: pool, read: ["email"])
            let updated = try await c.call(
                UpdateUserPoolClientOperation.self,
                UpdateUserPoolClientRequest(userPoolId: pool, clientId: client.clientId!, clientName: "renamed"))
            #expect(updated.userPoolClient?.clientName == "renamed")
            #expect(updated.userPoolClient?.readAttributes == nil)
            #expect(updated.userPoolClient?.preventUserExistenceErrors == .legacy)
        }
    }

    @Test("DeleteUserPoolClient: gone, and its sign-ins with it")
    func deleteUserPoolClient() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let client = try await c.appClient(pool: pool).clientId!
            try await c.user(pool: pool, "alice")
            try await c.call(
                DeleteUserPoolClientOperation.self, DeleteUserPoolClientRequest(userPoolId: pool, clientId: client))
            let after = try await c.failure(
                InitiateAuthOperation.self,
                InitiateAuthRequest(
                    authFlow: .userPasswordAuth, authParameters: ["USERNAME": "alice", "PASSWORD": "Passw0rd!"],
                    clientId: client))
            #expect(after.type == "ResourceNotFoundException")
        }
    }

    @Test("ListUserPoolClients: every client of the pool, in pages")
    func listUserPoolClients() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            var made: Set<String> = []
            for _ in 0..<3 { made.insert(try await c.appClient(pool: pool).clientId!) }
            var seen: [String] = []
            var token: String?
            repeat {
                let page = try await c.call(
                    ListUserPoolClientsOperation.self,
                    ListUserPoolClientsRequest(userPoolId: pool, maxResults: 2, nextToken: token))
                seen += (page.userPoolClients ?? []).compactMap(\.clientId)
                token = page.nextToken
            } while token != nil
            #expect(Set(seen) == made && seen.count == 3)
        }
    }
}
