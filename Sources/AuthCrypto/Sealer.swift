import Crypto

/// AES-256-GCM boxes with a key id and an expiry, for state the server hands to clients and
/// must get back unaltered: SRP state in SECRET_BLOCK, challenge Sessions, refresh tokens.
///
/// Layout: `version(1) ‖ keyId(4, BE) ‖ expiresAt(8, BE, Unix seconds) ‖ nonce(12) ‖
/// ciphertext ‖ tag(16)`; the first 13 bytes are authenticated as associated data, so the
/// expiry cannot be moved. Several keys make rotation possible: seal with the newest, open
/// with any.
public struct Sealer: Sendable {
    public struct Key: Sendable {
        public var id: UInt32
        public var key: SymmetricKey

        /// `bytes` must be 32 bytes (AES-256).
        public init(id: UInt32, bytes: [UInt8]) {
            precondition(bytes.count == 32, "a sealing key is 32 bytes")
            self.id = id
            self.key = SymmetricKey(data: bytes)
        }
    }

    static let version: UInt8 = 1
    static let headerCount = 13
    static let overhead = headerCount + 12 + 16

    private let keys: [UInt32: SymmetricKey]
    private let current: UInt32

    /// Seals with `sealingKey`; opens boxes sealed with it or with any of `older`.
    public init(sealingKey: Key, older: [Key] = []) {
        var keys = [sealingKey.id: sealingKey.key]
        for k in older where k.id != sealingKey.id { keys[k.id] = k.key }
        self.keys = keys
        self.current = sealingKey.id
    }

    public func seal(
        _ plaintext: [UInt8], expiresAt: Int64, using rng: inout some RandomNumberGenerator
    ) -> [UInt8] {
        var header: [UInt8] = [Self.version]
        header += withUnsafeBytes(of: current.bigEndian, Array.init)
        header += withUnsafeBytes(of: expiresAt.bigEndian, Array.init)
        let nonceBytes = rng.bytes(12)
        // Both only fail on a wrong nonce size or key size, fixed here.
        let nonce = try! AES.GCM.Nonce(data: nonceBytes)
        let box = try! AES.GCM.seal(plaintext, using: keys[current]!, nonce: nonce, authenticating: header)
        return header + nonceBytes + Array(box.ciphertext) + Array(box.tag)
    }

    /// The plaintext of `box`, if it is well formed, sealed by a known key, unaltered and
    /// not expired at `now` (Unix seconds).
    public func open(_ box: [UInt8], now: Int64) throws(AuthCryptoError) -> [UInt8] {
        guard box.count >= Self.overhead, box[0] == Self.version else {
            throw AuthCryptoError(.malformedBox, "sealed box is truncated or of an unknown version")
        }
        let keyId = box[1..<5].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let expiresAt = Int64(bitPattern: box[5..<13].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        guard let key = keys[keyId] else {
            throw AuthCryptoError(.unknownKey, "sealed with key \(keyId), which this server does not hold")
        }
        let plaintext: [UInt8]
        do {
            let sealed = try AES.GCM.SealedBox(
                nonce: AES.GCM.Nonce(data: box[13..<25]),
                ciphertext: box[25..<(box.count - 16)],
                tag: box[(box.count - 16)...])
            plaintext = Array(try AES.GCM.open(sealed, using: key, authenticating: box[0..<13]))
        } catch {
            throw AuthCryptoError(.authenticationFailed, "sealed box failed authentication")
        }
        // Checked after authentication so a forged expiry cannot even produce this error.
        guard now <= expiresAt else { throw AuthCryptoError(.expired, "sealed box expired at \(expiresAt)") }
        return plaintext
    }
}
