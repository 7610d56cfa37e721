import AuthCrypto
import Crypto
import Foundation
import UserPool

/// What every front of a cluster shares for sign-in: keys derived from the master key (so
/// any front opens what another sealed) and the pools' signers.
///
/// `@unchecked Sendable`: the key ring and the signers are under `lock`; the rest is immutable.
public final class AuthContext: @unchecked Sendable {
    /// The sealers of one set of master keys.
    struct KeyRing {
        /// Seals pool signing keys at rest.
        let keySealer: Sealer
        /// Seals SECRET_BLOCK and challenge Sessions (minutes).
        let challengeSealer: Sealer
        /// Seals refresh tokens (days).
        let tokenSealer: Sealer
        let keys: MasterKeys

        init(_ keys: MasterKeys) {
            self.keys = keys
            keySealer = keys.sealer(purpose: "signing keys")
            challengeSealer = keys.sealer(purpose: "challenges")
            tokenSealer = keys.sealer(purpose: "refresh tokens")
        }
    }

    /// Derives fake salts for unknown users, so they look like real ones.
    let fakeSaltKey: SymmetricKey
    /// Keys the hashes that users' codes are kept as.
    let codeKey: SymmetricKey
    public let publicURL: String
    /// Reads the master keys again (nil: unchanged or unreadable); called at most every
    /// `reloadSeconds`, and at once when a box names a key this front does not hold yet.
    let reload: (@Sendable () -> MasterKeys?)?
    static let reloadSeconds = 30.0
    private let lock = NSLock()
    private var keyRing: KeyRing
    private var reloadedAt: Double
    private var signers: [String: JWTSigner] = [:]

    public init(masterKeys: MasterKeys, publicURL: String, reload: (@Sendable () -> MasterKeys?)? = nil) {
        keyRing = KeyRing(masterKeys)
        fakeSaltKey = SymmetricKey(data: masterKeys.secret(purpose: "fake salts"))
        codeKey = SymmetricKey(data: masterKeys.secret(purpose: "codes"))
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.reload = reload
        reloadedAt = Date().timeIntervalSince1970
    }

    /// The current sealers, after a reload of the keys if one is due (or `force`d).
    func ring(force: Bool = false) -> KeyRing {
        let now = Date().timeIntervalSince1970
        let due = lock.withLock { () -> Bool in
            guard reload != nil, force || now - reloadedAt >= Self.reloadSeconds else { return false }
            reloadedAt = now
            return true
        }
        if due, let keys = reload?() {
            return lock.withLock {
                if keys != keyRing.keys { keyRing = KeyRing(keys) }
                return keyRing
            }
        }
        return lock.withLock { keyRing }
    }

    var keySealer: Sealer { ring().keySealer }
    var challengeSealer: Sealer { ring().challengeSealer }
    var tokenSealer: Sealer { ring().tokenSealer }

    /// Opens a box sealed by any front of the cluster: a key id this front does not know yet
    /// (another front's keys were rotated first) makes it read the keys again, once.
    func open(_ box: [UInt8], now: Int64, _ sealer: KeyPath<KeyRing, Sealer>) throws(AuthCryptoError) -> [UInt8] {
        do {
            return try ring()[keyPath: sealer].open(box, now: now)
        } catch  where error.code == .unknownKey {
            return try ring(force: true)[keyPath: sealer].open(box, now: now)
        }
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
        guard let sealed = pool.signingKey else {
            throw PoolError(.internalError, "user pool \(pool.id) has no signing key")
        }
        if let s = lock.withLock({ signers[pool.id] }), s.keyId == sealed.keyId { return s }
        let der = try open(sealed.sealed, now: 0, \.keySealer)
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
}
