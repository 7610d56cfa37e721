import AuthCrypto
import CognitoModel
import Foundation
import Testing
import UserPool

@testable import Front

@Suite("Users through the front")
struct UserOperationTests {
    @Test("SignUp: UNCONFIRMED, its sub returned, one Raft write without aliases, three with an email alias")
    func signUp() async throws {
        let front = try TestFront()
        try await front.run { c in
            let pool = try await c.pool()
            let client = try await c.appClient(pool: pool).clientId!
            let before = front.shards.proposalCount
            let r = try await c.call(
                SignUpOperation.self, SignUpRequest(clientId: client, username: "bob", password: "Passw0rd!"))
            #expect(front.shards.proposalCount - before == 1)
            #expect(r.userConfirmed == false && r.userSub.count == 36)
            #expect(try await c.getUser(pool: pool, "bob").userStatus == .unconfirmed)

            let aliased = try await c.pool(CreateUserPoolRequest(poolName: "aliased", aliasAttributes: [.email]))
            let aliasedClient = try await c.appClient(pool: aliased).clientId!
            let start = front.shards.proposalCount
            try await c.call(
                SignUpOperation.self,
                SignUpRequest(
                    clientId: aliasedClient, username: "carol", password: "Passw0rd!",
                    userAttributes: [AttributeType(name: "email", value: "carol@example.com")]))
            #expect(front.shards.proposalCount - start == 3)

            let taken = try await c.failure(
                SignUpOperation.self, SignUpRequest(clientId: client, username: "bob", password: "Passw0rd!"))
            #expect(taken.type == "UsernameExistsException")
            // Pools are case sensitive unless UsernameConfiguration says otherwise (the API's default).
            try await c.call(
                SignUpOperation.self, SignUpRequest(clientId: client, username: "BOB", password: "Passw0rd!"))
            let weak = try await c.failure(
                SignUpOperation.self, SignUpRequest(clientId: client, username: "dan", password: "short"))
            #expect(weak.type == "InvalidPasswordException")
        }
    }

