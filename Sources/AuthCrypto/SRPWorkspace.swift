import CCrypto
import Crypto

/// The server's state between SRP steps: the secret b and the public B sent to the client.
/// The sign-in flow seals it into SECRET_BLOCK, so any front can finish the challenge.
public struct SRPServerChallenge: Sendable, Hashable {
    /// The server's secret exponent, 32 bytes.
    public var b: [UInt8]
    /// B = k·v + g^b mod N, big-endian, padded to the group's byte length.
    public var B: [UInt8]

    public init(b: [UInt8], B: [UInt8]) {
        self.b = b
        self.B = B
    }

    /// The SRP_B challenge parameter: B in hex without leading zeros.
    public var BHex: String { SRPHex.encode(B) }
}

/// Per-thread scratch space and the server side of Cognito's SRP-6a.
///
/// Not `Sendable`: each worker thread owns one, so the BN_CTX and the temporaries are
/// allocated once and reused by every sign-in that thread runs. The group (N, k and its
/// Montgomery context) is shared.
public final class SRPWorkspace {
    public let group: SRPGroup
    private let ctx: OpaquePointer
    private let t1: OpaquePointer, t2: OpaquePointer, t3: OpaquePointer
    private let exponent: OpaquePointer, base: OpaquePointer
    /// Scratch for the table of powers of g: one entry as a BIGNUM and as words.
    private let entry: OpaquePointer
    private let entryWords: UnsafeMutablePointer<UInt64>
    /// Scratch for v^u from a verifier's stored powers: the products of every subset of
    /// v, v^(2^64), v^(2^128), v^(2^192), in Montgomery form (index 0 unused).
    private let products: [OpaquePointer]

    /// Bits between a verifier's stored powers: v^(2^64), v^(2^128), v^(2^192).
    public static let powerSpacing = 64

    /// Bytes in the server's secret exponent b: 256 bits.
    public static let secretExponentBytes = 32

    public init(group: SRPGroup = .cognito) {
        self.group = group
        guard let ctx = BN_CTX_new(), let t1 = BN_new(), let t2 = BN_new(), let t3 = BN_new(),
            let exponent = BN_new(), let base = BN_new(), let entry = BN_new()
        else { fatalError("libcrypto: out of memory") }
        self.entry = entry
        entryWords = .allocate(capacity: group.powers.words)
        products = (0..<16).map { _ in
            guard let bn = BN_new() else { fatalError("libcrypto: out of memory") }
            return bn
        }
        self.ctx = ctx
        self.t1 = t1
        self.t2 = t2
        self.t3 = t3
        self.exponent = exponent
        self.base = base
    }

    deinit {
        BN_CTX_free(ctx)
        for bn in [t1, t2, t3, exponent, base, entry] + products { BN_clear_free(bn) }
        entryWords.update(repeating: 0, count: group.powers.words)
        entryWords.deallocate()
    }

    // MARK: Password verifiers

    /// x = H(padHex(salt) ‖ H(poolName ‖ userIdForSrp ‖ ":" ‖ password)), as a 32-byte digest.
    public static func x(salt: [UInt8], poolName: String, userIdForSrp: String, password: String) -> [UInt8] {
        let inner = SHA256.hash(data: Array((poolName + userIdForSrp + ":" + password).utf8))
        var outer = SHA256()
        outer.update(data: SRPHex.padded(strippingLeadingZeros(salt)))
        outer.update(data: Array(inner))
        return Array(outer.finalize())
    }

    /// Creates the verifier stored for a new password: a random 16-byte salt and g^x mod N.
    public func makeVerifier(
        poolName: String, userIdForSrp: String, password: String, using rng: inout some RandomNumberGenerator
    ) -> PasswordVerifier {
        let salt = rng.bytes(16)
        return verifier(salt: salt, poolName: poolName, userIdForSrp: userIdForSrp, password: password)
    }

    /// The verifier for a given salt: v = g^x mod N, with its powers unless
    /// `includingPowers` is false (a challenge for an unknown user needs only B = k·v + g^b,
    /// and should cost no more than a known user's).
    public func verifier(
        salt: [UInt8], poolName: String, userIdForSrp: String, password: String, includingPowers: Bool = true
    ) -> PasswordVerifier {
        let x = Self.x(salt: salt, poolName: poolName, userIdForSrp: userIdForSrp, password: password)
        let v = gToThe(x)
        return PasswordVerifier(salt: salt, verifier: v, powers: includingPowers ? powers(ofVerifier: v) : [])
    }

