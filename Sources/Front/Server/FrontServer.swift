import AuthCrypto
import CognitoModel
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NodeRPC
import Prometheus
import UserPool

/// The HTTP front: `POST /` for Cognito operations, `OPTIONS` for CORS preflight, the pools'
/// `.well-known` documents, `GET /health`, `GET /metrics`. It decodes nothing itself: the
/// operation comes from `X-Amz-Target`, its route from `API.routes`.
public struct FrontServer: Sendable {
    public static let maxBody = 1 << 20
    static let targetPrefix = "AWSCognitoIdentityProviderService."

    let api: API
    let verifier: SigV4Verifier
    let registry: PrometheusCollectorRegistry
    let logger: Logger
    /// Serve `/_cognate/inbox` (`cognate front --dev-inbox`, which `cluster up` passes on
    /// loopback only).
    let devInbox: Bool
    /// The names `/_cognate/*` answers to.
    let hosts: Hosts
    let metrics: APIMetrics
    /// Prefix domains are served at `<prefix>.auth.<region>.<domainSuffix>` (HostDomains).
    let domainSuffix: String

    public init(
        api: API, verifier: SigV4Verifier, registry: PrometheusCollectorRegistry, logger: Logger,
        devInbox: Bool = false, hosts: Hosts = Hosts(listen: nil, publicURL: nil), domainSuffix: String = "localhost"
    ) {
        self.domainSuffix = domainSuffix.lowercased()
        self.api = api
        self.verifier = verifier
        self.registry = registry
        self.logger = logger
        self.devInbox = devInbox
        self.hosts = hosts
        metrics = APIMetrics(API.routes.implemented)
    }

    /// The `Host` names Cognate's own pages (`/_cognate/*`) answer to: the public URL's, the
    /// listen address's, and loopback names when the front listens on loopback or on every
    /// address. Anything else is refused, so a page on another site that a browser reaches
    /// through a DNS name pointed at this front (DNS rebinding) reads nothing.
    public struct Hosts: Sendable {
        var names: Set<String> = []
        var loopback = true

        public init(listen: HostPort?, publicURL: String?) {
            if let host = publicURL.flatMap({ URLComponents(string: $0)?.host }) { names.insert(host.lowercased()) }
            if let listen {
                let host = listen.host.lowercased()
                let wildcard = host == "0.0.0.0" || host == "::" || host == "[::]"
                if !wildcard { names.insert(host) }
                loopback = wildcard || Loopback.isLoopback(host: host)
            }
        }

        /// Whether a request with this `Host` (authority) may have the page.
        func allows(_ authority: String?) -> Bool {
            guard let authority, !authority.isEmpty else { return false }
            let host = Loopback.host(ofAuthority: authority).lowercased()
            return names.contains(host) || (loopback && Loopback.isLoopback(host: host))
        }
    }

