import AuthCrypto
import CognitoModel
import Crypto
import Sharding

/// The pool domain's `/oauth2/authorize` and the authorization codes it hands out (RFC 6749
/// section 4.1, PKCE as RFC 7636 with S256 only, as Cognito): what a request must carry,
/// what a code holds, and what redeeming one must match.
public enum AuthorizeRules {
    /// An authorization code lives five minutes and is used once.
    public static let codeSeconds: Int64 = 300
    /// The managed login's session cookie: an hour, as Cognito's.
    public static let loginSessionSeconds: Int64 = 3_600
    /// Codes a user's record remembers as used until they expire (a bound on the record).
    public static let maxUsedCodes = 64

    public enum ResponseType: String, Sendable {
        case code, token
    }

    /// A checked authorize request.
    public struct Request: Sendable, Equatable {
        public var clientId: String
        public var redirectURI: String
        public var responseType: ResponseType
        public var scopes: [String]
        public var state: String?
        public var nonce: String?
        public var codeChallenge: String?
        public var loginHint: String?
        /// `login`: ask for the password even with a session; `none`: never show a page.
        public var prompt: String?
    }

    /// Why an authorize request is refused: on a page of our own when the client or its
    /// redirect URI cannot be trusted (RFC 6749 4.1.2.1: never redirect then), or back to
    /// the client's redirect URI with an OAuth error code.
    public enum Refusal: Error, Equatable {
        case page(String)
        case redirect(error: String, description: String)
    }

    /// Checks a request's query against the client (nil: no client of this pool has the id).
    public static func check(_ query: [String: String], client: AppClient?) throws(Refusal) -> Request {
        guard let clientId = query["client_id"], let client, client.id == clientId else {
            throw .page("The client_id is missing or names no app client of this user pool.")
        }
        guard let redirect = query["redirect_uri"] ?? client.oauth.defaultRedirectURI,
            (client.oauth.callbackURLs ?? []).contains(redirect)
        else { throw .page("redirect_mismatch: the redirect_uri is not one of the app client's callback URLs.") }
        func refuse(_ error: String, _ why: String) -> Refusal { .redirect(error: error, description: why) }
        guard client.oauth.allowedOAuthFlowsUserPoolClient == true else {
            throw refuse("unauthorized_client", "The app client is not allowed OAuth flows.")
        }
        let flows = client.oauth.allowedOAuthFlows ?? []
        let responseType: ResponseType
        switch query["response_type"] {
        case "code":
            guard flows.contains(.code) else { throw refuse("unauthorized_client", "The code flow is not allowed.") }
            responseType = .code
        case "token":
            guard flows.contains(.implicit) else {
                throw refuse("unauthorized_client", "The implicit flow is not allowed.")
            }
            responseType = .token
        case nil: throw refuse("invalid_request", "response_type is missing.")
        case let other?: throw refuse("unsupported_response_type", "response_type \(other) is not supported.")
        }
        let allowed = client.oauth.allowedOAuthScopes ?? []
        var scopes = allowed
        if let asked = query["scope"], !asked.isEmpty {
            var seen = Set<String>()
            scopes = asked.split(separator: " ").map(String.init).filter { seen.insert($0).inserted }
            guard scopes.count <= 100, scopes.allSatisfy(allowed.contains) else {
                throw refuse("invalid_scope", "A scope asked for is not allowed to the app client.")
            }
        }
        guard !scopes.isEmpty else { throw refuse("invalid_scope", "The app client has no scope.") }
        let challenge = query["code_challenge"]
        if let challenge {
            guard query["code_challenge_method"] == "S256" else {
                throw refuse("invalid_request", "code_challenge_method must be S256.")
            }
            guard isVerifierShaped(challenge) else { throw refuse("invalid_request", "code_challenge is malformed.") }
        } else if query["code_challenge_method"] != nil {
            throw refuse("invalid_request", "code_challenge is missing.")
        }
        if let provider = query["identity_provider"], provider != "COGNITO" {
            throw refuse(
                "invalid_request",
                "Sign-in through the identity provider \(provider) is not built yet: only COGNITO (the user pool's own "
                    + "users) is.")
        }
        if query["idp_identifier"] != nil {
            throw refuse(
                "invalid_request", "idp_identifier: sign-in through other identity providers is not built yet.")
        }
        guard (client.oauth.supportedIdentityProviders ?? []).contains("COGNITO") else {
            throw refuse("unauthorized_client", "The app client does not support the COGNITO identity provider.")
        }
        for (name, value) in query where value.utf8.count > 2_048 {
            throw refuse("invalid_request", "\(name) is longer than 2048 bytes.")
        }
        let prompt = query["prompt"]
        if let prompt, !["login", "none", "consent", "select_account"].contains(prompt) {
            throw refuse("invalid_request", "prompt \(prompt) is not supported.")
        }
        return Request(
            clientId: clientId, redirectURI: redirect, responseType: responseType, scopes: scopes,
            state: query["state"], nonce: query["nonce"], codeChallenge: challenge, loginHint: query["login_hint"],
            prompt: prompt)
    }