    /// v^(2^64), v^(2^128) and v^(2^192), padded and concatenated, as `PasswordVerifier`
    /// stores them: 192 squarings, once per password.
    public func powers(ofVerifier v: [UInt8]) -> [UInt8] {
        load(t2, v)
        reduce(t2)
        expect(BN_to_montgomery(t2, t2, group.mont, ctx))
        var out: [UInt8] = []
        out.reserveCapacity(3 * group.byteLength)
        for _ in 1...3 {
            for _ in 0..<Self.powerSpacing { expect(BN_mod_mul_montgomery(t2, t2, t2, group.mont, ctx)) }
            expect(BN_from_montgomery(t3, t2, group.mont, ctx))
            out += BigNum.bytes(of: t3, paddedTo: group.byteLength)
        }
        return out
    }

    /// Whether `password` matches `stored`, by recomputing g^x and comparing in constant time
    /// (the USER_PASSWORD_AUTH path).
    public func verify(
        password: String, poolName: String, userIdForSrp: String, against stored: PasswordVerifier
    ) -> Bool {
        let x = Self.x(salt: stored.salt, poolName: poolName, userIdForSrp: userIdForSrp, password: password)
        return constantTimeEqual(gToThe(x), stored.verifier)
    }

    /// g^e mod N for big-endian `e`, padded to the group's length: from the group's table of
    /// powers for exponents of up to 256 bits, else (or with `usingTable: false`) by
    /// libcrypto's exponentiation with a one-word base.
    public func powerOfGenerator(_ e: [UInt8], usingTable: Bool = true) -> [UInt8] {
        generatorPower(e, into: t1, usingTable: usingTable)
        return BigNum.bytes(of: t1, paddedTo: group.byteLength)
    }

    private func gToThe(_ e: [UInt8]) -> [UInt8] { powerOfGenerator(e) }

    private func generatorPower(_ e: [UInt8], into result: OpaquePointer, usingTable: Bool = true) {
        if usingTable, e.count <= FixedBasePowers.maxExponentBytes {
            let ok = group.powers.power(e, into: result, entry: entry, scratch: entryWords, mont: group.mont, ctx: ctx)
            expect(ok ? 1 : 0)
        } else {
            load(exponent, e)
            expect(BN_mod_exp_mont_word(result, group.generator, exponent, group.N.bn, ctx, group.mont))
        }
    }

    // MARK: SRP server steps

    /// Step 1: draws b and computes B = k·v + g^b mod N for the stored verifier.
    public func startChallenge(
        verifier: PasswordVerifier, using rng: inout some RandomNumberGenerator
    ) -> SRPServerChallenge {
        while true {
            let b = rng.bytes(Self.secretExponentBytes)
            // B ≡ 0 would give the secret away; the odds are nil, but the check costs nothing.
            if let challenge = challenge(b: b, verifier: verifier) { return challenge }
        }
    }

    /// B = k·v + g^b mod N for a given b; nil in the (negligible) case B ≡ 0.
    public func challenge(b: [UInt8], verifier: PasswordVerifier) -> SRPServerChallenge? {
        generatorPower(b, into: t1)
        load(t2, verifier.verifier)
        reduce(t2)
        // (k·R)·v·R⁻¹ = k·v mod N: one Montgomery multiplication instead of a division.
        expect(BN_mod_mul_montgomery(t3, group.kMont.bn, t2, group.mont, ctx))
        expect(BN_mod_add(t2, t3, t1, group.N.bn, ctx))
        if BN_is_zero(t2) == 1 { return nil }
        return SRPServerChallenge(b: b, B: BigNum.bytes(of: t2, paddedTo: group.byteLength))
    }

    /// Step 2: from the client's A (hex, as sent in SRP_A), the 16-byte HKDF key both sides
    /// sign with. Refuses malformed or oversize A, A ≡ 0 (mod N) and u = 0.
    public func passwordKey(
        clientAHex: String, challenge: SRPServerChallenge, verifier: PasswordVerifier
    ) throws(AuthCryptoError) -> [UInt8] {
        let (u, s) = try sharedSecret(clientAHex: clientAHex, challenge: challenge, verifier: verifier)
        return Self.derivedKey(u: u, S: s)
    }

