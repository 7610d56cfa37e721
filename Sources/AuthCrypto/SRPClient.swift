import CCrypto
import Crypto

/// The client side of Cognito's SRP, as amazon-cognito-identity-js computes it; used by
/// `cognate bench signin` and by tests that sign in without Python.
///
/// The secret a is 256 bits (the JavaScript client draws 1024); that keeps a load generator
/// that shares cores with the server cheap, and changes nothing the server can see. For the
/// same reason S takes libcrypto's variable-time exponentiation, which a client holding a
/// real user's password should not (its exponent a + u·x carries the password's x).
public final class SRPClient {
    public let poolName: String
    public let password: String
    private let group: SRPGroup
    private let ctx: OpaquePointer
    private let a: OpaquePointer
    /// SRP_A: g^a mod N in hex.
    public let AHex: String
    private let paddedA: [UInt8]
    /// x and k·g^x for the last (user, salt): a client signing in as the same user again
    /// (a load generator reusing this object) skips that exponentiation.
    private var remembered: (user: String, salt: String, x: BigNum, kgx: BigNum)?

    public init(
        poolName: String, password: String, group: SRPGroup = .cognito, using rng: inout some RandomNumberGenerator
    ) {
        self.poolName = poolName
        self.password = password
        self.group = group
        guard let ctx = BN_CTX_new(), let a = BN_new(), let bigA = BN_new() else {
            fatalError("libcrypto: out of memory")
        }
        defer { BN_free(bigA) }
        self.ctx = ctx
        self.a = a
        var bytes = [UInt8](repeating: 0, count: 32)
        repeat {
            bytes = rng.bytes(32)
            bytes.withUnsafeBufferPointer { _ = BN_bin2bn($0.baseAddress, 32, a) }
            BN_mod_exp_mont_word(bigA, group.generator, a, group.N.bn, ctx, group.mont)
        } while BN_is_zero(bigA) == 1
        AHex = SRPHex.encode(BigNum.bytes(of: bigA))
        paddedA = SRPHex.padded(BigNum.bytes(of: bigA))
    }

    deinit {
        BN_CTX_free(ctx)
        BN_clear_free(a)
    }

    /// The 16-byte key from the server's SRP_B and SALT (hex, as sent).
    public func passwordKey(userIdForSrp: String, BHex: String, saltHex: String) throws(AuthCryptoError) -> [UInt8] {
        let B = try BigNum(hex: BHex)
        guard let saltBytes = SRPHex.decode(SRPHex.padHex(try validated(saltHex))) else {
            throw AuthCryptoError(.malformedHex, "SALT is not hex")
        }
        let x: BigNum, kgx: BigNum
        if let r = remembered, r.user == userIdForSrp, r.salt == saltHex {
            (x, kgx) = (r.x, r.kgx)
        } else {
            x = BigNum(
                bytes: SRPWorkspace.x(
                    salt: saltBytes, poolName: poolName, userIdForSrp: userIdForSrp, password: password))
            kgx = BigNum()
            BN_mod_exp_mont_word(kgx.bn, group.generator, x.bn, group.N.bn, ctx, group.mont)
            BN_mod_mul(kgx.bn, group.k.bn, kgx.bn, group.N.bn, ctx)
            remembered = (userIdForSrp, saltHex, x, kgx)
        }
        var hasher = SHA256()
        hasher.update(data: paddedA)
        hasher.update(data: SRPHex.padded(B.bytes))
        let u = BigNum(bytes: Array(hasher.finalize()))
        if u.isZero { throw AuthCryptoError(.zeroU, "u = H(A, B) is zero") }

        let base = BigNum(), e = BigNum(), s = BigNum()
        BN_mod_sub(base.bn, B.bn, kgx.bn, group.N.bn, ctx)
        BN_mul(e.bn, u.bn, x.bn, ctx)
        BN_add(e.bn, e.bn, a)
        BN_mod_exp_mont(s.bn, base.bn, e.bn, group.N.bn, ctx, group.mont)
        return SRPWorkspace.derivedKey(u: u.bytes, S: s.bytes)
    }

    /// PASSWORD_CLAIM_SIGNATURE (base64) for a PASSWORD_VERIFIER challenge.
    public func signature(
        userIdForSrp: String, BHex: String, saltHex: String, secretBlock: [UInt8], timestamp: String
    ) throws(AuthCryptoError) -> String {
        let key = try passwordKey(userIdForSrp: userIdForSrp, BHex: BHex, saltHex: saltHex)
        return Base64.encode(
            SRPWorkspace.claimSignature(
                key: key, poolName: poolName, userIdForSrp: userIdForSrp, secretBlock: secretBlock, timestamp: timestamp
            ))
    }

    private func validated(_ hex: String) throws(AuthCryptoError) -> String {
        try SRPHex.validate(hex)
        return hex
    }
}
