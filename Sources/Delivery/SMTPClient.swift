import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import UserPool

/// An SMTP server to send through, from `smtp://[user:pass@]host:port` (STARTTLS when the
/// server offers it, or as `starttls` says) or `smtps://…` (TLS from the first byte).
public struct SMTPServer: Sendable, Equatable {
    public enum StartTLS: String, Sendable { case opportunistic, required, off }

    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var implicitTLS: Bool
    public var startTLS: StartTLS
    /// A CA file to trust for the server's certificate (else the system's roots).
    public var caFile: String?

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public init(url: String, startTLS: String? = nil, caFile: String? = nil) throws {
        guard let u = URLComponents(string: url), let scheme = u.scheme, scheme == "smtp" || scheme == "smtps",
            let host = u.host, !host.isEmpty
        else {
            throw Invalid(description: "an SMTP URL is smtp://[user:pass@]host:port or smtps://…, not \(url)")
        }
        self.host = host
        implicitTLS = scheme == "smtps"
        port = u.port ?? (implicitTLS ? 465 : 25)
        username = u.user?.removingPercentEncoding
        password = u.password?.removingPercentEncoding
        guard let mode = StartTLS(rawValue: startTLS ?? "opportunistic") else {
            throw Invalid(description: "starttls is opportunistic, required or off, not \(startTLS ?? "")")
        }
        self.startTLS = mode
        self.caFile = caFile
    }

    /// Credentials go only over TLS, or to a server on this machine.
    var mayAuthenticateInClear: Bool { host == "127.0.0.1" || host == "localhost" || host == "::1" }
}

/// One email as it goes out.
public struct EmailMessage: Sendable {
    public var from: String
    public var to: String
    public var replyTo: String?
    public var subject: String
    public var text: String
    public var html: String?
    /// Stable across retries and leader changes, so a receiver can tell a duplicate.
    public var messageId: String
    public var date: Date

    public init(
        from: String, to: String, replyTo: String?, subject: String, text: String, html: String?, messageId: String,
        date: Date
    ) {
        self.from = from
        self.to = to
        self.replyTo = replyTo
        self.subject = subject
        self.text = text
        self.html = html
        self.messageId = messageId
        self.date = date
    }

    /// The message as RFC 5322 text: headers (every control character stripped from every
    /// value, by scalar, so a CR LF pair goes too; non-ASCII subjects encoded), then
    /// multipart/alternative with a text part and, when there is one, an HTML part, each
    /// base64 so no line of the body can end the DATA.
    public func rendered() -> String {
        func clean(_ s: String) -> String { ControlCharacters.removed(from: s) }
        func encodedWord(_ s: String) -> String {
            let c = clean(s)
            return c.allSatisfy(\.isASCII) ? c : "=?utf-8?B?\(Data(c.utf8).base64EncodedString())?="
        }
        func base64Lines(_ s: String) -> String {
            let b = Data(s.utf8).base64EncodedString()
            var out: [Substring] = []
            var i = b.startIndex
            while i < b.endIndex {
                let j = b.index(i, offsetBy: 76, limitedBy: b.endIndex) ?? b.endIndex
                out.append(b[i..<j])
                i = j
            }
            return out.joined(separator: "\r\n")
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        let boundary = "cognate-" + String(clean(messageId).filter { $0.isLetter || $0.isNumber })
        var lines = [
            "From: \(clean(from))", "To: \(clean(to))",
        ]
        if let replyTo { lines.append("Reply-To: \(clean(replyTo))") }
        lines += [
            "Subject: \(encodedWord(subject))", "Date: \(formatter.string(from: date))",
            "Message-ID: <\(clean(messageId))>", "MIME-Version: 1.0",
            "Content-Type: multipart/alternative; boundary=\"\(boundary)\"", "",
            "--\(boundary)", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64", "",
            base64Lines(text),
        ]
        if let html {
            lines += [
                "--\(boundary)", "Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: base64", "",
                base64Lines(html),
            ]
        }
        lines.append("--\(boundary)--")
        return lines.joined(separator: "\r\n")
    }
}

/// Why a delivery did not happen: worth retrying (a 4xx reply, a connection that failed or
/// timed out) or not (a 5xx reply, an address the server refuses).
public enum DeliveryError: Error, CustomStringConvertible {
    case transient(String)
    case permanent(String)

