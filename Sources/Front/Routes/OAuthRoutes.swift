import AuthCrypto
import CognitoModel
import Foundation
import HTTPTypes
import Hummingbird
import UserPool

/// The pool domain's OAuth 2.0 endpoints, in the path form `/<domain>/oauth2/…` (the domain
/// a CreateUserPoolDomain prefix or custom name): `POST /oauth2/token` for the
/// `authorization_code`, `client_credentials` and `refresh_token` grants, `POST
/// /oauth2/revoke` and `GET|POST /oauth2/userInfo` (`/oauth2/authorize` and the pages are in
/// `LoginRoutes`). They use the token service and the sign-in driver as the JSON API does.
extension FrontServer {
    func addOAuthRoutes(_ router: Router<BasicRequestContext>) {
        router.post(":root/oauth2/token") { request, context -> Response in
            await token(request, domain: context.parameters.get("root") ?? "")
        }
        router.post(":root/oauth2/revoke") { request, context -> Response in
            await revoke(request, domain: context.parameters.get("root") ?? "")
        }
        router.get(":root/oauth2/userInfo") { request, context -> Response in
            await userInfo(request, domain: context.parameters.get("root") ?? "")
        }
        router.post(":root/oauth2/userInfo") { request, context -> Response in
            await userInfo(request, domain: context.parameters.get("root") ?? "")
        }
    }

    /// `GET|POST /oauth2/userInfo`: the attributes the access token's scopes reach (it must
    /// have `openid`: the API's tokens, whose only scope is aws.cognito.signin.user.admin,
    /// are refused, as Cognito refuses them).
    func userInfo(_ request: Request, domain: String) async -> Response {
        func refuse(_ status: HTTPResponse.Status, _ code: String, _ why: String) -> Response {
            var r = Self.oauthError(OAuthError(code: code, description: why, status: status))
            r.headers[.wwwAuthenticate] = "Bearer error=\"\(code)\", error_description=\"\(why)\""
            return r
        }
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer "),
            header.utf8.count <= 16_384
        else { return refuse(.unauthorized, "invalid_request", "Bearer access token missing") }
        do {
            let (pool, user, claims) = try await api.authenticate(String(header.dropFirst(7)))
            guard DomainRules.names(pool).contains(domain.lowercased()) else {
                return refuse(.unauthorized, "invalid_token", "The token is not of this domain's user pool")
            }
            let scopes = claims.scope.split(separator: " ").map(String.init)
            guard scopes.contains("openid") else {
                return refuse(.forbidden, "insufficient_scope", "The access token has no openid scope")
            }
            let client = try await api.store.appClient(id: claims.clientId)
            return Self.oauthResponse(.ok, UserInfoRules.claims(user, scopes: scopes, client: client, pool: pool))
        } catch let e as PoolError where e.code == .notAuthorized {
            return refuse(.unauthorized, "invalid_token", e.message)
        } catch {
            return reply(error, operation: "oauth2/userInfo", cors: false)
        }
    }

    /// RFC 6749's error answer, as Cognito gives it: `{"error": …}` (and a description).
    struct OAuthError: Error {
        var code: String
        var description: String?
        var status: HTTPResponse.Status = .badRequest

        static func invalidClient(_ why: String) -> OAuthError {
            OAuthError(code: "invalid_client", description: why, status: .unauthorized)
        }
    }

    /// A token response (RFC 6749 section 5.1).
    struct TokenAnswer: Encodable {
        var accessToken: String
        var idToken: String?
        var refreshToken: String?
        var expiresIn: Int64
        var tokenType = "Bearer"

        enum CodingKeys: String, CodingKey {
            case accessToken = "access_token"
            case idToken = "id_token"
            case refreshToken = "refresh_token"
            case expiresIn = "expires_in"
            case tokenType = "token_type"
        }
    }

    struct ErrorAnswer: Encodable {
        var error: String
        var errorDescription: String?

        enum CodingKeys: String, CodingKey {
            case error
            case errorDescription = "error_description"
        }
    }