    /// RFC 7636: 43 to 128 characters of `[A-Za-z0-9-._~]`.
    static func isVerifierShaped(_ s: String) -> Bool {
        (43...128).contains(s.utf8.count)
            && s.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                    || c == 0x2D || c == 0x2E || c == 0x5F || c == 0x7E
            }
    }

    /// Whether `verifier` is the one `challenge` (S256) was made from.
    public static func pkceMatches(verifier: String, challenge: String) -> Bool {
        guard isVerifierShaped(verifier) else { return false }
        return Base64URL.encode(Array(SHA256.hash(data: Array(verifier.utf8)))) == challenge
    }

    /// A code's redemption at `/oauth2/token`: the client, redirect URI and PKCE verifier
    /// must be the ones it was issued for. The refusal is the description of `invalid_grant`.
    public static func redeem(
        _ code: AuthorizationCodeState, clientId: String, redirectURI: String?, verifier: String?
    ) -> String? {
        guard code.client == clientId else { return "The code was issued to another client." }
        guard redirectURI == code.redirectURI else { return "redirect_uri differs from the authorize request's." }
        switch (code.codeChallenge, verifier) {
        case (nil, nil): return nil
        case (nil, _?): return "code_verifier given for a code issued without code_challenge."
        case (_?, nil): return "code_verifier is missing."
        case (let challenge?, let verifier?):
            return pkceMatches(verifier: verifier, challenge: challenge) ? nil : "code_verifier does not match."
        }
    }

    /// Marks the code `id` used on the user's record; refused if it was used before. Codes
    /// past their expiry are forgotten (they are refused by their seal by then).
    public static func use(_ user: inout User, id: String, expiresAt: Int64, now: Int64) throws(PoolError) {
        var used = (user.usedCodes ?? []).filter { $0.expiresAt > now }
        guard !used.contains(where: { $0.id == id }) else {
            throw PoolError(.notAuthorized, "The authorization code was used before.")
        }
        guard used.count < maxUsedCodes else {
            throw PoolError(.limitExceeded, "Too many authorization codes redeemed in five minutes.")
        }
        used.append(UsedCode(id: id, expiresAt: expiresAt))
        user.usedCodes = used
    }

    /// A callback or sign-out URL as Cognito takes it: absolute, no fragment, at most 1024
    /// bytes, HTTPS unless it points at this machine (`http://localhost`, loopback) or is an
    /// app's own scheme (`myapp://`).
    public static func validURL(_ url: String) -> Bool {
        guard url.utf8.count <= 1_024, !url.contains("#"), let colon = url.firstIndex(of: ":") else { return false }
        let scheme = url[..<colon].lowercased()
        guard let first = scheme.first, first.isLetter,
            scheme.allSatisfy({ $0.isLetter || $0.isNumber || "+-.".contains($0) })
        else { return false }
        let rest = url[url.index(after: colon)...]
        switch scheme {
        case "https": return rest.hasPrefix("//") && rest.count > 2
        case "http":
            guard rest.hasPrefix("//") else { return false }
            let authority = rest.dropFirst(2).prefix { $0 != "/" && $0 != "?" }.lowercased()
            let host =
                authority.hasPrefix("[")
                ? String(authority.prefix { $0 != "]" }) + "]" : String(authority.prefix { $0 != ":" })
            return host == "localhost" || host == "[::1]" || host.hasPrefix("127.")
        default: return !rest.isEmpty
        }
    }

    /// CreateUserPoolClient and UpdateUserPoolClient: the OAuth settings as Cognito takes them.
    public static func checkClientSettings(_ oauth: ClientOAuthSettings) throws(PoolError) {
        for (name, urls) in [("CallbackURLs", oauth.callbackURLs), ("LogoutURLs", oauth.logoutURLs)] {
            guard (urls ?? []).count <= 100 else {
                throw PoolError(.invalidParameter, "\(name) can have at most 100 URLs.")
            }
            for url in urls ?? [] where !validURL(url) {
                throw PoolError(
                    .invalidParameter,
                    "\(name) \(url) is not valid: absolute, without a fragment, and HTTPS unless on localhost.")
            }
        }
        let flows = oauth.allowedOAuthFlows ?? []
        if flows.contains(.clientCredentials) && (flows.contains(.code) || flows.contains(.implicit)) {
            throw PoolError(
                .invalidParameter, "client_credentials flow can not be selected along with code flow or implicit flow.")
        }
        let scopes = oauth.allowedOAuthScopes ?? []
        let needOpenID = ["email", "phone", "profile"].filter(scopes.contains)
        if !needOpenID.isEmpty && !scopes.contains("openid") {
            throw PoolError(.invalidParameter, "Scopes \(needOpenID.joined(separator: ", ")) require the openid scope.")
        }
        if (flows.contains(.code) || flows.contains(.implicit)) && (oauth.callbackURLs ?? []).isEmpty {
            throw PoolError(.invalidParameter, "CallbackURLs can not be empty for the code or implicit flow.")
        }
    }
}

