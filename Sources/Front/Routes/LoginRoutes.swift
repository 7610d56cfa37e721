import AuthCrypto
import CognitoModel
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NodeRPC
import UserPool

/// The pool domain's managed login, in the path form `/<domain>/…`: `/oauth2/authorize`,
/// `/login` (and its second step, `/mfa`), `/signup`, `/confirmUser`, `/forgotPassword`,
/// `/confirmForgotPassword` and `/logout`. Server-rendered forms (`Pages`), a CSRF token in
/// a cookie and in each form (double submit), and a session cookie that lets a second
/// authorize skip the form. Sign-in goes through the same machine as the API's.
extension FrontServer {
    func addLoginRoutes(_ router: Router<BasicRequestContext>) {
        router.get(":root/oauth2/authorize") { request, context -> Response in
            await authorize(request, domain: context.parameters.get("root") ?? "")
        }
        for (path, page) in LoginPage.allCases.map({ ($0.rawValue, $0) }) {
            router.get(":root/\(path)") { request, context -> Response in
                await loginPage(page, request, domain: context.parameters.get("root") ?? "", posted: false)
            }
            router.post(":root/\(path)") { request, context -> Response in
                await loginPage(page, request, domain: context.parameters.get("root") ?? "", posted: true)
            }
        }
        router.get(":root/logout") { request, context -> Response in
            await logout(request, domain: context.parameters.get("root") ?? "")
        }
        router.get(":root/ui/:client/logo") { _, context -> Response in
            await logo(pool: context.parameters.get("root") ?? "", client: context.parameters.get("client") ?? "")
        }
    }

    /// The form pages, by path.
    enum LoginPage: String, CaseIterable, Sendable {
        case login, mfa, signup, confirmUser, forgotPassword, confirmForgotPassword
    }

    /// One request's authorize context: the pool, the client, the checked request, and the
    /// query to carry from page to page.
    struct Login: Sendable {
        var domain: String
        /// Where the pages are: "" on the domain's own host, else `/<domain>`.
        var base: String
        var pool: Pool
        var client: AppClient
        var request: AuthorizeRules.Request
        var query: String
        var secure: Bool
        var csrf: String
        var newCsrf: Bool
        /// The pool's or client's look: CSS (checked when it was set) and a logo.
        var css: String?
        var logo: String?
        /// The client's terms of use and privacy policy, for the sign-up page.
        var terms: [Pages.Link] = []

        func path(_ page: String, _ extra: [(String, String)] = []) -> String {
            var q = query
            for (k, v) in extra { q += (q.isEmpty ? "" : "&") + k + "=" + FrontServer.percentEncode(v) }
            return "\(base)/\(page)" + (q.isEmpty ? "" : "?" + q)
        }
    }

    static let sessionCookie = "cognito"
    static let csrfCookie = "XSRF-TOKEN"

    /// RFC 3986 unreserved characters stay; everything else is %XX.
    static func percentEncode(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            let c = Character(UnicodeScalar(byte))
            if c.isASCII && (c.isLetter || c.isNumber || "-._~".contains(c)) {
                out.append(c)
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    static func cookies(_ request: Request) -> [String: String] {
        var out: [String: String] = [:]
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let pair = part.split(separator: "=", maxSplits: 1)
                guard pair.count == 2 else { continue }
                let name = pair[0].trimmingCharacters(in: .whitespaces)
                if out[name] == nil { out[name] = String(pair[1]).trimmingCharacters(in: .whitespaces) }
            }
        }
        return out
    }

    /// Loopback, `localhost`, or a name under `.localhost` (RFC 6761: this machine): where
    /// cookies go without `Secure`, since plain HTTP never leaves the machine.
    static func onThisMachine(_ host: String) -> Bool {
        Loopback.isLoopback(host: host) || host.lowercased().hasSuffix(".localhost")
    }

