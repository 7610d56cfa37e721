import Foundation
import NIOCore
import NIOSSL
import NIOTLS
import X509

/// Who is at the other end of a cluster connection, as its certificate says: the URI in its
/// subject alternative names, `cognate://node/<id>`, `cognate://front/<name>` or
/// `cognate://operator/<name>`. The CA signs only what `cognate certs` issues, so a process
/// cannot claim another's identity.
public enum ClusterIdentity: Sendable, Equatable, CustomStringConvertible {
    /// A storage node: may send Raft traffic, snapshots and client requests.
    case node(UInt64)
    /// A front: the user-pool reads and writes the API makes, and status; nothing else.
    case front(String)
    /// An operator's tools (membership, backup and restore, reshard, the key-value harness,
    /// users export and import, drills): every client request, no Raft traffic.
    case `operator`(String)

    public var uri: String {
        switch self {
        case .node(let id): "cognate://node/\(id)"
        case .front(let name): "cognate://front/\(name)"
        case .operator(let name): "cognate://operator/\(name)"
        }
    }

    public var description: String {
        switch self {
        case .node(let id): "node \(id)"
        case .front(let name): "front \(name)"
        case .operator(let name): "operator \(name)"
        }
    }

    public init?(uri: String) {
        if uri.hasPrefix("cognate://node/"), let id = UInt64(uri.dropFirst("cognate://node/".count)), id > 0 {
            self = .node(id)
        } else if uri.hasPrefix("cognate://front/"), uri.count > "cognate://front/".count {
            self = .front(String(uri.dropFirst("cognate://front/".count)))
        } else if uri.hasPrefix("cognate://operator/"), uri.count > "cognate://operator/".count {
            self = .operator(String(uri.dropFirst("cognate://operator/".count)))
        } else {
            return nil
        }
    }

    /// The one cluster identity a certificate names (nil: none, or more than one).
    public init?(certificate: NIOSSLCertificate) {
        guard let der = try? certificate.toDERBytes(), let parsed = try? Certificate(derEncoded: der),
            let names = try? parsed.extensions.subjectAlternativeNames
        else { return nil }
        let identities = names.compactMap { name -> ClusterIdentity? in
            if case .uniformResourceIdentifier(let uri) = name { return ClusterIdentity(uri: uri) }
            return nil
        }
        guard identities.count == 1 else { return nil }
        self = identities[0]
    }
}

/// Which certificate a process that is not a node presents.
public enum ClientRole: Sendable {
    /// `front.pem`: the API's user-pool reads and writes only.
    case front
    /// `operator.pem`: the tools' every request.
    case `operator`
}

/// The TLS contexts of one cluster process: its own certificate and key, and the cluster's
/// CA as the only trust root, with the peer's certificate required in both directions
/// (TLS 1.3). Hostnames are not checked; the identity in the certificate is
/// (`IdentityCheck`).
public struct ClusterTLS: Sendable {
    public let identity: ClusterIdentity
    let server: NIOSSLContext?
    let client: NIOSSLContext?

    /// Set to `insecure` in every process of a cluster, this turns TLS off, and with it
    /// every identity check: peers are who their hello says. It exists only so benchmarks
    /// can measure what TLS costs in the same build (`Benchmarks/tls-cost.sh`); no definition
    /// can ask for it, and a process that honours it says so in its log.
    public static let plaintextVariable = "COGNATE_PLAINTEXT_FOR_BENCHMARKS"

    /// Whether this process runs without TLS (`plaintextVariable`).
    public var isPlaintext: Bool { server == nil }

    static var plaintextRequested: Bool {
        ProcessInfo.processInfo.environment[plaintextVariable] == "insecure"
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The contexts of node `nodeId`, or, for nil, of a front or an operator's tool (`role`).
    public static func load(
        _ config: ClusterConfig, node nodeId: UInt64?, role: ClientRole = .operator
    ) throws
        -> ClusterTLS
    {
        if plaintextRequested {
            return ClusterTLS(plaintext: nodeId.map { .node($0) } ?? .operator("plaintext"))
        }
        if let nodeId {
            guard let entry = config.node(nodeId) else {
                throw Failure(description: "node \(nodeId) is not in the cluster definition")
            }
            return try ClusterTLS(
                identity: .node(nodeId), ca: config.caCertificatePath, certificate: config.certificatePath(node: entry),
                key: config.keyPath(node: entry))
        }
        switch role {
        case .front:
            return try ClusterTLS(
                identity: .front("front"), ca: config.caCertificatePath, certificate: config.frontCertificatePath,
                key: config.frontKeyPath)
        case .operator:
            return try ClusterTLS(
                identity: .operator("operator"), ca: config.caCertificatePath,
                certificate: config.operatorCertificatePath, key: config.operatorKeyPath)
        }
    }

    init(plaintext identity: ClusterIdentity) {
        self.identity = identity
        server = nil
        client = nil
    }

    init(identity expected: ClusterIdentity, ca: String, certificate: String, key: String) throws {
        func read(_ path: String, _ what: String) throws -> [UInt8] {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw Failure(
                    description:
                        "cannot read \(what) \(path): create the cluster's certificates with `cognate certs create "
                        + "--config FILE`"
                )
            }
            return Array(data)
        }
        let caCerts = try NIOSSLCertificate.fromPEMBytes(read(ca, "the cluster CA certificate"))
        let chain = try NIOSSLCertificate.fromPEMBytes(read(certificate, "the certificate"))
        let privateKey = try NIOSSLPrivateKey(bytes: read(key, "the private key"), format: .pem)
        guard let own = chain.first, let identity = ClusterIdentity(certificate: own) else {
            throw Failure(
                description:
                    "\(certificate) names no cluster identity (cognate://node/<id>, cognate://front/<name> or "
                    + "cognate://operator/<name>)")
        }
        let matches: Bool
        switch (identity, expected) {
        case (.node(let a), .node(let b)): matches = a == b
        case (.front, .front), (.operator, .operator): matches = true
        default: matches = false
        }
        guard matches else {
            throw Failure(description: "\(certificate) is the certificate of \(identity), not of \(expected)")
        }
        self.identity = identity
        var server = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        server.trustRoots = .certificates(caCerts)
        server.certificateVerification = .noHostnameVerification
        server.minimumTLSVersion = .tlsv13
        var client = TLSConfiguration.makeClientConfiguration()
        client.certificateChain = chain.map { .certificate($0) }
        client.privateKey = .privateKey(privateKey)
        client.trustRoots = .certificates(caCerts)
        client.certificateVerification = .noHostnameVerification
        client.minimumTLSVersion = .tlsv13
        self.server = try NIOSSLContext(configuration: server)
        self.client = try NIOSSLContext(configuration: client)
    }

