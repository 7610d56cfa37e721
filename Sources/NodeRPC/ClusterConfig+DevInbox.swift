import Foundation

/// When the local inbox may run. It shows every code and temporary password to whoever can
/// reach the front, so it runs only where nobody else can: a `cluster up` on loopback
/// addresses with no real channel. `cognate node` and `cognate front` turn it on only when
/// given `--dev-inbox` (which `cluster up` passes), never from a definition alone or from
/// the built-in definition they fall back to.
extension ClusterConfig {
    /// The channels the definition and `environment` configure, named for a message.
    public func configuredChannels(environment: [String: String]) -> [String] {
        var out: [String] = []
        if nonEmpty(environment["COGNATE_SMTP_URL"]) ?? email?.smtp_url != nil { out.append("email (SMTP)") }
        if nonEmpty(environment["COGNATE_SMS_WEBHOOK_URL"]) ?? sms?.webhook_url != nil { out.append("SMS (webhook)") }
        return out
    }

    /// Why the local inbox may not run with this definition (nil: it may): an address that
    /// is not loopback (a node's peer or admin address, the front's listen address or
    /// public URL), or a channel configured.
    public func devInboxRefusal(frontListen: HostPort?, environment: [String: String]) -> String? {
        let channels = configuredChannels(environment: environment)
        if !channels.isEmpty {
            return "the local inbox is only for clusters with no channel, and \(channels.joined(separator: " and ")) "
                + "is configured"
        }
        var addresses: [(String, String)] = []
        for n in nodes {
            addresses.append(("node \(n.id)'s peer address", n.peer))
            addresses.append(("node \(n.id)'s admin address", n.admin))
        }
        if let frontListen { addresses.append(("the front's address", frontListen.description)) }
        if let front { addresses.append(("the definition's front", front)) }
        for (what, text) in addresses {
            guard let address = try? HostPort(text), Loopback.isLoopback(host: address.host) else {
                return "the local inbox runs only on loopback addresses, and \(what) is \(text)"
            }
        }
        if let url = public_url {
            guard let host = URLComponents(string: url)?.host, Loopback.isLoopback(host: host) else {
                return "the local inbox runs only on loopback addresses, and public_url is \(url)"
            }
        }
        return nil
    }

    private func nonEmpty(_ s: String?) -> String? { s.flatMap { $0.isEmpty ? nil : $0 } }
}

/// Names and addresses of this machine's loopback interface.
public enum Loopback {
    /// `localhost`, 127.0.0.0/8 and ::1 (with or without brackets).
    public static func isLoopback(host: String) -> Bool {
        var h = host.lowercased()
        if h.hasPrefix("[") && h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        if h == "localhost" || h == "::1" || h == "0:0:0:0:0:0:0:1" { return true }
        let parts = h.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { p in p.count <= 3 && !p.isEmpty && p.allSatisfy(\.isASCII) && UInt8(p) != nil }
    }

    /// The host of an HTTP `Host` header (or authority): without its port.
    public static func host(ofAuthority authority: String) -> String {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return String(authority[...close])
        }
        if let colon = authority.lastIndex(of: ":"), authority.filter({ $0 == ":" }).count == 1 {
            return String(authority[..<colon])
        }
        return authority
    }
}
