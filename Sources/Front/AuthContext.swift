import AuthCrypto
import Crypto
import Foundation
import NIOConcurrencyHelpers
import UserPool

/// What every front of a cluster shares for sign-in: keys derived from the master key (so
/// any front opens what another sealed), the pools' signers, and short-lived caches of
/// pools and clients for the sign-in path.
///
/// `@unchecked Sendable`: the caches are under `lock`; everything else is immutable.
public final class AuthContext: @unchecked Sendable {
    /// Seals pool signing keys at rest.
    let keySealer: Sealer
    /// Seals SECRET_BLOCK and challenge Sessions (minutes).
    let challengeSealer: Sealer
    /// Seals refresh tokens (days).
    let tokenSealer: Sealer
    /// Derives fake salts for unknown users, so they look like real ones.
    let fakeSaltKey: SymmetricKey
    public let publicURL: String
    let cacheSeconds: Double
    private let lock = NIOLock()
    private var signers: [String: JWTSigner] = [:]
    private var pools: [String: (Pool, Double)] = [:]
    private var clients: [String: (AppClient, Double)] = [:]

    public init(masterKey: [UInt8], publicURL: String, cacheSeconds: Double = 5) {
        let master = SymmetricKey(data: masterKey)
        func derive(_ label: String) -> [UInt8] {
            HKDF<SHA256>.deriveKey(inputKeyMaterial: master, info: Array("cognate \(label)".utf8), outputByteCount: 32)
                .withUnsafeBytes { Array($0) }
        }
        keySealer = Sealer(sealingKey: .init(id: 1, bytes: derive("signing keys")))
        challengeSealer = Sealer(sealingKey: .init(id: 1, bytes: derive("challenges")))
        tokenSealer = Sealer(sealingKey: .init(id: 1, bytes: derive("refresh tokens")))
        fakeSaltKey = SymmetricKey(data: derive("fake salts"))
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.cacheSeconds = cacheSeconds
    }

    /// A master key from hex, or derived from the admin keys when none is configured.
    public static func masterKey(hex: String?, fallback: [String: String]) -> [UInt8] {
        if let hex, let bytes = SRPHex.decode(hex), bytes.count >= 16 { return bytes }
        let material = fallback.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",")
        return Array(SHA256.hash(data: Array("cognate master key|\(material)".utf8)))
    }

    /// Runs CPU-heavy crypto (a millisecond or so) in the calling task. `cognate front` runs
    /// Swift's tasks on NIO's shared event loops, one per core (`runTasksOnEventLoops`), and
    /// serves HTTP on them too, so this is the pool sized to the cores: a hop to a separate
    /// pool and back cost two context switches per call and measured slower. The price is
    /// that a connection's reads wait while its loop computes; each loop holds a share of
    /// the connections, and every computation is short.
    func crypto<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try body()
    }

    func issuer(_ poolId: String) -> String { "\(publicURL)/\(poolId)" }

    func signer(for pool: Pool) throws -> JWTSigner {
        guard let sealed = pool.signingKey else { throw CognitoError.internalError("user pool \(pool.id) has no signing key") }
        if let s = lock.withLock({ signers[pool.id] }), s.keyId == sealed.keyId { return s }
        let der = try keySealer.open(sealed.sealed, now: 0)
        let signer = try JWTSigner(keyId: sealed.keyId, privateKeyDER: der)
        lock.withLock { signers[pool.id] = signer }
        return signer
    }

    func newSigningKey() async throws -> SealedSigningKey {
        let keyId = Base64URL.encode((0..<16).map { _ in UInt8.random(in: 0...255) })
        let der = try await crypto { try JWTSigner.generate(keyId: keyId).privateKeyDER }
        var rng = SystemRandomNumberGenerator()
        return SealedSigningKey(keyId: keyId, sealed: keySealer.seal(der, expiresAt: .max, using: &rng))
    }

    func cachedPool(_ id: String, load: () async throws -> Pool) async throws -> Pool {
        let now = Date().timeIntervalSince1970
        if let (p, at) = lock.withLock({ pools[id] }), now - at < cacheSeconds { return p }
        let p = try await load()
        lock.withLock { pools[id] = (p, now) }
        return p
    }

    func cachedClient(_ id: String, load: () async throws -> AppClient) async throws -> AppClient {
        let now = Date().timeIntervalSince1970
        if let (c, at) = lock.withLock({ clients[id] }), now - at < cacheSeconds { return c }
        let c = try await load()
        lock.withLock { clients[id] = (c, now) }
        return c
    }
}
