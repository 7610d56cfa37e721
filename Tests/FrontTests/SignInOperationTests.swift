import AuthCrypto
import CognitoModel
import Foundation
import Testing

@testable import Front

extension TestFront.Client {
    /// USER_SRP_AUTH then PASSWORD_VERIFIER, as pycognito does it.
    func srpSignIn(pool: String, client: String, _ name: String, password: String = Self.password) async throws
        -> RespondToAuthChallengeResponse
    {
        try await call(
            RespondToAuthChallengeOperation.self,
            try await srpAnswer(pool: pool, client: client, name, password: password))
    }

    /// USER_SRP_AUTH, and the PASSWORD_VERIFIER request that answers it.
    func srpAnswer(pool: String, client: String, _ name: String, password: String = Self.password) async throws
        -> RespondToAuthChallengeRequest
    {
        var rng = SystemRandomNumberGenerator()
        let srp = SRPClient(poolName: SRPHash.poolName(fromPoolId: pool), password: password, using: &rng)
        let first = try await call(
            InitiateAuthOperation.self,
            InitiateAuthRequest(
                authFlow: .userSrpAuth, authParameters: ["USERNAME": name, "SRP_A": srp.AHex], clientId: client))
        #expect(first.challengeName == .passwordVerifier)
        let p = try #require(first.challengeParameters)
        let block = try #require(p["SECRET_BLOCK"])
        let timestamp = CognitoTimestamp.format(Int64(clock.now))
        let signature = try srp.signature(
            userIdForSrp: try #require(p["USER_ID_FOR_SRP"]), BHex: try #require(p["SRP_B"]),
            saltHex: try #require(p["SALT"]), secretBlock: try #require(Base64.decode(block)), timestamp: timestamp)
        return RespondToAuthChallengeRequest(
            clientId: client, challengeName: .passwordVerifier,
            challengeResponses: [
                "USERNAME": p["USERNAME"] ?? name, "PASSWORD_CLAIM_SECRET_BLOCK": block,
                "PASSWORD_CLAIM_SIGNATURE": signature, "TIMESTAMP": timestamp,
            ])
    }
}

@Suite("Sign-in through the front")
struct SignInOperationTests {
    @Test("InitiateAuth USER_SRP_AUTH + RespondToAuthChallenge: tokens for the right password, refusal for a wrong one")
    func srp() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let client = try await c.appClient(pool: pool).clientId!
            try await c.user(pool: pool, "amy")
            let r = try await c.srpSignIn(pool: pool, client: client, "amy")
            #expect(r.authenticationResult?.accessToken != nil && r.authenticationResult?.refreshToken != nil)
            await #expect(throws: APIFailure.self) {
                try await c.srpSignIn(pool: pool, client: client, "amy", password: "Wrong-passw0rd")
            }
        }
    }

    @Test("a PASSWORD_VERIFIER answer replayed (the same SECRET_BLOCK) gets no tokens and counts no failure")
    func srpReplayRefused() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let client = try await c.appClient(pool: pool).clientId!
            try await c.user(pool: pool, "amy")
            let answer = try await c.srpAnswer(pool: pool, client: client, "amy")
            let first = try await c.call(RespondToAuthChallengeOperation.self, answer)
            #expect(first.authenticationResult?.accessToken != nil)
            for _ in 0..<6 {
                let replay = try await c.failure(RespondToAuthChallengeOperation.self, answer)
                #expect(replay.type == "NotAuthorizedException" && replay.message.contains("Invalid session"))
            }
            // Nothing was counted against amy: she still signs in.
            #expect(try await c.srpSignIn(pool: pool, client: client, "amy").authenticationResult != nil)
        }
    }

    @Test("InitiateAuth USER_PASSWORD_AUTH: Cognito's claims and no others")
    func initiateAuthPassword() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let client = try await c.appClient(pool: pool).clientId!
            try await c.user(pool: pool, "ben", attributes: ["email": "ben@example.com"])
            let tokens = try await c.signIn(client: client, "ben")
            #expect(tokens.tokenType == "Bearer" && tokens.expiresIn == 3600)
            let id = try jwtClaims(tokens.idToken)
            #expect(
                Set(id.keys) == [
                    "sub", "iss", "cognito:username", "origin_jti", "aud", "event_id", "token_use", "auth_time",
                    "exp", "iat", "jti", "email", "email_verified", "amr",
                ])
            #expect(id["email_verified"] == .bool(false) && id["token_use"] == .string("id"))
            #expect(id["amr"] == .array([.string("pwd")]))
            let access = try jwtClaims(tokens.accessToken)
            #expect(
                Set(access.keys) == [
                    "sub", "iss", "client_id", "origin_jti", "event_id", "token_use", "scope", "auth_time", "exp",
                    "iat", "jti", "username",
                ])
            #expect(access["origin_jti"] == id["origin_jti"])
        }
    }

    @Test("InitiateAuth: a flow the client does not allow, and a disallowed admin flow, are refused")
    func initiateAuthFlows() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let srpOnly = try await c.appClient(pool: pool, flows: [.allowUserSrpAuth]).clientId!
            let refused = try await c.failure(
                InitiateAuthOperation.self,
                InitiateAuthRequest(
                    authFlow: .userPasswordAuth, authParameters: ["USERNAME": "x", "PASSWORD": "y"], clientId: srpOnly))
            #expect(refused.message == "USER_PASSWORD_AUTH flow not enabled for this client")
            let admin = try await c.failure(
                InitiateAuthOperation.self,
                InitiateAuthRequest(
                    authFlow: .adminUserPasswordAuth, authParameters: ["USERNAME": "x", "PASSWORD": "y"],
                    clientId: srpOnly))
            #expect(admin.type == "InvalidParameterException")
            let custom = try await c.failure(
                InitiateAuthOperation.self,
                InitiateAuthRequest(authFlow: .customAuth, authParameters: ["USERNAME": "x"], clientId: srpOnly))
            #expect(custom.type == "UnsupportedOperationException")
        }
    }

    @Test("PreventUserExistenceErrors: ENABLED hides an unknown user, LEGACY names it")
    func userExistence() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let hides = try await c.appClient(pool: pool, prevent: .enabled).clientId!
            let legacy = try await c.appClient(pool: pool, prevent: .legacy).clientId!
            let params = ["USERNAME": "ghost", "PASSWORD": "Passw0rd!"]
            let hidden = try await c.failure(
                InitiateAuthOperation.self,
                InitiateAuthRequest(authFlow: .userPasswordAuth, authParameters: params, clientId: hides))
            #expect(hidden.type == "NotAuthorizedException" && hidden.message == "Incorrect username or password.")
            let named = try await c.failure(
                InitiateAuthOperation.self,
                InitiateAuthRequest(authFlow: .userPasswordAuth, authParameters: params, clientId: legacy))
            #expect(named.type == "UserNotFoundException")
        }
    }

    @Test("Lockout: five wrong passwords, then 'Password attempts exceeded' even for the right one")
    func lockout() async throws {
        let front = try TestFront()
        try await front.run { c in
            let pool = try await c.pool()
            let client = try await c.appClient(pool: pool).clientId!
            try await c.user(pool: pool, "cat")
            var messages: [String] = []
            for _ in 0..<6 {
                let f = try await c.failure(
                    InitiateAuthOperation.self,
                    InitiateAuthRequest(
                        authFlow: .userPasswordAuth, authParameters: ["USERNAME": "cat", "PASSWORD": "Wrong-pw1"],
                        clientId: client))
                messages.append(f.message)
            }
            #expect(messages.prefix(5).allSatisfy { $0 == "Incorrect username or password." })
            #expect(messages[5] == "Password attempts exceeded")
            let locked = try await c.failure(
                InitiateAuthOperation.self,
                InitiateAuthRequest(
                    authFlow: .userPasswordAuth, authParameters: ["USERNAME": "cat", "PASSWORD": "Passw0rd!"],
                    clientId: client))
            #expect(locked.message == "Password attempts exceeded")
            front.clock.advance(30)
            _ = try await c.signIn(client: client, "cat")
        }
    }

    @Test("A client with a secret needs SECRET_HASH")
    func secretHash() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let app = try await c.appClient(pool: pool, secret: true)
            try await c.user(pool: pool, "dee")
            let missing = try await c.failure(
                InitiateAuthOperation.self,
                InitiateAuthRequest(
                    authFlow: .userPasswordAuth, authParameters: ["USERNAME": "dee", "PASSWORD": "Passw0rd!"],
                    clientId: app.clientId!))
            #expect(missing.type == "NotAuthorizedException")
            let hash = SecretHash.compute(clientSecret: app.clientSecret!, username: "dee", clientId: app.clientId!)
            _ = try await c.signIn(client: app.clientId!, "dee", secretHash: hash)
        }
    }

    @Test("AdminInitiateAuth ADMIN_USER_PASSWORD_AUTH: tokens, only with the pool the client belongs to")
    func adminInitiateAuth() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let other = try await c.pool(CreateUserPoolRequest(poolName: "other"))
            let client = try await c.appClient(pool: pool).clientId!
            try await c.user(pool: pool, "eve")
            let params = ["USERNAME": "eve", "PASSWORD": "Passw0rd!"]
            let r = try await c.call(
                AdminInitiateAuthOperation.self,
                AdminInitiateAuthRequest(
                    userPoolId: pool, clientId: client, authFlow: .adminUserPasswordAuth, authParameters: params))
            #expect(r.authenticationResult?.idToken != nil)
            let elsewhere = try await c.failure(
                AdminInitiateAuthOperation.self,
                AdminInitiateAuthRequest(
                    userPoolId: other, clientId: client, authFlow: .adminUserPasswordAuth, authParameters: params))
            #expect(elsewhere.type == "ResourceNotFoundException")
        }
    }

    @Test("RespondToAuthChallenge NEW_PASSWORD_REQUIRED: a temporary password leads to a chosen one")
    func newPasswordRequired() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let client = try await c.appClient(pool: pool).clientId!
            try await c.call(
                AdminCreateUserOperation.self,
                AdminCreateUserRequest(
                    userPoolId: pool, username: "fin", temporaryPassword: "Temp0rary!", messageAction: .suppress))
            let first = try await c.call(
                InitiateAuthOperation.self,
                InitiateAuthRequest(
                    authFlow: .userPasswordAuth, authParameters: ["USERNAME": "fin", "PASSWORD": "Temp0rary!"],
                    clientId: client))
            #expect(first.challengeName == .newPasswordRequired)
            let session = try #require(first.session)
            #expect(session.allSatisfy { $0.isLetter || $0.isNumber || "-_=.".contains($0) })
            // Disabled after the challenge was issued: the session sets no password.
            try await c.call(AdminDisableUserOperation.self, AdminDisableUserRequest(userPoolId: pool, username: "fin"))
            let disabled = try await c.failure(
                RespondToAuthChallengeOperation.self,
                RespondToAuthChallengeRequest(
                    clientId: client, challengeName: .newPasswordRequired, session: session,
                    challengeResponses: ["USERNAME": "fin", "NEW_PASSWORD": "Chosen-passw0rd"]))
            #expect(disabled.type == "NotAuthorizedException" && disabled.message == "User is disabled.")
            #expect(try await c.getUser(pool: pool, "fin").userStatus == .forceChangePassword)
            try await c.call(AdminEnableUserOperation.self, AdminEnableUserRequest(userPoolId: pool, username: "fin"))
            let done = try await c.call(
                RespondToAuthChallengeOperation.self,
                RespondToAuthChallengeRequest(
                    clientId: client, challengeName: .newPasswordRequired, session: session,
                    challengeResponses: ["USERNAME": "fin", "NEW_PASSWORD": "Chosen-passw0rd"]))
            #expect(done.authenticationResult?.accessToken != nil)
            #expect(try await c.getUser(pool: pool, "fin").userStatus == .confirmed)
            let forged = try await c.failure(
                RespondToAuthChallengeOperation.self,
                RespondToAuthChallengeRequest(
                    clientId: client, challengeName: .newPasswordRequired, session: String(repeating: "A", count: 40),
                    challengeResponses: ["USERNAME": "fin", "NEW_PASSWORD": "Chosen-passw0rd"]))
            #expect(forged.message == "Invalid session for the user, session is expired.")
        }
    }

    @Test("AdminRespondToAuthChallenge: the same challenge, answered with the pool named")
    func adminRespondToAuthChallenge() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let client = try await c.appClient(pool: pool).clientId!
            try await c.call(
                AdminCreateUserOperation.self,
                AdminCreateUserRequest(
                    userPoolId: pool, username: "gil", temporaryPassword: "Temp0rary!", messageAction: .suppress))
            let first = try await c.call(
                AdminInitiateAuthOperation.self,
                AdminInitiateAuthRequest(
                    userPoolId: pool, clientId: client, authFlow: .adminUserPasswordAuth,
                    authParameters: ["USERNAME": "gil", "PASSWORD": "Temp0rary!"]))
            let done = try await c.call(
                AdminRespondToAuthChallengeOperation.self,
                AdminRespondToAuthChallengeRequest(
                    userPoolId: pool, clientId: client, challengeName: .newPasswordRequired,
                    challengeResponses: ["USERNAME": "gil", "NEW_PASSWORD": "Chosen-passw0rd"], session: first.session))
            #expect(done.authenticationResult?.idToken != nil)
        }
    }

    @Test("REFRESH_TOKEN_AUTH and GetTokensFromRefreshToken: new tokens of the same family and auth_time")
    func getTokensFromRefreshToken() async throws {
        let front = try TestFront()
        try await front.run { c in
            let pool = try await c.pool()
            let client = try await c.appClient(pool: pool).clientId!
            try await c.user(pool: pool, "hana")
            let tokens = try await c.signIn(client: client, "hana")
            let refresh = try #require(tokens.refreshToken)
            #expect(refresh.allSatisfy { $0.isLetter || $0.isNumber || "-_=.".contains($0) })
            front.clock.advance(60)
            let again = try await c.call(
                GetTokensFromRefreshTokenOperation.self,
                GetTokensFromRefreshTokenRequest(refreshToken: refresh, clientId: client))
            let before = try jwtClaims(tokens.idToken)
            let after = try jwtClaims(again.authenticationResult?.idToken)
            #expect(after["auth_time"] == before["auth_time"] && after["origin_jti"] == before["origin_jti"])
            #expect(after["iat"] != before["iat"])
            #expect(again.authenticationResult?.refreshToken == nil)
            let viaAuth = try await c.call(
                InitiateAuthOperation.self,
                InitiateAuthRequest(
                    authFlow: .refreshTokenAuth, authParameters: ["REFRESH_TOKEN": refresh], clientId: client))
            #expect(viaAuth.authenticationResult?.accessToken != nil)
            let junk = try await c.failure(
                GetTokensFromRefreshTokenOperation.self,
                GetTokensFromRefreshTokenRequest(refreshToken: "abc.def", clientId: client))
            #expect(junk.message == "Invalid Refresh Token")
        }
    }

    @Test("RevokeToken: that family's refresh and access tokens stop working, another sign-in's do not")
    func revokeToken() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let client = try await c.appClient(pool: pool).clientId!
            try await c.user(pool: pool, "ida")
            let one = try await c.signIn(client: client, "ida")
            let two = try await c.signIn(client: client, "ida")
            try await c.call(
                RevokeTokenOperation.self, RevokeTokenRequest(token: one.refreshToken!, clientId: client))
            let revoked = try await c.failure(
                GetUserOperation.self, GetUserRequest(accessToken: one.accessToken!))
            #expect(revoked.message == "Access Token has been revoked")
            let refresh = try await c.failure(
                GetTokensFromRefreshTokenOperation.self,
                GetTokensFromRefreshTokenRequest(refreshToken: one.refreshToken!, clientId: client))
            #expect(refresh.message == "Refresh Token has been revoked")
            let kept = try await c.call(GetUserOperation.self, GetUserRequest(accessToken: two.accessToken!))
            #expect(kept.username == "ida")
        }
    }
}
