import AuthCrypto
import CognitoModel
import Foundation
import Testing

@testable import Front

@Suite("Multi-factor sign-in through the front")
struct MfaOperationTests {
    /// A pool with MFA OPTIONAL and TOTP on, a client, and `name` with a verified and
    /// preferred authenticator; returns (pool, client, the authenticator's secret).
    static func setUp(_ c: TestFront.Client, _ name: String) async throws -> (String, String, [UInt8]) {
        let pool = try await c.pool()
        let client = try await c.appClient(pool: pool).clientId!
        try await c.call(
            SetUserPoolMfaConfigOperation.self,
            SetUserPoolMfaConfigRequest(
                userPoolId: pool, softwareTokenMfaConfiguration: SoftwareTokenMfaConfigType(enabled: true),
                mfaConfiguration: .optional))
        try await c.user(pool: pool, name)
        let access = try #require(try await c.signIn(client: client, name).accessToken)
        let associated = try await c.call(
            AssociateSoftwareTokenOperation.self, AssociateSoftwareTokenRequest(accessToken: access))
        let code = try #require(associated.secretCode)
        let secret = try #require(Base32.decode(code))
        #expect(secret.count == TOTP.secretBytes)
        let now = Int64(c.clock.now)
        let verified = try await c.call(
            VerifySoftwareTokenOperation.self,
            VerifySoftwareTokenRequest(
                accessToken: access, userCode: TOTP.code(secret: secret, step: now / 30), friendlyDeviceName: "phone"))
        #expect(verified.status == .success)
        try await c.call(
            SetUserMFAPreferenceOperation.self,
            SetUserMFAPreferenceRequest(
                softwareTokenMfaSettings: SoftwareTokenMfaSettingsType(enabled: true, preferredMfa: true),
                accessToken: access))
        return (pool, client, secret)
    }

    static func challenge(_ c: TestFront.Client, _ client: String, _ name: String) async throws -> String {
        let r = try await c.call(
            InitiateAuthOperation.self,
            InitiateAuthRequest(
                authFlow: .userPasswordAuth, authParameters: ["USERNAME": name, "PASSWORD": TestFront.Client.password],
                clientId: client))
        #expect(r.challengeName == .softwareTokenMfa && r.authenticationResult == nil)
        return try #require(r.session)
    }

    static func answer(client: String, session: String, _ name: String, code: String) -> RespondToAuthChallengeRequest {
        RespondToAuthChallengeRequest(
            clientId: client, challengeName: .softwareTokenMfa, session: session,
            challengeResponses: ["USERNAME": name, "SOFTWARE_TOKEN_MFA_CODE": code])
    }

    @Test("SOFTWARE_TOKEN_MFA: a code of the next step answers once; as time moves on, new steps' codes work")
    func totpSteps() async throws {
        try await TestFront().run { c in
            let (_, client, secret) = try await Self.setUp(c, "tom")
            let step = Int64(c.clock.now) / 30
            // The step VerifySoftwareToken used is spent; the next one works, once.
            let spent = try await c.failure(
                RespondToAuthChallengeOperation.self,
                Self.answer(
                    client: client, session: try await Self.challenge(c, client, "tom"), "tom",
                    code: TOTP.code(secret: secret, step: step)))
            #expect(spent.type == "CodeMismatchException")
            let next = TOTP.code(secret: secret, step: step + 1)
            let session = try await Self.challenge(c, client, "tom")
            let done = try await c.call(
                RespondToAuthChallengeOperation.self, Self.answer(client: client, session: session, "tom", code: next))
            #expect(done.authenticationResult?.idToken != nil)
            let replay = try await c.failure(
                RespondToAuthChallengeOperation.self, Self.answer(client: client, session: session, "tom", code: next))
            #expect(replay.type == "CodeMismatchException")
            // Two steps on, that step's code is good again.
            c.clock.advance(60)
            let later = TOTP.code(secret: secret, step: Int64(c.clock.now) / 30)
            let again = try await c.call(
                RespondToAuthChallengeOperation.self,
                Self.answer(client: client, session: try await Self.challenge(c, client, "tom"), "tom", code: later))
            #expect(again.authenticationResult?.accessToken != nil)
        }
    }

    @Test("a pool that does not allow TOTP refuses to associate an authenticator")
    func totpNotAllowed() async throws {
        try await TestFront().run { c in
            let pool = try await c.pool()
            let client = try await c.appClient(pool: pool).clientId!
            try await c.user(pool: pool, "ned")
            let access = try #require(try await c.signIn(client: client, "ned").accessToken)
            let refused = try await c.failure(
                AssociateSoftwareTokenOperation.self, AssociateSoftwareTokenRequest(accessToken: access))
            #expect(refused.type == "SoftwareTokenMFANotFoundException")
        }
    }

    @Test("the session lives the client's AuthSessionValidity (3 minutes by default), not longer")
    func sessionLifetime() async throws {
        try await TestFront().run { c in
            let (_, client, secret) = try await Self.setUp(c, "sue")
            let session = try await Self.challenge(c, client, "sue")
            c.clock.advance(181)
            let code = TOTP.code(secret: secret, step: Int64(c.clock.now) / 30)
            let expired = try await c.failure(
                RespondToAuthChallengeOperation.self, Self.answer(client: client, session: session, "sue", code: code))
            #expect(expired.type == "NotAuthorizedException" && expired.message.contains("session"))
        }
    }

    @Test("five wrong codes lock the user like five wrong passwords: then even the right code is refused")
    func wrongCodesLock() async throws {
        try await TestFront().run { c in
            let (_, client, secret) = try await Self.setUp(c, "lee")
            let session = try await Self.challenge(c, client, "lee")
            let right = TOTP.code(secret: secret, step: Int64(c.clock.now) / 30 + 1)
            let wrong = String(format: "%06d", (Int(right)! + 1) % 1_000_000)
            for _ in 0..<5 {
                let refused = try await c.failure(
                    RespondToAuthChallengeOperation.self,
                    Self.answer(client: client, session: session, "lee", code: wrong))
                #expect(refused.type == "CodeMismatchException")
            }
            let locked = try await c.failure(
                RespondToAuthChallengeOperation.self, Self.answer(client: client, session: session, "lee", code: right))
            #expect(locked.type == "NotAuthorizedException" && locked.message == "Password attempts exceeded")
        }
    }
}