    static func oauthResponse(_ status: HTTPResponse.Status, _ body: some Encodable) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json;charset=UTF-8"
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("Pragma")!] = "no-cache"
        let bytes = (try? JSONEncoder().encode(body)) ?? Data("{}".utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: Array(bytes))))
    }

    static func oauthError(_ e: OAuthError) -> Response {
        oauthResponse(e.status, ErrorAnswer(error: e.code, errorDescription: e.description))
    }

    /// An `application/x-www-form-urlencoded` body's fields (`+` is a space; a repeated
    /// field is refused, as RFC 6749 asks).
    static func form(_ body: [UInt8]) throws(OAuthError) -> [String: String] {
        var components = URLComponents()
        components.percentEncodedQuery = String(decoding: body, as: UTF8.self).replacingOccurrences(
            of: "+", with: "%20")
        var out: [String: String] = [:]
        for item in components.queryItems ?? [] {
            guard out[item.name] == nil else {
                throw OAuthError(code: "invalid_request", description: "\(item.name) is given twice")
            }
            out[item.name] = item.value ?? ""
        }
        return out
    }

    /// The client's id and secret: HTTP Basic, or `client_id` (and `client_secret`) in the body.
    static func clientCredentials(
        _ request: Request, _ form: [String: String]
    ) throws(OAuthError) -> (id: String, secret: String?) {
        if let header = request.headers[.authorization] {
            guard header.lowercased().hasPrefix("basic "),
                let decoded = Base64.decode(String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
                let colon = decoded.firstIndex(of: UInt8(ascii: ":"))
            else { throw OAuthError.invalidClient("the Authorization header is not HTTP Basic") }
            let id = String(decoding: decoded[..<colon], as: UTF8.self)
            if let other = form["client_id"], other != id {
                throw OAuthError(
                    code: "invalid_request", description: "client_id differs from the Authorization header")
            }
            return (id, String(decoding: decoded[(colon + 1)...], as: UTF8.self))
        }
        guard let id = form["client_id"] else { throw OAuthError(code: "invalid_request", description: "no client_id") }
        return (id, form["client_secret"])
    }

    /// A form POST of an OAuth 2.0 client: its fields and the client's id and secret.
    struct ClientForm {
        var fields: [String: String]
        var clientId: String
        var secret: String?
    }

    /// Runs `body` on a client's form POST, answering RFC 6749's errors as JSON.
    func oauthPost(
        _ request: Request, operation: String, _ body: (ClientForm) async throws -> Response
    ) async -> Response {
        var request = request
        do {
            let bytes: [UInt8]
            do {
                bytes = Array(try await request.collectBody(upTo: 64 << 10).readableBytesView)
            } catch {
                throw OAuthError(code: "invalid_request", description: "the body exceeds 64 KiB")
            }
            let fields = try Self.form(bytes)
            let (clientId, secret) = try Self.clientCredentials(request, fields)
            return try await body(ClientForm(fields: fields, clientId: clientId, secret: secret))
        } catch let e as OAuthError {
            return Self.oauthError(e)
        } catch {
            return reply(error, operation: operation, cors: false)
        }
    }

    /// RFC 7009: a refresh token's family revoked; 200 with an empty body.
    func revoke(_ request: Request, domain: String) async -> Response {
        await oauthPost(request, operation: "oauth2/revoke") { form in
            guard let token = form.fields["token"] else {
                throw OAuthError(code: "invalid_request", description: "no token")
            }
            try await api.oauthRevoke(domain: domain, token: token, clientId: form.clientId, secret: form.secret)
            var headers = HTTPFields()
            headers[.cacheControl] = "no-store"
            return Response(status: .ok, headers: headers)
        }
    }

    func token(_ request: Request, domain: String) async -> Response {
        await oauthPost(request, operation: "oauth2/token") { form in
            Self.oauthResponse(
                .ok,
                try await api.oauthToken(
                    domain: domain, form: form.fields, clientId: form.clientId, secret: form.secret))
        }
    }
}

extension API {
    /// The authorization_code grant: the sealed code opened and matched (client, redirect
    /// URI, PKCE), marked used on the user's record (a second use is `invalid_grant`), and
    /// tokens for its scopes, a new refresh-token family.
    func redeemCode(_ form: [String: String], pool: Pool, client: AppClient) async throws -> FrontServer.TokenAnswer {
        typealias E = FrontServer.OAuthError
        guard let text = form["code"] else { throw E(code: "invalid_request", description: "no code") }
        guard let plain = tokenService.open(text, .authorizationCode)?.plain,
            let code = AuthorizationCodeState(decoding: plain), code.pool == pool.id
        else { throw E(code: "invalid_grant", description: "The code is not valid, or has expired.") }
        if let refusal = AuthorizeRules.redeem(
            code, clientId: client.id, redirectURI: form["redirect_uri"], verifier: form["code_verifier"])
        {
            throw E(code: "invalid_grant", description: refusal)
        }
        guard let user = try await store.user(pool: pool.id, canonical: PoolRules.canonical(code.username, in: pool)),
            user.sub == code.sub, user.enabled
        else { throw E(code: "invalid_grant", description: "The code's user cannot sign in.") }
        let t = now()
        let used: User
        do {
            used = try await store.modify(user, in: pool) { (u: inout User) throws(PoolError) in
                try AuthorizeRules.use(&u, id: code.id, expiresAt: code.expiresAt, now: t)
            }
        } catch {
            guard error.code == .notAuthorized || error.code == .limitExceeded else { throw error }
            throw E(code: "invalid_grant", description: error.message)
        }
        let result = try tokenService.tokens(
            pool: pool, client: client, user: used, authTime: code.authTime, origin: nil, scopes: code.scopes,
            nonce: code.nonce, amr: code.amr)
        return FrontServer.TokenAnswer(
            accessToken: result.accessToken ?? "", idToken: result.idToken, refreshToken: result.refreshToken,
            expiresIn: Int64(result.expiresIn ?? 3600))
    }