    @Test("SignUp in a pool with email as username: 'Username should be an email.'")
    func signUpEmailUsername() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool(CreateUserPoolRequest(poolName: "mail", usernameAttributes: [.email]))
            let client = try await c.appClient(pool: pool).clientId!
            let refused = try await c.failure(
                SignUpOperation.self, SignUpRequest(clientId: client, username: "erin", password: "Passw0rd!"))
            #expect(refused.message == "Username should be an email.")
            let ok = try await c.call(
                SignUpOperation.self,
                SignUpRequest(clientId: client, username: "Erin@Example.com", password: "Passw0rd!"))
            let user = try await c.getUser(pool: pool, "erin@example.com")
            #expect(user.username == ok.userSub)
        }
    }

    @Test("AdminCreateUser: FORCE_CHANGE_PASSWORD; no phone with the default medium (SMS) sends nothing, as Cognito")
    func adminCreateUser() async throws {
        let front = try TestFront()
        try await front.run { c in
            let pool = try await c.pool()
            let r = try await c.call(
                AdminCreateUserOperation.self,
                AdminCreateUserRequest(
                    userPoolId: pool, username: "fay", temporaryPassword: "Temp0rary!", messageAction: .suppress))
            #expect(r.user?.userStatus == .forceChangePassword)
            #expect(r.user?.enabled == true)
            // The default medium is SMS: no phone number, the user is created and nothing is sent.
            let noPhone = try await c.call(
                AdminCreateUserOperation.self, AdminCreateUserRequest(userPoolId: pool, username: "gus"))
            #expect(noPhone.user?.userStatus == .forceChangePassword)
            #expect(try await front.outbox().isEmpty)
            // A medium the request names that the user has no address for is refused.
            let noEmail = try await c.failure(
                AdminCreateUserOperation.self,
                AdminCreateUserRequest(userPoolId: pool, username: "gwen", desiredDeliveryMediums: [.email]))
            #expect(noEmail.type == "InvalidParameterException")
            // email_verified in any case, as Cognito accepts it.
            let flagged = try await c.call(
                AdminCreateUserOperation.self,
                AdminCreateUserRequest(
                    userPoolId: pool, username: "gabe",
                    userAttributes: [
                        AttributeType(name: "email", value: "gabe@x.io"),
                        AttributeType(name: "email_verified", value: "True"),
                    ], messageAction: .suppress))
            #expect(flagged.user?.attributes?.first { $0.name == "email_verified" }?.value == "true")
            try await c.call(
                AdminCreateUserOperation.self,
                AdminCreateUserRequest(
                    userPoolId: pool, username: "gil", userAttributes: [AttributeType(name: "email", value: "g@x.io")],
                    temporaryPassword: "Temp0rary!", desiredDeliveryMediums: [.email]))
            let queued = try await front.outbox()
            #expect(queued.count == 1 && queued[0].message.kind == .invitation)
            #expect(queued[0].message.text == "Your username is gil and temporary password is Temp0rary!. ")
            let unknown = try await c.failure(
                AdminCreateUserOperation.self,
                AdminCreateUserRequest(
                    userPoolId: pool, username: "hal",
                    userAttributes: [
                        AttributeType(name: "shoe", value: "1"), AttributeType(name: "custom:x", value: "2"),
                    ], messageAction: .suppress))
            #expect(unknown.message.contains("shoe: Attribute does not exist in the schema."))
            #expect(unknown.message.contains("custom:x: Attribute does not exist in the schema."))
        }
    }

    @Test("AdminGetUser: attributes with sub, no UserMFASettingList while the user has none")
    func adminGetUser() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool(
                CreateUserPoolRequest(
                    poolName: "insensitive", usernameConfiguration: UsernameConfigurationType(caseSensitive: false)))
            try await c.user(pool: pool, "ivy", attributes: ["email": "ivy@example.com"])
            let user = try await c.getUser(pool: pool, "IVY")
            #expect(user.username == "ivy")
            #expect(user.userMFASettingList == nil)
            #expect(user.userStatus == .confirmed)
            let attributes = try await c.attributes(pool: pool, "ivy")
            #expect(attributes["email"] == "ivy@example.com" && attributes["sub"]?.count == 36)
            let missing = try await c.failure(
                AdminGetUserOperation.self, AdminGetUserRequest(userPoolId: pool, username: "nobody"))
            #expect(missing.type == "UserNotFoundException" && missing.message == "User does not exist.")
        }
    }

    @Test("AdminConfirmSignUp: UNCONFIRMED becomes CONFIRMED, only once")
    func adminConfirmSignUp() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let client = try await c.appClient(pool: pool).clientId!
            try await c.call(
                SignUpOperation.self, SignUpRequest(clientId: client, username: "jo", password: "Passw0rd!"))
            try await c.call(
                AdminConfirmSignUpOperation.self, AdminConfirmSignUpRequest(userPoolId: pool, username: "jo"))
            #expect(try await c.getUser(pool: pool, "jo").userStatus == .confirmed)
            let again = try await c.failure(
                AdminConfirmSignUpOperation.self, AdminConfirmSignUpRequest(userPoolId: pool, username: "jo"))
            #expect(again.message == "User cannot be confirmed. Current status is CONFIRMED")
        }
    }

    @Test("AdminDeleteUser: gone, its email free again, the count down")
    func adminDeleteUser() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool(CreateUserPoolRequest(poolName: "aliased", aliasAttributes: [.email]))
            try await c.user(pool: pool, "kim", attributes: ["email": "kim@example.com"])
            try await c.call(AdminDeleteUserOperation.self, AdminDeleteUserRequest(userPoolId: pool, username: "kim"))
            let gone = try await c.failure(
                AdminGetUserOperation.self, AdminGetUserRequest(userPoolId: pool, username: "kim"))
            #expect(gone.type == "UserNotFoundException")
            try await c.user(pool: pool, "kim2", attributes: ["email": "kim@example.com", "email_verified": "true"])
            #expect(try await c.getUser(pool: pool, "kim@example.com").username == "kim2")
        }
    }

    @Test("AdminSetUserPassword: permanent confirms; temporary asks for a new one; policy enforced")
    func adminSetUserPassword() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let client = try await c.appClient(pool: pool).clientId!
            try await c.user(pool: pool, "lee")
            _ = try await c.signIn(client: client, "lee")
            try await c.call(
                AdminSetUserPasswordOperation.self,
                AdminSetUserPasswordRequest(
                    userPoolId: pool, username: "lee", password: "Temp-0rary!", permanent: false))
            #expect(try await c.getUser(pool: pool, "lee").userStatus == .forceChangePassword)
            let weak = try await c.failure(
                AdminSetUserPasswordOperation.self,
                AdminSetUserPasswordRequest(userPoolId: pool, username: "lee", password: "alllowercase1!"))
            #expect(weak.type == "InvalidPasswordException")
            #expect(weak.message.contains("Password must have uppercase characters"))
        }
    }

    @Test("AdminEnableUser / AdminDisableUser: a disabled user cannot sign in, an enabled one can")
    func adminEnableDisableUser() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let client = try await c.appClient(pool: pool).clientId!
            try await c.user(pool: pool, "max")
            try await c.call(AdminDisableUserOperation.self, AdminDisableUserRequest(userPoolId: pool, username: "max"))
            #expect(try await c.getUser(pool: pool, "max").enabled == false)
            let refused = try await c.failure(
                InitiateAuthOperation.self,
                InitiateAuthRequest(
                    authFlow: .userPasswordAuth, authParameters: ["USERNAME": "max", "PASSWORD": "Passw0rd!"],
                    clientId: client))
            #expect(refused.message == "User is disabled.")
            try await c.call(AdminEnableUserOperation.self, AdminEnableUserRequest(userPoolId: pool, username: "max"))
            _ = try await c.signIn(client: client, "max")
        }
    }

    @Test("AdminUpdateUserAttributes: a changed email is unverified unless the admin says so; sub is not writable")
    func adminUpdateUserAttributes() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            try await c.user(pool: pool, "ned", attributes: ["email": "ned@example.com", "email_verified": "true"])
            try await c.call(
                AdminUpdateUserAttributesOperation.self,
                AdminUpdateUserAttributesRequest(
                    userPoolId: pool, username: "ned",
                    userAttributes: [AttributeType(name: "email", value: "ned2@example.com")]))
            #expect(try await c.attributes(pool: pool, "ned")["email_verified"] == "false")
            let sub = try await c.failure(
                AdminUpdateUserAttributesOperation.self,
                AdminUpdateUserAttributesRequest(
                    userPoolId: pool, username: "ned", userAttributes: [AttributeType(name: "sub", value: "x")]))
            #expect(sub.message == "Cannot modify the non-mutable attribute sub")
        }
    }

    @Test("AdminDeleteUserAttributes: each bad name on its own line, as Cognito words it")
    func adminDeleteUserAttributes() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            try await c.user(pool: pool, "oli", attributes: ["name": "Oli", "email": "oli@example.com"])
            try await c.call(
                AdminDeleteUserAttributesOperation.self,
                AdminDeleteUserAttributesRequest(userPoolId: pool, username: "oli", userAttributeNames: ["name"]))
            #expect(try await c.attributes(pool: pool, "oli")["name"] == nil)
            let bad = try await c.failure(
                AdminDeleteUserAttributesOperation.self,
                AdminDeleteUserAttributesRequest(
                    userPoolId: pool, username: "oli", userAttributeNames: ["shoe", "custom:hat"]))
            #expect(
                bad.message
                    == "user.shoe: Attribute does not exist in the schema.\n"
                    + "user.custom:hat: Attribute does not exist in the schema.\n")
        }
    }

    @Test("AdminResetUserPassword: RESET_REQUIRED, sign-in says so, and the code sent sets a new password")
    func adminResetUserPassword() async throws {
        let front = try TestFront()
        try await front.run { c in
            let pool = try await c.pool()
            let client = try await c.appClient(pool: pool).clientId!
            try await c.user(pool: pool, "pat", attributes: ["email": "pat@x.io", "email_verified": "true"])
            try await c.call(
                AdminResetUserPasswordOperation.self, AdminResetUserPasswordRequest(userPoolId: pool, username: "pat"))
            #expect(try await c.getUser(pool: pool, "pat").userStatus == .resetRequired)
            let refused = try await c.failure(
                InitiateAuthOperation.self,
                InitiateAuthRequest(
                    authFlow: .userPasswordAuth, authParameters: ["USERNAME": "pat", "PASSWORD": "Passw0rd!"],
                    clientId: client))
            #expect(refused.type == "PasswordResetRequiredException")
            let code = try #require(try await front.outbox().first { $0.message.kind == .resetPassword }).message.code
            try await c.call(
                ConfirmForgotPasswordOperation.self,
                ConfirmForgotPasswordRequest(
                    clientId: client, username: "pat", confirmationCode: code, password: "N3wPassw0rd!"))
            #expect(try await c.getUser(pool: pool, "pat").userStatus == .confirmed)
            _ = try await c.signIn(client: client, "pat", password: "N3wPassw0rd!")
            // Used once.
            let again = try await c.failure(
                ConfirmForgotPasswordOperation.self,
                ConfirmForgotPasswordRequest(
                    clientId: client, username: "pat", confirmationCode: code, password: "Other0ne!x"))
            #expect(again.type == "CodeMismatchException")
        }
    }

    @Test("The outbox holds sealed messages: no code or address in what shards keep; the delivery key opens them")
    func sealedOutbox() async throws {
        let pair = DeliveryBox.generate()
        let front = try TestFront(outboxSealer: try DeliverySealer(publicKey: pair.publicKey))
        let opener = try DeliveryOpener(privateKey: pair.privateKey)
        try await front.run { c in
            let pool = try await c.pool()
            let client = try await c.appClient(pool: pool).clientId!
            try await c.user(pool: pool, "sam", attributes: ["email": "sam@x.io", "email_verified": "true"])
            try await c.call(
                AdminResetUserPasswordOperation.self, AdminResetUserPasswordRequest(userPoolId: pool, username: "sam"))
            let queued = try #require(try await front.outbox().first { $0.message.kind == .resetPassword }).message
            #expect(queued.code.isEmpty && queued.destination.isEmpty && queued.text.isEmpty)
            let sealed = try #require(queued.sealed)
            #expect(!String(decoding: try JSONEncoder().encode(queued), as: UTF8.self).contains("sam@x.io"))
            // Another key does not open it; one altered byte does not open.
            let stranger = try DeliveryOpener(privateKey: DeliveryBox.generate().privateKey)
            #expect(throws: (any Error).self) { try queued.opened(with: stranger.open) }
            var altered = queued
            altered.sealed![sealed.count - 1] ^= 1
            #expect(throws: (any Error).self) { try altered.opened(with: opener.open) }
            let message = try queued.opened(with: opener.open)
            #expect(message.destination == "sam@x.io" && message.text.contains(message.code))
            #expect(!String(decoding: Data(sealed), as: UTF8.self).contains(message.code))
            try await c.call(
                ConfirmForgotPasswordOperation.self,
                ConfirmForgotPasswordRequest(
                    clientId: client, username: "sam", confirmationCode: message.code, password: "N3wPassw0rd!"))
            _ = try await c.signIn(client: client, "sam", password: "N3wPassw0rd!")
        }
    }

    @Test("AdminUserGlobalSignOut: the user's refresh tokens stop working")
    func adminUserGlobalSignOut() async throws {
        let front = try TestFront()
        try await front.run { c in
            let pool = try await c.pool()
            let client = try await c.appClient(pool: pool).clientId!
            try await c.user(pool: pool, "quinn")
            let tokens = try await c.signIn(client: client, "quinn")
            front.clock.advance(1)
            try await c.call(
                AdminUserGlobalSignOutOperation.self, AdminUserGlobalSignOutRequest(userPoolId: pool, username: "quinn")
            )
            let refused = try await c.failure(
                InitiateAuthOperation.self,
                InitiateAuthRequest(
                    authFlow: .refreshTokenAuth, authParameters: ["REFRESH_TOKEN": tokens.refreshToken!],
                    clientId: client))
            #expect(refused.message == "Refresh Token has been revoked")
        }
    }

    @Test("ListUsers: every user across shards, a filter, and no PaginationToken on the last page")
    func listUsers() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            for i in 0..<9 {
                try await c.user(pool: pool, "user\(i)", attributes: ["name": i % 2 == 0 ? "even" : "odd"])
            }
            var seen: [String] = []
            var token: String?
            var pages = 0
            repeat {
                let page = try await c.call(
                    ListUsersOperation.self, ListUsersRequest(userPoolId: pool, limit: 4, paginationToken: token))
                seen += (page.users ?? []).compactMap(\.username)
                token = page.paginationToken
                pages += 1
            } while token != nil && pages < 10
            #expect(Set(seen) == Set((0..<9).map { "user\($0)" }) && seen.count == 9)
            let even = try await c.call(
                ListUsersOperation.self, ListUsersRequest(userPoolId: pool, filter: "name = \"even\""))
            #expect(even.users?.count == 5 && even.paginationToken == nil)
            let bad = try await c.failure(
                ListUsersOperation.self, ListUsersRequest(userPoolId: pool, filter: "shoe = \"x\""))
            #expect(bad.message == "Invalid search attribute: shoe")
        }
    }
}