    /// A cookie for the domain's pages: HttpOnly, SameSite=Lax, Secure unless on loopback.
    static func cookie(_ name: String, _ value: String, login: Login, maxAge: Int64?) -> String {
        var c = "\(name)=\(value); Path=\(login.base.isEmpty ? "/" : login.base); HttpOnly; SameSite=Lax"
        if let maxAge { c += "; Max-Age=\(maxAge)" }
        if login.secure { c += "; Secure" }
        return c
    }

    static func redirect(_ location: String, cookies: [String] = []) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        headers[.cacheControl] = "no-store"
        for c in cookies { headers.append(HTTPField(name: .setCookie, value: c)) }
        return Response(status: .found, headers: headers)
    }

    static func html(_ status: HTTPResponse.Status, _ page: Pages.Page, cookies: [String] = []) -> Response {
        var page = page
        var rng = SystemRandomNumberGenerator()
        page.nonce = Base64URL.encode((0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) })
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        // No script but the passkey page's own, which runs with this response's nonce.
        headers[HTTPField.Name("Content-Security-Policy")!] =
            "default-src 'none'; script-src 'nonce-\(page.nonce)'; style-src 'unsafe-inline'; img-src data: https:; "
            + "form-action 'self' http: https:; frame-ancestors 'none'"
        for c in cookies { headers.append(HTTPField(name: .setCookie, value: c)) }
        guard let text = Pages.render(page) else {
            headers[.contentType] = "text/plain; charset=utf-8"
            let body = "the page templates (cognate_Front.resources) are not beside the cognate binary\n"
            return Response(
                status: .internalServerError, headers: headers,
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func errorPage(_ status: HTTPResponse.Status, _ message: String) -> Response {
        html(status, Pages.Page(title: "Error", heading: "Something went wrong", error: message))
    }

    /// The authorize context of a page request, or the page or redirect that refuses it.
    func loginContext(_ request: Request, domain: String) async -> Result<Login, PageRefusal> {
        let query = request.uri.query ?? ""
        guard query.utf8.count <= 8_192, let fields = try? Self.form(Array(query.utf8)) else {
            return .failure(PageRefusal(Self.errorPage(.badRequest, "The request's query is malformed.")))
        }
        guard let pool = await pool(domain: domain) else {
            return .failure(PageRefusal(Self.errorPage(.notFound, "No user pool has the domain \(domain).")))
        }
        var client: AppClient?
        if let id = fields["client_id"], id.utf8.count <= 128, let c = try? await api.store.appClient(id: id),
            c.poolId == pool.id
        {
            client = c
        }
        let checked: AuthorizeRules.Request
        do {
            checked = try AuthorizeRules.check(fields, client: client)
        } catch {
            switch error {
            case .page(let message):
                return .failure(PageRefusal(Self.errorPage(.badRequest, message)))
            case .redirect(let code, let description):
                guard let redirect = fields["redirect_uri"] else {
                    return .failure(PageRefusal(Self.errorPage(.badRequest, description)))
                }
                var params = [("error", code), ("error_description", description)]
                if let state = fields["state"] { params.append(("state", state)) }
                return .failure(PageRefusal(Self.redirect(Self.appending(params, to: redirect))))
            }
        }
        guard let client else { return .failure(PageRefusal(Self.errorPage(.badRequest, "No such client."))) }
        let host = Loopback.host(ofAuthority: request.head.authority ?? "")
        let existing = Self.cookies(request)[Self.csrfCookie].flatMap { $0.utf8.count == 43 ? $0 : nil }
        var rng = SystemRandomNumberGenerator()
        let csrf = existing ?? Base64URL.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) })
        var login = Login(
            domain: domain, base: Self.base(request, domain: domain), pool: pool, client: client, request: checked,
            query: query,
            secure: !Self.onThisMachine(host), csrf: csrf, newCsrf: existing == nil)
        await dress(&login)
        return .success(login)
    }

    /// The look of the domain's pages: managed login branding's form logo (version 2), or
    /// the UI customization's CSS and logo (version 1, the classic pages).
    func dress(_ login: inout Login) async {
        let version = login.pool.settings.domains?.first { $0.domain == login.domain.lowercased() }?.managedLoginVersion
        if version == 2 {
            let assets = try? await api.document(login.pool.id, .brandingAssets, login.client.id)?.record(
                BrandingAssets.self)
            login.logo = assets?.formLogoDataURL
        } else if let look = try? await api.uiCustomization(login.pool.id, clientId: login.client.id) {
            login.css = look.css
            login.logo = look.imageDataURL
        }
        let terms = (try? await api.allTerms(login.pool.id)) ?? []
        login.terms = terms.filter { $0.clientId == login.client.id }.sorted { $0.name > $1.name }.compactMap { t in
            t.link.map {
                Pages.Link(id: t.name, href: $0, text: t.name == "terms-of-use" ? "terms of use" : "privacy policy")
            }
        }
    }

    /// The pool with the domain `domain` (a prefix or custom name), unless it is being deleted.
    func pool(domain: String) async -> Pool? {
        guard domain.utf8.count <= 253 else { return nil }
        let found = try? await api.store.query(PoolStore.metaShard, .poolByDomain(domain.lowercased()))
        guard case .pool(let pool?)? = found, pool.deleting != true else { return nil }
        return pool
    }

    struct PageRefusal: Error {
        var response: Response
        init(_ response: Response) { self.response = response }
    }

    static func appending(_ params: [(String, String)], to url: String, fragment: Bool = false) -> String {
        let joined = params.map { "\($0.0)=\(percentEncode($0.1))" }.joined(separator: "&")
        if fragment { return url + "#" + joined }
        return url + (url.contains("?") ? "&" : "?") + joined
    }

    /// `GET /oauth2/authorize`: straight back to the client with a code (or tokens) when the
    /// session cookie names a user who can still sign in; else the login page.
    func authorize(_ request: Request, domain: String) async -> Response {
        let login: Login
        switch await loginContext(request, domain: domain) {
        case .success(let l): login = l
        case .failure(let refusal): return refusal.response
        }
        if login.request.prompt != "login", let user = await sessionUser(request, login) {
            return await finish(login, user.user, authTime: user.authTime, amr: [])
        }
        if login.request.prompt == "none" {
            return Self.redirect(
                Self.appending(
                    [("error", "login_required")] + (login.request.state.map { [("state", $0)] } ?? []),
                    to: login.request.redirectURI))
        }
        return Self.redirect(login.path("login"))
    }

    /// The user the session cookie names, if they may still sign in without a password.
    func sessionUser(_ request: Request, _ login: Login) async -> SignedIn? {
        guard let text = Self.cookies(request)[Self.sessionCookie],
            let plain = api.tokenService.open(text, .loginSession)?.plain,
            let session = LoginSessionState(decoding: plain), session.pool == login.pool.id,
            let user = try? await api.store.user(
                pool: login.pool.id, canonical: PoolRules.canonical(session.username, in: login.pool)),
            user.sub == session.sub, user.enabled, user.status == .confirmed,
            (user.signedOutAt ?? 0) < session.authTime * 1000
        else { return nil }
        return SignedIn(user: user, authTime: session.authTime)
    }

    /// The end of a sign-in: the session cookie, and back to the client with a code (or, for
    /// the implicit flow, tokens in the fragment).
    func finish(_ login: Login, _ user: User, authTime: Int64, amr: [String]) async -> Response {
        let tokens = api.tokenService
        let session = LoginSessionState(pool: login.pool.id, username: user.username, sub: user.sub, authTime: authTime)
        let cookie = Self.cookie(
            Self.sessionCookie,
            tokens.seal(session.encoded, .loginSession, seconds: AuthorizeRules.loginSessionSeconds),
            login: login, maxAge: AuthorizeRules.loginSessionSeconds)
        let state = login.request.state.map { [("state", $0)] } ?? []
        switch login.request.responseType {
        case .code:
            var rng = SystemRandomNumberGenerator()
            var code = AuthorizationCodeState(
                id: randomUUIDString(using: &rng), pool: login.pool.id, request: login.request,
                username: user.username, sub: user.sub, authTime: authTime,
                expiresAt: tokens.now() + AuthorizeRules.codeSeconds)
            code.amr = amr
            let sealed = tokens.seal(code.encoded, .authorizationCode, seconds: AuthorizeRules.codeSeconds)
            return Self.redirect(
                Self.appending([("code", sealed)] + state, to: login.request.redirectURI), cookies: [cookie])
        case .token:
            do {
                let result = try tokens.tokens(
                    pool: login.pool, client: login.client, user: user, authTime: authTime, origin: nil,
                    scopes: login.request.scopes, nonce: login.request.nonce, amr: amr)
                var params: [(String, String)] = []
                if let id = result.idToken { params.append(("id_token", id)) }
                params += [
                    ("access_token", result.accessToken ?? ""), ("token_type", "Bearer"),
                    ("expires_in", String(result.expiresIn ?? 3600)),
                ]
                return Self.redirect(
                    Self.appending(params + state, to: login.request.redirectURI, fragment: true), cookies: [cookie])
            } catch {
                return reply(error, operation: "oauth2/authorize", cors: false)
            }
        }
    }

    /// The ImageUrl of a UI customization: its logo.
    func logo(pool: String, client: String) async -> Response {
        guard pool.utf8.count <= 55, client.utf8.count <= 128,
            let doc = try? await api.document(pool, .uiCustomization, client),
            let look = try? doc.record(UICustomization.self), let image = look.image, let type = look.imageType
        else { return Self.errorPage(.notFound, "No such logo.") }
        var headers = HTTPFields()
        headers[.contentType] = "image/\(type)"
        headers[.cacheControl] = "public, max-age=300"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: Array(image))))
    }

    /// `GET /logout`: the session cookie cleared, then to `logout_uri` (one of the client's
    /// sign-out URLs) or, with `redirect_uri` and `response_type`, to the login page again.
    func logout(_ request: Request, domain: String) async -> Response {
        let query = request.uri.query ?? ""
        guard query.utf8.count <= 8_192, let fields = try? Self.form(Array(query.utf8)) else {
            return Self.errorPage(.badRequest, "The request's query is malformed.")
        }
        guard let pool = await pool(domain: domain), let id = fields["client_id"], id.utf8.count <= 128,
            let client = try? await api.store.appClient(id: id),
            client.poolId == pool.id
        else { return Self.errorPage(.badRequest, "The client_id names no app client of this domain's user pool.") }
        let host = Loopback.host(ofAuthority: request.head.authority ?? "")
        let base = Self.base(request, domain: domain)
        var clear = "\(Self.sessionCookie)=; Path=\(base.isEmpty ? "/" : base); HttpOnly; SameSite=Lax; Max-Age=0"
        if !Self.onThisMachine(host) { clear += "; Secure" }
        if let target = fields["logout_uri"] {
            guard (client.oauth.logoutURLs ?? []).contains(target) else {
                return Self.errorPage(.badRequest, "The logout_uri is not one of the app client's sign-out URLs.")
            }
            return Self.redirect(target, cookies: [clear])
        }
        guard fields["redirect_uri"] != nil, fields["response_type"] != nil else {
            return Self.errorPage(.badRequest, "logout needs logout_uri, or redirect_uri and response_type.")
        }
        var rest = fields
        rest["logout_uri"] = nil
        let q = rest.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.percentEncode($0.value))" }
        return Self.redirect("\(base)/login?" + q.joined(separator: "&"), cookies: [clear])
    }
}