    /// Adds the TLS handler and the identity check to an accepted connection; `admit`
    /// says whether the peer's identity may use this port.
    public func secureAccepted(
        _ channel: Channel, handshakeTimeout: TimeAmount, admit: @escaping @Sendable (ClusterIdentity) -> Bool
    ) throws {
        let ops = channel.pipeline.syncOperations
        guard let server else { return try ops.addHandler(PlaintextIdentity(.operator("plaintext"))) }
        try ops.addHandler(NIOSSLServerHandler(context: server))
        try ops.addHandler(IdentityCheck(timeout: handshakeTimeout, admit: admit))
    }

    /// Adds the TLS handler and the identity check to a dialed connection: the peer must be
    /// `expected`.
    public func secureDialed(
        _ channel: Channel, expecting expected: ClusterIdentity, handshakeTimeout: TimeAmount
    ) throws {
        let ops = channel.pipeline.syncOperations
        guard let client else { return try ops.addHandler(PlaintextIdentity(expected)) }
        try ops.addHandler(try NIOSSLClientHandler(context: client, serverHostname: nil))
        try ops.addHandler(IdentityCheck(timeout: handshakeTimeout) { $0 == expected })
    }
}

/// Holds a connection until its TLS handshake completes, then lets it through only if the
/// peer's certificate names an identity `admit` accepts; closes it otherwise, or when the
/// handshake takes longer than `timeout`. Stays in the pipeline and tells the handlers
/// after it who the peer is with an `Identified` user event.
public final class IdentityCheck: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = NIOAny

    /// Fired once the peer's identity is known and admitted.
    public struct Identified: Sendable {
        public var identity: ClusterIdentity
    }

    let timeout: TimeAmount
    let admit: @Sendable (ClusterIdentity) -> Bool
    private var timer: Scheduled<Void>?
    private var identified = false

    init(timeout: TimeAmount, admit: @escaping @Sendable (ClusterIdentity) -> Bool) {
        self.timeout = timeout
        self.admit = admit
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startTimer(context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        startTimer(context)
        context.fireChannelActive()
    }

    private func startTimer(_ context: ChannelHandlerContext) {
        guard timer == nil else { return }
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // TLS delivers nothing before its handshake; this holds only for safety.
        guard identified else { return context.close(promise: nil) }
        context.fireChannelRead(data)
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case TLSUserEvent.handshakeCompleted = event else { return context.fireUserInboundEventTriggered(event) }
        timer?.cancel()
        let certificate = try? context.pipeline.syncOperations.handler(type: NIOSSLHandler.self).peerCertificate
        guard let certificate, let identity = ClusterIdentity(certificate: certificate), admit(identity) else {
            context.fireErrorCaught(IdentityRefused())
            context.close(promise: nil)
            return
        }
        identified = true
        context.fireUserInboundEventTriggered(event)
        context.fireUserInboundEventTriggered(Identified(identity: identity))
    }

    struct IdentityRefused: Error, CustomStringConvertible {
        var description: String { "the peer's certificate names no cluster identity allowed here" }
    }
}

/// Without TLS (`ClusterTLS.plaintextVariable`): tells the handlers after it, as soon as the
/// connection is up, the identity it assumes.
final class PlaintextIdentity: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let identity: ClusterIdentity
    private var told = false

    init(_ identity: ClusterIdentity) { self.identity = identity }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { tell(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        tell(context)
    }

    private func tell(_ context: ChannelHandlerContext) {
        guard !told else { return }
        told = true
        let event = IdentityCheck.Identified(identity: identity)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.eventLoop.execute { bound.value.fireUserInboundEventTriggered(event) }
    }
}
