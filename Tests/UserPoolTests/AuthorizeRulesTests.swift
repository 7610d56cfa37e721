import CognitoModel
import Crypto
import Testing

@testable import AuthCrypto
@testable import UserPool

@Suite("/oauth2/authorize: requests, codes, PKCE and callback URLs")
struct AuthorizeRulesTests {
    static let callback = "https://app.example.com/cb"

    static func client(flows: [OAuthFlowType] = [.code, .implicit]) -> AppClient {
        var c = SignInFixtures.client(secret: "s3cret")
        c.oauth.allowedOAuthFlowsUserPoolClient = true
        c.oauth.allowedOAuthFlows = flows
        c.oauth.allowedOAuthScopes = ["openid", "email"]
        c.oauth.callbackURLs = [callback]
        c.oauth.supportedIdentityProviders = ["COGNITO"]
        return c
    }

    static func query(_ extra: [String: String?] = [:]) -> [String: String] {
        var q = ["client_id": client().id, "redirect_uri": callback, "response_type": "code", "state": "s"]
        for (k, v) in extra { q[k] = v }
        return q
    }

    static func refusal(_ q: [String: String], client: AppClient? = client()) -> AuthorizeRules.Refusal? {
        do {
            _ = try AuthorizeRules.check(q, client: client)
            return nil
        } catch {
            return error
        }
    }

    @Test("a good request: all the client's scopes unless asked for fewer")
    func accepted() throws {
        let r = try AuthorizeRules.check(Self.query(), client: Self.client())
        #expect(r.scopes == ["openid", "email"] && r.responseType == .code && r.state == "s")
        #expect(try AuthorizeRules.check(Self.query(["scope": "openid openid"]), client: Self.client()).scopes == ["openid"])
    }

    @Test("no client, or a redirect URI that is not the client's: a page, never a redirect")
    func pages() {
        guard case .page = Self.refusal(Self.query(), client: nil) else { Issue.record("no client"); return }
        guard case .page = Self.refusal(Self.query(["redirect_uri": "https://evil.example/cb"])) else {
            Issue.record("foreign redirect")
            return
        }
    }

    @Test("other refusals go back to the client with an OAuth error")
    func redirects() {
        func code(_ extra: [String: String?], client: AppClient = Self.client()) -> String? {
            if case .redirect(let error, _) = Self.refusal(Self.query(extra), client: client) { return error }
            return nil
        }
        #expect(code(["scope": "openid phone"]) == "invalid_scope")
        #expect(code(["response_type": "id_token"]) == "unsupported_response_type")
        #expect(code(["response_type": "token"], client: Self.client(flows: [.code])) == "unauthorized_client")
        #expect(code(["code_challenge": String(repeating: "a", count: 43), "code_challenge_method": "plain"]) == "invalid_request")
        #expect(code(["code_challenge": "short", "code_challenge_method": "S256"]) == "invalid_request")
        #expect(code(["identity_provider": "Google"]) == "invalid_request")
    }

    @Test("PKCE S256: the verifier's hash must be the challenge")
    func pkce() {
        let verifier = String(repeating: "v", count: 50)
        let challenge = Base64URL.encode(Array(SHA256.hash(data: Array(verifier.utf8))))
        #expect(AuthorizeRules.pkceMatches(verifier: verifier, challenge: challenge))
        #expect(!AuthorizeRules.pkceMatches(verifier: verifier + "x", challenge: challenge))
        #expect(!AuthorizeRules.pkceMatches(verifier: "short", challenge: challenge))
    }

    @Test("a code is sealed and opened whole, and redeemed only by its client, URI and verifier")
    func codes() throws {
        let request = try AuthorizeRules.check(
            Self.query(["nonce": "n", "code_challenge": String(repeating: "c", count: 43), "code_challenge_method": "S256"]),
            client: Self.client())
        let code = AuthorizationCodeState(
            id: "id", pool: "p", request: request, username: "ann", sub: "sub", authTime: 5, expiresAt: 305)
        #expect(AuthorizationCodeState(decoding: code.encoded) == code)
        #expect(AuthorizationCodeState(decoding: Array(code.encoded.dropLast())) == nil)
        #expect(AuthorizeRules.redeem(code, clientId: "other", redirectURI: Self.callback, verifier: nil) != nil)
        #expect(AuthorizeRules.redeem(code, clientId: Self.client().id, redirectURI: "https://x/cb", verifier: nil) != nil)
        #expect(AuthorizeRules.redeem(code, clientId: Self.client().id, redirectURI: Self.callback, verifier: nil) != nil)
    }

    @Test("a code is used once; expired ones are forgotten")
    func usedOnce() throws {
        var user = SignInFixtures.user()
        try AuthorizeRules.use(&user, id: "a", expiresAt: 100, now: 10)
        #expect(throws: PoolError.self) { try AuthorizeRules.use(&user, id: "a", expiresAt: 100, now: 20) }
        try AuthorizeRules.use(&user, id: "b", expiresAt: 400, now: 200)
        #expect(user.usedCodes?.map(\.id) == ["b"])
    }

    @Test("callback URLs: absolute, no fragment, HTTPS unless on this machine")
    func urls() {
        for good in ["https://app.example.com/cb", "http://localhost:3000/cb", "http://127.0.0.1/cb", "myapp://cb"] {
            #expect(AuthorizeRules.validURL(good), "\(good)")
        }
        for bad in ["http://app.example.com/cb", "/cb", "https://app.example.com/cb#x", "https:", "1app://x"] {
            #expect(!AuthorizeRules.validURL(bad), "\(bad)")
        }
        var oauth = ClientOAuthSettings()
        oauth.allowedOAuthFlows = [.code]
        #expect(throws: PoolError.self) { try AuthorizeRules.checkClientSettings(oauth) }
        oauth.callbackURLs = ["https://app.example.com/cb"]
        oauth.allowedOAuthScopes = ["email"]
        #expect(throws: PoolError.self) { try AuthorizeRules.checkClientSettings(oauth) }
        oauth.allowedOAuthScopes = ["openid", "email"]
        #expect(throws: Never.self) { try AuthorizeRules.checkClientSettings(oauth) }
    }

    @Test("userInfo: openid alone reaches every readable attribute; email only email's")
    func userInfo() {
        var user = SignInFixtures.user()
        user.attributes["email"] = "ann@example.com"
        user.attributes["given_name"] = "Ann"
        let pool = SignInFixtures.pool
        let client = SignInFixtures.client()
        let all = UserInfoRules.claims(user, scopes: ["openid"], client: client, pool: pool)
        #expect(all["given_name"] == "Ann" && all["email"] == "ann@example.com" && all["username"] == user.username)
        let email = UserInfoRules.claims(user, scopes: ["openid", "email"], client: client, pool: pool)
        #expect(email["given_name"] == nil && email["email"] == "ann@example.com" && email["sub"] == user.sub)
    }
}
