import AuthCrypto
import Sharding

/// What the server keeps between the two SRP steps, sealed into SECRET_BLOCK so any front
/// can finish the challenge: who is signing in (the identifier given, the canonical name the
/// attempt counts against, USER_ID_FOR_SRP), the server's b and B, the client's A, and the
/// verifier B was made from, so step 2 needs no read of it (the slot step 2 takes on the
/// user's shard leader says whether the verifier is still the current one), and the node
/// (and its run, `boot`) that read the user, where the challenge is claimed, once.
///
/// Sealed in `SealedFormat`: the client passes it back whole, and it is signed over.
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

    public var encoded: [UInt8] {
        var w = SealedFormat.writer(.srpChallenge)
        for text in [pool, client, identifier, canonical, userIdForSrp, clientA] { w.string(text) }
        for bytes in [b, B, verifier.salt, verifier.verifier, verifier.powers] { w.blob(bytes) }
        w.i64(issuedAt)
        w.u64(node)
        w.u64(boot)
        return w.bytes
    }

    /// Decodes what `encoded` wrote; nil for anything else.
    public init?(decoding bytes: [UInt8]) {
        guard
            let s = SealedFormat.read(
                bytes, .srpChallenge,
                { (r: inout BinaryReader) throws(BinaryReader.Truncated) in
                    let texts = try (0..<6).map { _ throws(BinaryReader.Truncated) in try r.string() }
                    let blobs = try (0..<5).map { _ throws(BinaryReader.Truncated) in try r.blob(max: 1 << 16) }
                    return SRPChallengeState(
                        pool: texts[0], client: texts[1], identifier: texts[2], canonical: texts[3],
                        userIdForSrp: texts[4], b: blobs[0], B: blobs[1], clientA: texts[5],
                        verifier: PasswordVerifier(salt: blobs[2], verifier: blobs[3], powers: blobs[4]),
                        issuedAt: try r.i64(), node: try r.u64(), boot: try r.u64())
                })
        else { return nil }
        self = s
    }
}
