import CognitoModel
import Testing

@testable import UserPool

@Suite("Refresh-token rotation: the current token rotates, the one it replaced retries within grace")
struct RefreshRotationTests {
    static func rotating(grace: Int = 10) -> AppClient {
        var c = SignInFixtures.client()
        c.oauth.refreshTokenRotation = RefreshTokenRotationType(feature: .enabled, retryGracePeriodSeconds: grace)
        return c
    }

    @Test("first, second and a retry; after the grace period the old token is reuse")
    func lifecycle() throws {
        var user = SignInFixtures.user()
        #expect(try RefreshRotationRules.rotate(&user, origin: "o", from: nil, to: "r1", now: 100, grace: 10) == .rotate)
        #expect(try RefreshRotationRules.check(user, origin: "o", rotation: nil, now: 105) == .retry(current: "r1"))
        #expect(try RefreshRotationRules.check(user, origin: "o", rotation: "r1", now: 105) == .rotate)
        #expect(try RefreshRotationRules.rotate(&user, origin: "o", from: "r1", to: "r2", now: 106, grace: 10) == .rotate)
        #expect(try RefreshRotationRules.check(user, origin: "o", rotation: "r1", now: 110) == .retry(current: "r2"))
        #expect(throws: PoolError.self) { try RefreshRotationRules.check(user, origin: "o", rotation: "r1", now: 116) }
        #expect(throws: PoolError.self) { try RefreshRotationRules.check(user, origin: "o", rotation: nil, now: 107) }
        // Two refreshes with the same token at once: the second, checked on the written
        // record, is a retry and leaves it as it is.
        #expect(try RefreshRotationRules.rotate(&user, origin: "o", from: "r1", to: "r3", now: 107, grace: 10) == .retry(current: "r2"))
        #expect(user.refreshRotations?.first?.current == "r2")
    }

    @Test("a forgotten family is revoked, so its first token does not start over")
    func bounded() throws {
        var user = SignInFixtures.user()
        for i in 0...RefreshRotationRules.maxFamilies {
            _ = try RefreshRotationRules.rotate(&user, origin: "o\(i)", from: nil, to: "r", now: 1, grace: 0)
        }
        #expect(user.refreshRotations?.count == RefreshRotationRules.maxFamilies)
        #expect(user.revokedOrigins == ["o0"])
    }

    @Test("the machine: REFRESH_TOKEN_AUTH refused, a refresh asks for a rotation, then issues the new token")
    func machine() {
        let client = Self.rotating()
        var m = SignInFixtures.machine(client: client)
        guard case .fail(let e) = m.received(.initiate(.refreshTokenAuth, parameters: ["REFRESH_TOKEN": "x"], admin: false))
        else { Issue.record("REFRESH_TOKEN_AUTH allowed"); return }
        #expect(e.code == .invalidParameter)
        let token = RefreshTokenState(
            pool: SignInFixtures.pool.id, client: client.id, username: "alice", sub: SignInFixtures.user().sub,
            authTime: 7, origin: "o1")
        m = SignInFixtures.machine(client: client)
        guard case .open = m.received(.refresh(token: "sealed")) else { Issue.record("no open"); return }
        guard case .readUser = m.received(.opened(token.encoded, box: [])) else { Issue.record("no read"); return }
        guard case .rotateRefresh(_, let t) = m.received(.userRead(SignInFixtures.user())), t == token else {
            Issue.record("no rotation")
            return
        }
        guard case .issueRotated(_, let issued, "r1") = m.received(.rotated(SignInFixtures.user(), rotation: "r1")),
            issued.origin == "o1", issued.authTime == 7
        else { Issue.record("no tokens"); return }
    }

    @Test("the sealed token keeps its scopes and rotation id")
    func encoding() {
        let token = RefreshTokenState(
            pool: "p", client: "c", username: "u", sub: "s", authTime: 1, origin: "o", scopes: nil, rotation: "r")
        #expect(RefreshTokenState(decoding: token.encoded) == token)
        var scoped = token
        scoped.scopes = ["openid", "email"]
        #expect(RefreshTokenState(decoding: scoped.encoded) == scoped)
    }
}