    public var description: String {
        switch self {
        case .transient(let s): "transient: \(s)"
        case .permanent(let s): "permanent: \(s)"
        }
    }
}

/// An SMTP client on swift-nio: one connection per message (EHLO, STARTTLS when offered
/// or required, AUTH PLAIN or LOGIN when credentials are given, MAIL, RCPT, DATA, QUIT).
public struct SMTPClient: Sendable {
    let group: any EventLoopGroup
    /// The whole conversation's limit.
    let timeout: Duration
    /// The name this client gives in EHLO.
    let heloName: String

    public init(group: any EventLoopGroup, timeout: Duration = .seconds(30), heloName: String = "cognate.local") {
        self.group = group
        self.timeout = timeout
        self.heloName = heloName
    }

    public func send(_ message: EmailMessage, via server: SMTPServer) async throws(DeliveryError) {
        let inbox = LineInbox()
        let channel: any Channel
        do {
            let tls = try server.implicitTLS ? Self.tlsContext(server) : nil
            let host = server.host
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(10))
                .channelInitializer { ch in
                    ch.eventLoop.makeCompletedFuture {
                        if let tls {
                            try ch.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: tls, serverHostname: host))
                        }
                        try ch.pipeline.syncOperations.addHandler(LineSplitter(inbox))
                    }
                }
                .connect(host: server.host, port: server.port).get()
        } catch {
            throw .transient("cannot connect to \(server.host):\(server.port): \(error)")
        }
        let conversation = Conversation(channel: channel, inbox: inbox, server: server, helo: heloName)
        let limit = timeout
        let result: Result<Void, DeliveryError> = await withTaskGroup(of: Result<Void, DeliveryError>?.self) { group in
            group.addTask {
                do throws(DeliveryError) {
                    try await conversation.run(message)
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return Task.isCancelled ? nil : .failure(.transient("no answer within \(limit)"))
            }
            var first: Result<Void, DeliveryError>?
            while first == nil, let next = await group.next() { first = next }
            group.cancelAll()
            channel.close(promise: nil)
            return first ?? .failure(.transient("the conversation ended without a result"))
        }
        try result.get()
    }

    static func tlsContext(_ server: SMTPServer) throws -> NIOSSLContext {
        var config = TLSConfiguration.makeClientConfiguration()
        if let ca = server.caFile { config.trustRoots = .file(ca) }
        return try NIOSSLContext(configuration: config)
    }

    /// One SMTP conversation over a connected channel.
    struct Conversation: Sendable {
        let channel: any Channel
        let inbox: LineInbox
        let server: SMTPServer
        let helo: String

        func run(_ m: EmailMessage) async throws(DeliveryError) {
            try await expect(220, "greeting")
            var features = try await ehlo()
            var secure = server.implicitTLS
            if !secure && server.startTLS != .off {
                if features.contains(where: { $0.uppercased() == "STARTTLS" }) {
                    try await command("STARTTLS", expect: 220)
                    do {
                        let context = try SMTPClient.tlsContext(server)
                        let (channel, host) = (channel, server.host)
                        try await channel.eventLoop.submit {
                            try channel.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: context, serverHostname: host), position: .first)
                        }.get()
                    } catch {
                        throw .transient("STARTTLS failed: \(error)")
                    }
                    secure = true
                    features = try await ehlo()
                } else if server.startTLS == .required {
                    throw .transient("\(server.host) does not offer STARTTLS, which the definition requires")
                }
            }
            if let user = server.username, let password = server.password {
                guard secure || server.mayAuthenticateInClear else {
                    throw .permanent("refusing to send SMTP credentials to \(server.host) without TLS")
                }
                try await authenticate(user, password, features)
            }
            try await command("MAIL FROM:<\(try address(m.from))>", expect: 250)
            try await command("RCPT TO:<\(try address(m.to))>", expect: 250, or: 251)
            try await command("DATA", expect: 354)
            // Dot-stuffing: a line that starts with "." gets another.
            let body = m.rendered().components(separatedBy: "\r\n").map { $0.hasPrefix(".") ? "." + $0 : $0 }
            try await write(body.joined(separator: "\r\n") + "\r\n.")
            try await expect(250, "DATA")
            try? await write("QUIT")
        }

        /// The address inside angle brackets: what is between < and > if given so. An address
        /// with anything that could end or extend the command (a control character, by
        /// scalar, a space, an angle bracket) is refused, never trimmed into another one.
        func address(_ s: String) throws(DeliveryError) -> String {
            try Self.commandAddress(s)
        }

        static func commandAddress(_ s: String) throws(DeliveryError) -> String {
            var a = Substring(s)
            if let open = a.lastIndex(of: "<"), let close = a.lastIndex(of: ">"), open < close {
                a = a[a.index(after: open)..<close]
            }
            guard !a.isEmpty, !ControlCharacters.contains(a),
                !a.unicodeScalars.contains(where: { $0 == "<" || $0 == ">" || $0.properties.isWhitespace })
            else {
                throw .permanent("refusing an address that could change the SMTP command: \(a.debugDescription)")
            }
            return String(a)
        }

        func ehlo() async throws(DeliveryError) -> [String] {
            let lines = try await command("EHLO \(helo)", expect: 250)
            return lines.dropFirst().map { String($0.split(separator: " ").first ?? "") }
                + lines.dropFirst().filter { $0.uppercased().hasPrefix("AUTH") }
        }

        func authenticate(_ user: String, _ password: String, _ features: [String]) async throws(DeliveryError) {
            let auth = features.first { $0.uppercased().hasPrefix("AUTH ") }?.uppercased() ?? ""
            if auth.contains("PLAIN") {
                let token = Data(([0] + Array(user.utf8) + [0] + Array(password.utf8))).base64EncodedString()
                try await command("AUTH PLAIN \(token)", expect: 235)
            } else if auth.contains("LOGIN") {
                try await command("AUTH LOGIN", expect: 334)
                try await command(Data(user.utf8).base64EncodedString(), expect: 334)
                try await command(Data(password.utf8).base64EncodedString(), expect: 235)
            } else {
                throw .permanent("\(server.host) offers neither AUTH PLAIN nor AUTH LOGIN")
            }
        }

        func write(_ line: String) async throws(DeliveryError) {
            do {
                try await channel.writeAndFlush(ByteBuffer(string: line + "\r\n")).get()
            } catch {
                throw .transient("writing to \(server.host): \(error)")
            }
        }

        /// Sends one command line; a line with a control character in it (by scalar) would
        /// be two commands, and is never sent.
        @discardableResult
        func command(_ line: String, expect code: Int, or other: Int? = nil) async throws(DeliveryError) -> [String] {
            guard !ControlCharacters.contains(line) else {
                throw .permanent("refusing an SMTP command with a control character in it")
            }
            try await write(line)
            return try await expect(code, line.split(separator: " ").first.map(String.init) ?? "", or: other)
        }

        /// Reads one reply (its continuation lines too) and checks its code.
        @discardableResult
        func expect(_ code: Int, _ what: String, or other: Int? = nil) async throws(DeliveryError) -> [String] {
            var lines: [String] = []
            var status = 0
            while true {
                let line: String
                do {
                    line = try await inbox.next()
                } catch {
                    throw .transient("waiting for the reply to \(what): \(error)")
                }
                guard line.count >= 3, let n = Int(line.prefix(3)) else {
                    throw .transient("not an SMTP reply to \(what): \(line.prefix(80))")
                }
                status = n
                lines.append(String(line.dropFirst(4)))
                if line.count == 3 || line[line.index(line.startIndex, offsetBy: 3)] == " " { break }
                if lines.count > 100 { throw .transient("a reply of over 100 lines to \(what)") }
            }
            guard status == code || status == other else {
                let text = "\(what) answered \(status) \(lines.last ?? "")"
                throw (500..<600).contains(status) ? .permanent(text) : .transient(text)
            }
            return lines
        }
    }
}
