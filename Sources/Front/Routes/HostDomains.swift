import HTTPTypes
import Hummingbird
import NodeRPC
import UserPool

/// Pool domains served by `Host`, as Cognito serves them: a prefix domain at
/// `<prefix>.auth.<region>.<domain suffix>` (the definition's `domain_suffix`, `localhost` by
/// default, which browsers resolve to this machine) and a custom domain at its own name. A
/// request for the managed login's paths (`/oauth2/…`, `/login`, `/logout`, …) on such a
/// host is served as the path form `/<domain>/…` is, with links, redirects and cookies
/// without the prefix. Every other path, and every host the front itself answers to, is left
/// as it is.
public struct FrontResponder: HTTPResponderBuilder {
    let server: FrontServer

    public init(_ server: FrontServer) { self.server = server }

    public func buildResponder() -> some HTTPResponder<BasicRequestContext> {
        HostDomainResponder(inner: server.router().buildResponder(), server: server)
    }
}

struct HostDomainResponder<Inner: HTTPResponder<BasicRequestContext>>: HTTPResponder {
    let inner: Inner
    let server: FrontServer

    func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        var head = request.head
        // Only this responder says a request came in by a domain's host.
        head.headerFields[FrontServer.hostDomainField] = nil
        if let domain = server.hostDomain(head), let path = head.path, Self.servedByDomain(path) {
            head.path = "/\(domain)" + path
            head.headerFields[FrontServer.hostDomainField] = domain
        }
        return try await inner.respond(to: Request(head: head, body: request.body), context: context)
    }

    /// The managed login's paths. `/confirmUser` with a confirmation code is the link an
    /// email carries, which the front answers itself.
    static func servedByDomain(_ path: String) -> Bool {
        let first = path.dropFirst().prefix { $0 != "/" && $0 != "?" }
        if first == "confirmUser" { return !path.contains("confirmation_code=") }
        return ["oauth2", "login", "mfa", "signup", "forgotPassword", "confirmForgotPassword", "logout"].contains(
            String(first))
    }
}

extension FrontServer {
    /// Set (only by `HostDomainResponder`) on a request that came in by a domain's host.
    static let hostDomainField = HTTPField.Name("X-Cognate-Host-Domain")!

    /// The pool domain a request's `Host` names, if it is not one of the front's own names.
    func hostDomain(_ head: HTTPRequest) -> String? {
        guard let authority = head.authority, authority.utf8.count <= 260, !hosts.allows(authority) else { return nil }
        let host = Loopback.host(ofAuthority: authority).lowercased()
        let suffix = ".auth.\(api.region).\(domainSuffix)"
        if host.hasSuffix(suffix) {
            let prefix = host.dropLast(suffix.count)
            return prefix.isEmpty || prefix.contains(".") ? nil : String(prefix)
        }
        // A custom domain: a name with a dot, not an address.
        guard host.contains("."), !host.hasPrefix("["), !host.allSatisfy({ $0.isNumber || $0 == "." }) else {
            return nil
        }
        return host
    }

    /// Where the domain's pages are, as the request reached them: "" by its host, else
    /// `/<domain>`.
    static func base(_ request: Request, domain: String) -> String {
        request.headers[hostDomainField] == domain ? "" : "/\(domain)"
    }
}