/// An authorization code a user's code marks used (its id, until it expires).
public struct UsedCode: Codable, Sendable, Equatable {
    public var id: String
    public var expiresAt: Int64

    public init(id: String, expiresAt: Int64) {
        self.id = id
        self.expiresAt = expiresAt
    }
}

/// What an authorization code carries, sealed: the authorize request it answers and the
/// user signed in for it.
public struct AuthorizationCodeState: Sendable, Equatable {
    public var id: String
    public var pool: String
    public var client: String
    public var redirectURI: String
    public var scopes: [String]
    public var nonce: String?
    public var codeChallenge: String?
    public var username: String
    public var sub: String
    public var authTime: Int64
    public var expiresAt: Int64
    /// The methods of the sign-in the code came from (the ID token's `amr`).
    public var amr: [String] = []

    public init(
        id: String, pool: String, request: AuthorizeRules.Request, username: String, sub: String, authTime: Int64,
        expiresAt: Int64
    ) {
        self.id = id
        self.pool = pool
        client = request.clientId
        redirectURI = request.redirectURI
        scopes = request.scopes
        nonce = request.nonce
        codeChallenge = request.codeChallenge
        self.username = username
        self.sub = sub
        self.authTime = authTime
        self.expiresAt = expiresAt
    }

    public var encoded: [UInt8] {
        var w = SealedFormat.writer(.authorizationCode)
        for text in [id, pool, client, redirectURI, scopes.joined(separator: " "), username, sub] { w.string(text) }
        for text in [nonce, codeChallenge] {
            w.bool(text != nil)
            if let text { w.string(text) }
        }
        w.i64(authTime)
        w.i64(expiresAt)
        if !amr.isEmpty { w.string(amr.joined(separator: " ")) }
        return w.bytes
    }

    public init?(decoding bytes: [UInt8]) {
        guard
            let s = SealedFormat.read(
                bytes, .authorizationCode,
                { (r: inout BinaryReader) throws(BinaryReader.Truncated) -> AuthorizationCodeState in
                    let texts = try (0..<7).map { (_: Int) throws(BinaryReader.Truncated) in try r.string() }
                    var optional: [String?] = []
                    for _ in 0..<2 { optional.append(try r.bool() ? try r.string() : nil) }
                    let request = AuthorizeRules.Request(
                        clientId: texts[2], redirectURI: texts[3], responseType: .code,
                        scopes: texts[4].split(separator: " ").map(String.init), nonce: optional[0],
                        codeChallenge: optional[1])
                    var code = AuthorizationCodeState(
                        id: texts[0], pool: texts[1], request: request, username: texts[5], sub: texts[6],
                        authTime: try r.i64(), expiresAt: try r.i64())
                    if !r.isAtEnd { code.amr = try r.string().split(separator: " ").prefix(5).map(String.init) }
                    return code
                })
        else { return nil }
        self = s
    }
}

/// The managed login's session cookie, sealed: who signed in to which pool, and when. A
/// second authorize within its hour skips the form.
public struct LoginSessionState: Sendable, Equatable {
    public var pool: String
    public var username: String
    public var sub: String
    public var authTime: Int64

    public init(pool: String, username: String, sub: String, authTime: Int64) {
        self.pool = pool
        self.username = username
        self.sub = sub
        self.authTime = authTime
    }

    public var encoded: [UInt8] {
        var w = SealedFormat.writer(.loginSession)
        for text in [pool, username, sub] { w.string(text) }
        w.i64(authTime)
        return w.bytes
    }

    public init?(decoding bytes: [UInt8]) {
        guard
            let s = SealedFormat.read(
                bytes, .loginSession,
                { (r: inout BinaryReader) throws(BinaryReader.Truncated) in
                    LoginSessionState(
                        pool: try r.string(), username: try r.string(), sub: try r.string(), authTime: try r.i64())
                })
        else { return nil }
        self = s
    }
}

extension AuthorizeRules.Request {
    init(
        clientId: String, redirectURI: String, responseType: AuthorizeRules.ResponseType, scopes: [String],
        nonce: String?, codeChallenge: String?
    ) {
        self.init(
            clientId: clientId, redirectURI: redirectURI, responseType: responseType, scopes: scopes, state: nil,
            nonce: nonce, codeChallenge: codeChallenge, loginHint: nil, prompt: nil)
    }
}