    /// u = H(padHex(A) ‖ padHex(B)) and S = (A·v^u)^b mod N, both as minimal big-endian bytes.
    public func sharedSecret(
        clientAHex: String, challenge: SRPServerChallenge, verifier: PasswordVerifier
    ) throws(AuthCryptoError) -> (u: [UInt8], S: [UInt8]) {
        try SRPHex.validate(clientAHex)
        var p: OpaquePointer? = base
        guard clientAHex.withCString({ BN_hex2bn(&p, $0) }) == Int32(clientAHex.utf8.count) else {
            throw AuthCryptoError(.malformedHex, "SRP_A is not hex")
        }
        let aBytes = BigNum.bytes(of: base)
        expect(BN_nnmod(t1, base, group.N.bn, ctx))
        if BN_is_zero(t1) == 1 { throw AuthCryptoError(.illegalA, "SRP_A is 0 mod N") }

        var hasher = SHA256()
        hasher.update(data: SRPHex.padded(aBytes))
        hasher.update(data: SRPHex.padded(Self.strippingLeadingZeros(challenge.B)))
        let u = Self.strippingLeadingZeros(Array(hasher.finalize()))
        if u.isEmpty { throw AuthCryptoError(.zeroU, "u = H(A, B) is zero") }

        if hasPowers(verifier) {
            // t3 = v^u·R: A·v^u mod N is then one Montgomery multiplication.
            verifierPower(u: u, verifier: verifier, into: t3)
            expect(BN_mod_mul_montgomery(t2, t1, t3, group.mont, ctx))
        } else {
            plainVerifierPower(u: u, verifier: verifier, into: t3)
            // A·v^u mod N as two Montgomery multiplications: (A·w·R⁻¹)·R²·R⁻¹.
            expect(BN_mod_mul_montgomery(t2, t1, t3, group.mont, ctx))
            expect(BN_mod_mul_montgomery(t2, t2, group.rSquared.bn, group.mont, ctx))
        }
        // b is the secret: libcrypto's constant-time exponentiation, so neither the time
        // taken nor the table entries touched depend on its bits. (b and B would give away
        // v = (B − g^b)/k, and with it an offline guess at the password.)
        load(exponent, challenge.b)
        expect(BN_mod_exp_mont_consttime(t3, t2, exponent, group.N.bn, ctx, group.mont))
        return (u, BigNum.bytes(of: t3))
    }

