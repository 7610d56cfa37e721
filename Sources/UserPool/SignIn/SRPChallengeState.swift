import AuthCrypto

/// What the server keeps between the two SRP steps, sealed into SECRET_BLOCK so any front
/// can finish the challenge: who is signing in (the identifier given, the canonical name the
/// attempt counts against, USER_ID_FOR_SRP), the server's b and B, the client's A, and the
/// verifier B was made from, so step 2 needs no read of it (the slot step 2 takes on the
/// user's shard leader says whether the verifier is still the current one), and the node
/// (and its run, `boot`) that read the user, where the challenge is claimed, once.
///
/// Binary and length-prefixed: the client passes it back whole, and it is signed over.
public struct SRPChallengeState: Sendable, Equatable {
    public var pool: String
    public var client: String
    public var identifier: String
    public var canonical: String
    public var userIdForSrp: String
    public var b: [UInt8]
    public var B: [UInt8]
    public var clientA: String
    public var verifier: PasswordVerifier
    public var issuedAt: Int64
    public var node: UInt64
    public var boot: UInt64

    public init(
        pool: String, client: String, identifier: String, canonical: String, userIdForSrp: String, b: [UInt8],
        B: [UInt8], clientA: String, verifier: PasswordVerifier, issuedAt: Int64, node: UInt64,
        boot: UInt64
    ) {
        self.pool = pool
        self.client = client
        self.identifier = identifier
        self.canonical = canonical
        self.userIdForSrp = userIdForSrp
        self.b = b
        self.B = B
        self.clientA = clientA
        self.verifier = verifier
        self.issuedAt = issuedAt
        self.node = node
        self.boot = boot
    }

    static let version: UInt8 = 2

    public var encoded: [UInt8] {
        var out: [UInt8] = [Self.version]
        func field(_ bytes: [UInt8]) {
            withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { out += $0 }
            out += bytes
        }
        for text in [pool, client, identifier, canonical, userIdForSrp, clientA] { field(Array(text.utf8)) }
        for bytes in [b, B, verifier.salt, verifier.verifier, verifier.powers] { field(bytes) }
        withUnsafeBytes(of: issuedAt.bigEndian) { out += $0 }
        withUnsafeBytes(of: node.bigEndian) { out += $0 }
        withUnsafeBytes(of: boot.bigEndian) { out += $0 }
        return out
    }

    /// Decodes what `encoded` wrote; nil for anything else (it came back from a client,
    /// though sealed: a box that opened is ours, but the check costs nothing).
    public init?(decoding bytes: [UInt8]) {
        var offset = 0
        func take(_ n: Int) -> ArraySlice<UInt8>? {
            guard n >= 0, bytes.count - offset >= n else { return nil }
            defer { offset += n }
            return bytes[offset..<(offset + n)]
        }
        func field() -> [UInt8]? {
            guard let n = take(4) else { return nil }
            let length = n.reduce(0) { $0 << 8 | Int($1) }
            return take(length).map(Array.init)
        }
        func text() -> String? { field().map { String(decoding: $0, as: UTF8.self) } }
        guard take(1)?.first == Self.version, let pool = text(), let client = text(), let identifier = text(),
            let canonical = text(), let userId = text(), let a = text(), let b = field(), let B = field(),
            let salt = field(), let v = field(), let powers = field(), let t = take(8), let node = take(8),
            let boot = take(8)
        else { return nil }
        self.init(
            pool: pool, client: client, identifier: identifier, canonical: canonical, userIdForSrp: userId, b: b, B: B,
            clientA: a, verifier: PasswordVerifier(salt: salt, verifier: v, powers: powers),
            issuedAt: Int64(bitPattern: t.reduce(0) { $0 << 8 | UInt64($1) }),
            node: node.reduce(0) { $0 << 8 | UInt64($1) }, boot: boot.reduce(0) { $0 << 8 | UInt64($1) })
        guard offset == bytes.count else { return nil }
    }
}