    /// `POST /oauth2/revoke` of `domain`: a refresh token issued to the client.
    func oauthRevoke(domain: String, token: String, clientId: String, secret: String?) async throws {
        typealias E = FrontServer.OAuthError
        let (pool, client) = try await oauthClient(domain: domain, clientId: clientId, secret: secret)
        do {
            try await revokeRefreshToken(token, client: client, pool: pool)
        } catch let e as PoolError where e.code == .unsupportedTokenType {
            throw E(code: "unsupported_token_type", description: e.message)
        } catch let e as PoolError where e.code == .unauthorized {
            throw E(code: "unauthorized_client", description: e.message)
        }
    }

    /// The domain's pool and the client, authenticated with one of its secrets, of that pool.
    func oauthClient(domain: String, clientId: String, secret: String?) async throws -> (Pool, AppClient) {
        typealias E = FrontServer.OAuthError
        guard domain.utf8.count <= 253,
            case .pool(let pool?) = try await store.query(PoolStore.metaShard, .poolByDomain(domain.lowercased())),
            pool.deleting != true
        else {
            throw E(code: "invalid_request", description: "no user pool has the domain \(domain)", status: .notFound)
        }
        guard clientId.utf8.count <= 128, let client = try? await store.appClient(id: clientId),
            client.poolId == pool.id
        else { throw E.invalidClient("no such client of this user pool") }
        do {
            try checkClientSecret(client, secret)
        } catch {
            throw E.invalidClient("the client secret is wrong or missing")
        }
        return (pool, client)
    }

    /// `POST /oauth2/token` of `domain`: the client (authenticated with one of its secrets)
    /// must be of the domain's pool.
    func oauthToken(
        domain: String, form: [String: String], clientId: String, secret: String?
    ) async throws -> FrontServer.TokenAnswer {
        typealias E = FrontServer.OAuthError
        let (pool, client) = try await oauthClient(domain: domain, clientId: clientId, secret: secret)
        switch form["grant_type"] {
        case "client_credentials":
            let asked = form["scope"].map { $0.split(separator: " ").map(String.init) }
            let servers = try await resourceServers(pool.id)
            let scopes: [String]
            do {
                scopes = try ClientCredentialsRules.grant(client, asked: asked, servers: servers)
            } catch {
                throw E(
                    code: error.code == .notAuthorized ? "unauthorized_client" : "invalid_scope",
                    description: error.message)
            }
            let (token, seconds) = try tokenService.clientToken(pool: pool, client: client, scopes: scopes)
            return FrontServer.TokenAnswer(accessToken: token, expiresIn: seconds)
        case "refresh_token":
            guard let refresh = form["refresh_token"] else {
                throw E(code: "invalid_request", description: "no refresh_token")
            }
            let a: SignInAnswer
            do {
                a = try await signIn.run(.refresh(token: refresh), pool: pool, client: client)
            } catch let e as PoolError where e.code == .notAuthorized || e.code == .refreshTokenReuse {
                throw E(code: "invalid_grant", description: e.message)
            }
            guard let result = a.authenticationResult, let access = result.accessToken else {
                throw E(code: "invalid_grant", description: "no tokens")
            }
            // A rotating client's refresh answers the next refresh token too.
            return FrontServer.TokenAnswer(
                accessToken: access, idToken: result.idToken, refreshToken: result.refreshToken,
                expiresIn: Int64(result.expiresIn ?? 3600))
        case "authorization_code":
            return try await redeemCode(form, pool: pool, client: client)
        case let other:
            throw E(code: "unsupported_grant_type", description: other.map { "grant_type \($0)" } ?? "no grant_type")
        }
    }
}