    static let cors: [(String, String)] = [
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Expose-Headers", "x-amzn-RequestId, x-amzn-ErrorType, x-amzn-ErrorMessage, Date"),
    ]
    static let preflightHeaders = [
        "content-type", "x-amz-target", "x-amz-user-agent", "x-amz-date", "x-amz-security-token",
        "x-amz-content-sha256", "authorization", "cache-control",
    ].joined(separator: ", ")

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: MetricsMiddleware())
        router.post("/") { request, _ -> Response in await handle(request) }
        router.on("/", method: .options) { _, _ -> Response in
            var headers = HTTPFields()
            for (k, v) in Self.cors { headers[HTTPField.Name(k)!] = v }
            headers[HTTPField.Name("Access-Control-Allow-Methods")!] = "POST, OPTIONS"
            headers[HTTPField.Name("Access-Control-Allow-Headers")!] = Self.preflightHeaders
            headers[HTTPField.Name("Access-Control-Max-Age")!] = "86400"
            return Response(status: .ok, headers: headers)
        }
        // The first path segment is a pool id here and a pool's domain under `/oauth2/`: the
        // router wants one name for a parameter at one place.
        router.get(":root/.well-known/jwks.json") { _, context -> Response in
            await wellKnown(context.parameters.get("root")) { try await api.jwks(poolId: $0) }
        }
        router.get(":root/.well-known/openid-configuration") { request, context -> Response in
            let viaHost = hostDomain(request.head).map { (request.head.authority ?? "", $0) }
            return await wellKnown(context.parameters.get("root")) {
                try await api.openIDConfiguration(poolId: $0, viaHost: viaHost)
            }
        }
        router.get("/_cognate/inbox") { request, _ -> Response in
            guard hosts.allows(request.head.authority) else { return Self.wrongHost() }
            return await inbox(request)
        }
        router.get("/confirmUser") { request, _ -> Response in await confirmUser(request) }
        addOAuthRoutes(router)
        addLoginRoutes(router)
        router.put("/_cognate/import/:poolId/:jobId") { request, context -> Response in
            guard hosts.allows(request.head.authority) else { return Self.wrongHost() }
            return await importUpload(request, context.parameters.get("poolId"), context.parameters.get("jobId"))
        }
        router.get("/health") { _, _ -> Response in
            Self.response(.ok, Array(#"{"status":"ok"}"#.utf8), type: "application/json")
        }
        router.get("/metrics") { _, _ -> Response in
            ProcessCPU.record()
            return Self.response(.ok, registry.emitToBuffer(), type: "text/plain; version=0.0.4")
        }
        return router
    }

    /// `/_cognate/*` for a `Host` this front does not answer to.
    static func wrongHost() -> Response {
        let text = "this front does not serve that host name\n"
        return response(.misdirectedRequest, Array(text.utf8), type: "text/plain", cors: false)
    }

    /// The local inbox: JSON, or a page for a browser (or `?format=html`);
    /// `?to=` and `?pool=` filter, `?limit=` caps. Off unless the front runs with
    /// `--dev-inbox`; never with CORS headers, so no other site's page can read it.
    func inbox(_ request: Request) async -> Response {
        guard devInbox else {
            return Self.error(
                WireError(
                    "ResourceNotFoundException",
                    "the local inbox is off (it runs only under `cognate cluster up` on loopback addresses)",
                    status: 404), cors: false)
        }
        let q = request.uri.queryParameters
        func text(_ name: String) -> String? { q.get(name).map { String($0) } }
        let limit = text("limit").flatMap { Int($0) } ?? 100
        do {
            let inbox = try await api.inbox(limit: limit, destination: text("to"), poolId: text("pool"))
            let format = text("format")
            let browser = request.headers[.accept].map { $0.contains("text/html") } ?? false
            if format == "json" || format == nil && !browser {
                return Self.response(.ok, try APICoding.encode(inbox), type: "application/json", cors: false)
            }
            return Self.response(
                .ok, Array(API.inboxPage(inbox).utf8), type: "text/html; charset=utf-8", cors: false)
        } catch {
            return reply(error, operation: "inbox", cors: false)
        }
    }

    /// An import job's file, `PUT` to the pre-signed URL CreateUserImportJob gave (as to S3):
    /// the URL's secret and the job are checked before the body is read; the body (at most
    /// `ImportJobRules.maxFileBytes`) streams into shard 0 a chunk at a time, and a front
    /// streams at most `ImportJobRules.uploadsPerFront` at once.
    func importUpload(_ request: Request, _ poolId: String?, _ jobId: String?) async -> Response {
        func answer(_ status: HTTPResponse.Status, _ text: String) -> Response {
            Self.response(status, Array((text + "\n").utf8), type: "text/plain; charset=utf-8", cors: false)
        }
        guard let poolId, let jobId, poolId.utf8.count <= 55, jobId.utf8.count <= 55,
            let secret = request.uri.queryParameters.get("secret").map({ String($0) }), secret.utf8.count <= 64
        else { return answer(.forbidden, "the URL is not an import job's upload URL") }
        if case .refused(let status, let reason) = await api.admitUpload(poolId: poolId, jobId: jobId, secret: secret) {
            return answer(HTTPResponse.Status(code: status), reason)
        }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > ImportJobRules.maxFileBytes {
            return answer(HTTPResponse.Status(code: 413), "the file is over \(ImportJobRules.maxFileBytes) bytes")
        }
        guard api.uploads.take() else {
            return answer(.serviceUnavailable, "SlowDown: \(api.uploads.limit) uploads are under way; try again")
        }
        defer { api.uploads.give() }
        let body = request.body.map { Array(buffer: $0) }
        switch await api.storeUpload(poolId: poolId, jobId: jobId, body: body) {
        case .stored(let bytes, _): return answer(.ok, "stored \(bytes) bytes")
        case .refused(let status, let reason): return answer(HTTPResponse.Status(code: status), reason)
        }
    }

    /// The page a CONFIRM_WITH_LINK email's link opens.
    func confirmUser(_ request: Request) async -> Response {
        let q = request.uri.queryParameters
        func text(_ name: String) -> String? { q.get(name).map { String($0) } }
        func page(_ status: HTTPResponse.Status, _ message: String) -> Response {
            let body =
                "<!doctype html><html><head><meta charset=\"utf-8\"><title>Confirmation</title></head>"
                + "<body><p>\(API.escapeHTML(message))</p></body></html>"
            return Self.response(status, Array(body.utf8), type: "text/html; charset=utf-8")
        }
        guard let client = text("client_id"), let user = text("user_name"), let code = text("confirmation_code"),
            client.utf8.count <= 128, user.utf8.count <= 512, code.utf8.count <= 2048
        else { return page(.badRequest, "The link is not complete.") }
        do {
            try await api.confirmByLink(clientId: client, username: user, code: code)
            return page(.ok, "Your registration has been confirmed!")
        } catch let e as PoolError where e.code != .unavailable && e.code != .internalError {
            return page(.badRequest, e.message)
        } catch {
            return reply(error, operation: "confirmUser")
        }
    }

    func wellKnown<Document: Encodable>(_ poolId: String?, _ body: (String) async throws -> Document) async -> Response
    {
        guard let poolId else { return Self.error(WireError(PoolError(.resourceNotFound, "no pool id"))) }
        do {
            return Self.response(.ok, try APICoding.encode(try await body(poolId)), type: "application/json")
        } catch {
            return reply(error, operation: "well-known")
        }
    }

    /// An error's response; an internal one (5xx) is logged with a request id and answered
    /// without its detail (addresses, storage errors), the id in its place.
    func reply(_ error: any Error, operation: String, cors: Bool = true) -> Response {
        let wire: WireError
        switch error {
        case let e as WireError: wire = e
        case let e as PoolError: wire = WireError(e)
        default: wire = WireError(PoolError(.internalError, "unexpected \(error)"))
        }
        guard wire.status >= 500 else { return Self.error(wire, cors: cors) }
        var rng = SystemRandomNumberGenerator()
        let requestId = randomUUIDString(using: &rng)
        logger.error("\(operation) failed (request id \(requestId)): \(wire.type): \(wire.message)")
        let shown = WireError(wire.type, "An internal error occurred. Request id: \(requestId)", status: wire.status)
        return Self.error(shown, requestId: requestId, cors: cors)
    }

    static let targetName = HTTPField.Name("X-Amz-Target")!
    static let requestIdName = HTTPField.Name("x-amzn-RequestId")!
    static let errorTypeName = HTTPField.Name("x-amzn-ErrorType")!
    /// Every response's CORS headers, parsed once.
    static let corsFields = cors.map { HTTPField(name: HTTPField.Name($0.0)!, value: $0.1) }

    static func response(
        _ status: HTTPResponse.Status, _ body: [UInt8], type: String, errorType: String? = nil,
        requestId: String? = nil, cors: Bool = true
    ) -> Response {
        var headers = HTTPFields()
        headers.reserveCapacity(corsFields.count + 3)
        headers[.contentType] = type
        var rng = SystemRandomNumberGenerator()
        headers[requestIdName] = requestId ?? randomUUIDString(using: &rng)
        if cors { headers.append(contentsOf: corsFields) }
        if let errorType { headers[errorTypeName] = errorType }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func error(_ e: WireError, requestId: String? = nil, cors: Bool = true) -> Response {
        let body = (try? APICoding.encode(e)) ?? Array(#"{"__type":"InternalErrorException"}"#.utf8)
        return response(
            HTTPResponse.Status(code: e.status), body, type: "application/x-amz-json-1.1", errorType: e.type,
            requestId: requestId, cors: cors)
    }

    func handle(_ request: Request) async -> Response {
        var request = request
        let body: [UInt8]
        do {
            let buffer = try await request.collectBody(upTo: Self.maxBody)
            body = Array(buffer.readableBytesView)
        } catch {
            let tooLarge = WireError("InvalidParameterException", "the request body exceeds \(Self.maxBody) bytes")
            return Self.error(WireError(tooLarge.type, tooLarge.message, status: 413))
        }
        guard let target = request.headers[Self.targetName], target.hasPrefix(Self.targetPrefix) else {
            return Self.error(
                WireError(
                    "UnknownOperationException",
                    "missing or unknown X-Amz-Target; expected \(Self.targetPrefix)<Operation>"))
        }
        let name = String(target.dropFirst(Self.targetPrefix.count))
        do {
            switch API.routes.lookup(name) {
            case .unknown:
                throw WireError.unknownOperation(target)
            case .unsupported(let operation):
                if operation.requiresSigV4 { try authenticate(request, body: body) }
                throw WireError.unsupported(operation)
            case .route(let operation, let run):
                if operation.requiresSigV4 { try authenticate(request, body: body) }
                let start = DispatchTime.now().uptimeNanoseconds
                let counted = metrics.operations[operation]
                do {
                    let output = try await run(api, body)
                    counted?.done(ok: true, start: start)
                    return Self.response(.ok, output, type: "application/x-amz-json-1.1")
                } catch {
                    counted?.done(ok: false, start: start)
                    metrics.note(error)
                    throw error
                }
            }
        } catch {
            return reply(error, operation: name)
        }
    }

    /// SigV4 on an operation the model says is signed (Cognito's admin operations).
    func authenticate(_ request: Request, body: [UInt8]) throws(WireError) {
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { "\($0),\(field.value)" } ?? field.value
        }
        if let authority = request.head.authority { headers["host"] = authority }
        do {
            _ = try verifier.verify(
                method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
                headers: headers, body: body, now: api.now())
        } catch {
            throw WireError(error)
        }
    }
}