    /// HKDF-SHA256(salt: padHex(u), ikm: padHex(S), info: "Caldera Derived Key") to 16 bytes.
    public static func derivedKey(u: [UInt8], S: [UInt8]) -> [UInt8] {
        let key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: SRPHex.padded(strippingLeadingZeros(S))),
            salt: SRPHex.padded(strippingLeadingZeros(u)),
            info: Array("Caldera Derived Key".utf8),
            outputByteCount: 16)
        return key.withUnsafeBytes { Array($0) }
    }

    /// The PASSWORD_CLAIM_SIGNATURE a client holding `key` sends:
    /// HMAC-SHA256(key, poolName ‖ userIdForSrp ‖ secretBlock ‖ timestamp).
    public static func claimSignature(
        key: [UInt8], poolName: String, userIdForSrp: String, secretBlock: [UInt8], timestamp: String
    ) -> [UInt8] {
        var mac = HMAC<SHA256>(key: SymmetricKey(data: key))
        mac.update(data: Array(poolName.utf8))
        mac.update(data: Array(userIdForSrp.utf8))
        mac.update(data: secretBlock)
        mac.update(data: Array(timestamp.utf8))
        return Array(mac.finalize())
    }

    /// Whether the client's base64 PASSWORD_CLAIM_SIGNATURE matches, compared in constant time.
    public static func verifyClaim(
        signatureBase64: String, key: [UInt8], poolName: String, userIdForSrp: String,
        secretBlock: [UInt8], timestamp: String
    ) -> Bool {
        let expected = claimSignature(
            key: key, poolName: poolName, userIdForSrp: userIdForSrp, secretBlock: secretBlock, timestamp: timestamp)
        guard let given = Base64.decode(signatureBase64) else { return false }
        return constantTimeEqual(given, expected)
    }

    /// v^u mod N, padded, by the path a sign-in takes for this verifier: its stored powers
    /// if it has them, else libcrypto's exponentiation. For tests of the two against each
    /// other.
    func verifierPower(u: [UInt8], verifier: PasswordVerifier) -> [UInt8] {
        if hasPowers(verifier) {
            verifierPower(u: u, verifier: verifier, into: t3)
            expect(BN_from_montgomery(t3, t3, group.mont, ctx))
        } else {
            plainVerifierPower(u: u, verifier: verifier, into: t3)
        }
        return BigNum.bytes(of: t3, paddedTo: group.byteLength)
    }

    /// Whether `verifier` carries its three powers (a verifier stored before they were added
    /// does not).
    private func hasPowers(_ verifier: PasswordVerifier) -> Bool { verifier.powers.count == 3 * group.byteLength }

    /// v^u mod N by libcrypto's exponentiation, for a verifier stored without powers.
    /// Uses `exponent` and `t2`.
    private func plainVerifierPower(u: [UInt8], verifier: PasswordVerifier, into result: OpaquePointer) {
        load(exponent, u)
        load(t2, verifier.verifier)
        reduce(t2)
        expect(BN_mod_exp_mont(result, t2, exponent, group.N.bn, ctx, group.mont))
    }

    /// v^u·R mod N (Montgomery form) for a u of at most 256 bits, from the verifier's stored powers:
    /// u's four 64-bit slices are exponents of v, v^(2^64), v^(2^128) and v^(2^192), taken
    /// together bit by bit, so 64 squarings and at most 64 multiplications by one of the 15
    /// products of those bases (built first, 11 multiplications) replace the ~256 squarings
    /// and ~43 multiplications of a sliding-window v^u. u = H(A, B) is public, so the
    /// branches on its bits reveal nothing.
    private func verifierPower(u: [UInt8], verifier: PasswordVerifier, into result: OpaquePointer) {
        let n = group.byteLength
        for j in 0..<4 {
            let bytes = j == 0 ? verifier.verifier : Array(verifier.powers[(j - 1) * n..<j * n])
            let single = products[1 << j]
            load(single, bytes)
            reduce(single)
            expect(BN_to_montgomery(single, single, group.mont, ctx))
        }
        for m in 3..<16 where m & (m - 1) != 0 {
            let low = m & -m
            expect(BN_mod_mul_montgomery(products[m], products[m - low], products[low], group.mont, ctx))
        }
        // u as 32 big-endian bytes; bit i of slice j is bit 64j + i of u.
        precondition(u.count <= 32, "u has more than 256 bits")
        let padded = [UInt8](repeating: 0, count: 32 - u.count) + u
        func bit(_ k: Int) -> Int { Int(padded[31 - k / 8] >> (k % 8)) & 1 }
        var started = false
        for i in stride(from: Self.powerSpacing - 1, through: 0, by: -1) {
            if started { expect(BN_mod_mul_montgomery(result, result, result, group.mont, ctx)) }
            let m = bit(i) | bit(64 + i) << 1 | bit(128 + i) << 2 | bit(192 + i) << 3
            guard m != 0 else { continue }
            if started {
                expect(BN_mod_mul_montgomery(result, result, products[m], group.mont, ctx))
            } else {
                check(BN_copy(result, products[m]) != nil)
                started = true
            }
        }
        if !started {
            // u ≠ 0 was checked, but R mod N (1 in Montgomery form) keeps this total.
            expect(BN_set_word(result, 1))
            expect(BN_to_montgomery(result, result, group.mont, ctx))
        }
    }

    // MARK: Helpers

    /// Reduces `bn` mod N in place when a stored value is not already below N, as
    /// Montgomery multiplication needs.
    private func reduce(_ bn: OpaquePointer) {
        if BN_cmp(bn, group.N.bn) >= 0 { expect(BN_nnmod(bn, bn, group.N.bn, ctx)) }
    }

    private func load(_ bn: OpaquePointer, _ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { _ = BN_bin2bn($0.baseAddress, Int32($0.count), bn) }
    }

    /// libcrypto fails here only on allocation failure or a broken modulus, neither of
    /// which input can cause.
    private func expect(_ rc: Int32, _ line: UInt = #line) {
        if rc != 1 { fatalError("libcrypto call at SRPWorkspace.swift:\(line) failed") }
    }

    private func check(_ ok: Bool, _ line: UInt = #line) { expect(ok ? 1 : 0, line) }

    static func strippingLeadingZeros(_ bytes: [UInt8]) -> [UInt8] {
        guard let i = bytes.firstIndex(where: { $0 != 0 }) else { return [] }
        return i == 0 ? bytes : Array(bytes[i...])
    }
}

/// Equality of two byte strings in time that depends only on their lengths.
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for i in a.indices { diff |= a[i] ^ b[i] }
    return diff == 0
}
