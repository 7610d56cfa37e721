import CCrypto
import Crypto

/// The SRP group Cognito uses: the 3072-bit MODP prime of RFC 3526, g = 2, and
/// k = H(padHex(N) ‖ padHex(g)) as the clients build it ("00" + N_HEX + "02").
///
/// Built once per process; the Montgomery context for N is set up here and only read after,
/// which is why one instance is shared by every thread.
public final class SRPGroup: @unchecked Sendable {
    public static let cognito = SRPGroup()

    /// N in the hex the clients carry.
    public static let primeHex =
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
        + "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
        + "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
        + "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
        + "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
        + "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
        + "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
        + "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"

    public let N: BigNum
    public let generator: UInt = 2
    public let k: BigNum
    /// Bytes in N (384); group elements are padded to this for fixed-length comparisons.
    public let byteLength: Int
    /// Montgomery context for N; read-only after init.
    let mont: OpaquePointer
    /// k·R mod N (k in Montgomery form), so k·v mod N is one Montgomery multiplication.
    let kMont: BigNum
    /// R² mod N, to bring a Montgomery product a·b·R⁻¹ back to a·b.
    let rSquared: BigNum
    /// g^(j·16^i) for every 4-bit window of a 256-bit exponent, for `SRPWorkspace`'s g^b
    /// and g^x.
    let powers: FixedBasePowers

    private init() {
        N = try! BigNum(hex: SRPGroup.primeHex)
        byteLength = N.byteCount
        var kInput = SRPHex.padded(N.bytes)
        kInput.append(contentsOf: SRPHex.padded([UInt8(generator)]))
        k = BigNum(bytes: Array(SHA256.hash(data: kInput)))
        guard let ctx = BN_CTX_new(), let mont = BN_MONT_CTX_new() else { fatalError("libcrypto: out of memory") }
        defer { BN_CTX_free(ctx) }
        guard BN_MONT_CTX_set(mont, N.bn, ctx) == 1 else { fatalError("BN_MONT_CTX_set failed for the RFC 3526 prime") }
        self.mont = mont
        kMont = BigNum()
        rSquared = BigNum()
        let one = BigNum(bytes: [1])
        guard BN_to_montgomery(kMont.bn, k.bn, mont, ctx) == 1,
            BN_to_montgomery(rSquared.bn, one.bn, mont, ctx) == 1,
            BN_to_montgomery(rSquared.bn, rSquared.bn, mont, ctx) == 1
        else { fatalError("BN_to_montgomery failed for the RFC 3526 prime") }
        powers = FixedBasePowers(generator: generator, N: N, mont: mont)
    }
}
