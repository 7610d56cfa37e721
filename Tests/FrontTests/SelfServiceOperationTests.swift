import CognitoModel
import Testing

@testable import Front

@Suite("A signed-in user's own operations through the front")
struct SelfServiceOperationTests {
    /// A pool with a developer-only attribute, a client that reads and writes `name` and
    /// `email` only, and a signed-in user.
    static func signedIn(_ c: TestFront.Client) async throws -> (pool: String, tokens: AuthenticationResultType) {
        let pool = try await c.pool(
            CreateUserPoolRequest(
                poolName: "self",
                schema: [SchemaAttributeType(name: "tier", attributeDataType: .string, developerOnlyAttribute: true)]))
        let client = try await c.appClient(pool: pool, read: ["name", "email"], write: ["name", "email"]).clientId!
        try await c.user(pool: pool, "jan", attributes: ["name": "Jan", "dev:custom:tier": "gold", "nickname": "J"])
        return (pool, try await c.signIn(client: client, "jan"))
    }

    @Test("GetUser: what the client may read, with sub; never developer-only attributes")
    func getUser() async throws {
        try await TestFront().run { c in
            let (_, tokens) = try await Self.signedIn(c)
            let me = try await c.call(GetUserOperation.self, GetUserRequest(accessToken: tokens.accessToken!))
            let names = Set(me.userAttributes.map(\.name))
            #expect(names == ["name", "sub"])
            let bad = try await c.failure(GetUserOperation.self, GetUserRequest(accessToken: "not.a.token"))
            #expect(bad.type == "NotAuthorizedException" && bad.message == "Invalid Access Token")
        }
    }

    @Test("UpdateUserAttributes: allowed attributes change; others, and the verification flags, are refused")
    func updateUserAttributes() async throws {
        try await TestFront().run { c in
            let (pool, tokens) = try await Self.signedIn(c)
            try await c.call(
                UpdateUserAttributesOperation.self,
                UpdateUserAttributesRequest(
                    userAttributes: [AttributeType(name: "name", value: "Janet")], accessToken: tokens.accessToken!))
            #expect(try await c.attributes(pool: pool, "jan")["name"] == "Janet")
            for name in ["nickname", "email_verified", "dev:custom:tier"] {
                let refused = try await c.failure(
                    UpdateUserAttributesOperation.self,
                    UpdateUserAttributesRequest(
                        userAttributes: [AttributeType(name: name, value: "x")], accessToken: tokens.accessToken!))
                #expect(refused.type == "NotAuthorizedException" || refused.type == "InvalidParameterException")
            }
        }
    }

    @Test("DeleteUserAttributes: removes what the client may write")
    func deleteUserAttributes() async throws {
        try await TestFront().run { c in
            let (pool, tokens) = try await Self.signedIn(c)
            try await c.call(
                DeleteUserAttributesOperation.self,
                DeleteUserAttributesRequest(userAttributeNames: ["name"], accessToken: tokens.accessToken!))
            #expect(try await c.attributes(pool: pool, "jan")["name"] == nil)
            let refused = try await c.failure(
                DeleteUserAttributesOperation.self,
                DeleteUserAttributesRequest(userAttributeNames: ["nickname"], accessToken: tokens.accessToken!))
            #expect(refused.type == "NotAuthorizedException")
        }
    }

    @Test("ChangePassword: the previous password is checked and counted; the new one works")
    func changePassword() async throws {
        try await TestFront().run { c in
            let (pool, tokens) = try await Self.signedIn(c)
            let wrong = try await c.failure(
                ChangePasswordOperation.self,
                ChangePasswordRequest(
                    previousPassword: "Wrong-passw0rd", proposedPassword: "Next-passw0rd",
                    accessToken: tokens.accessToken!))
            #expect(wrong.message == "Incorrect username or password.")
            try await c.call(
                ChangePasswordOperation.self,
                ChangePasswordRequest(
                    previousPassword: "Passw0rd!", proposedPassword: "Next-passw0rd", accessToken: tokens.accessToken!))
            let client = try await c.call(
                ListUserPoolClientsOperation.self, ListUserPoolClientsRequest(userPoolId: pool)
            ).userPoolClients![0].clientId!
            _ = try await c.signIn(client: client, "jan", password: "Next-passw0rd")
        }
    }

    @Test("GlobalSignOut: the access token and refresh token stop working")
    func globalSignOut() async throws {
        let front = try TestFront()
        try await front.run { c in
            let (_, tokens) = try await Self.signedIn(c)
            front.clock.advance(1)
            try await c.call(GlobalSignOutOperation.self, GlobalSignOutRequest(accessToken: tokens.accessToken!))
            let after = try await c.failure(GetUserOperation.self, GetUserRequest(accessToken: tokens.accessToken!))
            #expect(after.message == "Access Token has been revoked")
        }
    }

    @Test("DeleteUser: the user is gone")
    func deleteUser() async throws {
        try await TestFront().run { c in
            let (pool, tokens) = try await Self.signedIn(c)
            try await c.call(DeleteUserOperation.self, DeleteUserRequest(accessToken: tokens.accessToken!))
            let gone = try await c.failure(
                AdminGetUserOperation.self, AdminGetUserRequest(userPoolId: pool, username: "jan"))
            #expect(gone.type == "UserNotFoundException")
        }
    }
}
