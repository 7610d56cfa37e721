import CCrypto

/// The benchmark floor: one bare libcrypto modular exponentiation with the same shape as the
/// sign-in's (3072-bit modulus N, random base, 256-bit exponent, Montgomery context built
/// once), so hot-path figures can be reported as a ratio to what libcrypto alone achieves.
public final class ModexpFloor {
    private let group: SRPGroup
    private let ctx: OpaquePointer
    private let base: OpaquePointer, exponent: OpaquePointer, result: OpaquePointer

    public init(group: SRPGroup = .cognito, using rng: inout some RandomNumberGenerator) {
        self.group = group
        guard let ctx = BN_CTX_new(), let base = BN_new(), let exponent = BN_new(), let result = BN_new() else {
            fatalError("libcrypto: out of memory")
        }
        self.ctx = ctx
        self.base = base
        self.exponent = exponent
        self.result = result
        let baseBytes = (0..<group.byteLength).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let exponentBytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        baseBytes.withUnsafeBufferPointer { _ = BN_bin2bn($0.baseAddress, Int32($0.count), base) }
        BN_nnmod(base, base, group.N.bn, ctx)
        exponentBytes.withUnsafeBufferPointer { _ = BN_bin2bn($0.baseAddress, Int32($0.count), exponent) }
    }

    deinit {
        BN_CTX_free(ctx)
        BN_free(base)
        BN_free(exponent)
        BN_free(result)
    }

    /// One base^exponent mod N.
    @inline(never)
    public func run() {
        BN_mod_exp_mont(result, base, exponent, group.N.bn, ctx, group.mont)
    }
}

/// The token half of the floor: one bare libcrypto RSA-2048 PKCS#1 v1.5 SHA-256 signature
/// (what RS256 is) over a token-sized input. A sign-in issues two tokens (id and access).
public final class RSASignFloor {
    private let key: LibcryptoRSAKey
    private let message: [UInt8]

    /// `privateKeyDER`: a PKCS#1 or PKCS#8 RSA private key, e.g. `JWTSigner.privateKeyDER`.
    public init(privateKeyDER: [UInt8], messageLength: Int = 900) {
        guard let key = LibcryptoRSAKey(privateKeyDER: privateKeyDER) else {
            fatalError("libcrypto: cannot load the RSA key")
        }
        self.key = key
        message = [UInt8](repeating: 0x61, count: messageLength)
    }

    /// One signature; returns its length (256 for RSA-2048).
    @inline(never)
    @discardableResult
    public func run() -> Int { key.signSHA256(message)?.count ?? 0 }
}

/// An RSA private key in libcrypto, for RS256 signatures (RSASSA-PKCS1-v1_5 with SHA-256).
/// libcrypto's RSA is about three times as fast here as the BoringSSL copy inside
/// swift-crypto. Signing from several threads at once is safe (the key is never changed).
public final class LibcryptoRSAKey: @unchecked Sendable {
    private let key: OpaquePointer

    public init?(privateKeyDER: [UInt8]) {
        var key: OpaquePointer?
        privateKeyDER.withUnsafeBufferPointer { buffer in
            var p: UnsafePointer<UInt8>? = buffer.baseAddress
            key = d2i_AutoPrivateKey(nil, &p, buffer.count)
        }
        guard let key else { return nil }
        self.key = key
    }

    deinit { EVP_PKEY_free(key) }

    /// The signature of SHA-256(`message`), or nil if libcrypto fails.
    public func signSHA256(_ message: [UInt8]) -> [UInt8]? {
        guard let context = EVP_MD_CTX_new() else { return nil }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, EVP_sha256(), nil, key) == 1 else { return nil }
        var signature = [UInt8](repeating: 0, count: 512)
        var length = signature.count
        let ok = signature.withUnsafeMutableBufferPointer { sig in
            message.withUnsafeBufferPointer { msg in
                EVP_DigestSign(context, sig.baseAddress, &length, msg.baseAddress, msg.count)
            }
        }
        guard ok == 1 else { return nil }
        return Array(signature.prefix(length))
    }
}
