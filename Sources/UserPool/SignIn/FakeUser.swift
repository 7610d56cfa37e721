import AuthCrypto
import Crypto

/// What a sign-in for a name no user has looks like, so that it looks like a real user's
/// (PreventUserExistenceErrors = ENABLED): a verifier with a salt, v and powers of v drawn
/// from a keyed hash of the name (the same on every attempt, so probing twice learns
/// nothing), and a USER_ID_FOR_SRP of the shape a real one would have. Making it costs no
/// modular exponentiation; checking a password against it costs what a real check costs.
public enum FakeUser {
    /// The fake verifier for `canonical` in `pool`: the salt, v and its three powers are
    /// keyed-hash output of the group's length (reduced mod N where used, like any v).
    public static func verifier(key: [UInt8], pool: String, canonical: String) -> PasswordVerifier {
        let groupBytes = 384
        var material: [UInt8] = []
        var counter: UInt32 = 0
        while material.count < 16 + 4 * groupBytes {
            var h = HMAC<SHA256>(key: SymmetricKey(data: key))
            h.update(data: Array("fake verifier|\(pool)|\(canonical)|".utf8))
            withUnsafeBytes(of: counter.bigEndian) { h.update(data: Array($0)) }
            material += Array(h.finalize())
            counter += 1
        }
        let salt = Array(material[0..<16])
        let v = Array(material[16..<(16 + groupBytes)])
        let powers = Array(material[(16 + groupBytes)..<(16 + 4 * groupBytes)])
        return PasswordVerifier(salt: salt, verifier: v, powers: powers)
    }

    /// USER_ID_FOR_SRP for a name no user has: in a pool whose users sign in by email or
    /// phone (their username is a UUID), a UUID drawn from a keyed hash of the name;
    /// otherwise the name as a real user's would be stored.
    public static func userIdForSrp(key: [UInt8], pool: Pool, identifier: String) -> String {
        guard !pool.usernameAttributes.isEmpty else { return PoolRules.canonical(identifier, in: pool) }
        var h = HMAC<SHA256>(key: SymmetricKey(data: key))
        h.update(data: Array("fake username|\(pool.id)|\(identifier.lowercased())".utf8))
        var bytes = Array(Array(h.finalize()).prefix(16))
        bytes[6] = (bytes[6] & 0x0f) | 0x40  // version 4
        bytes[8] = (bytes[8] & 0x3f) | 0x80  // RFC 4122 variant
        var rng = FixedBytes(bytes)
        return randomUUIDString(using: &rng)
    }

    /// Hands out given bytes as a random generator would, for a deterministic UUID.
    struct FixedBytes: RandomNumberGenerator {
        var bytes: [UInt8]
        var offset = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        mutating func next() -> UInt64 {
            var v: UInt64 = 0
            for _ in 0..<8 {
                v = v << 8 | UInt64(offset < bytes.count ? bytes[offset] : 0)
                offset += 1
            }
            return v
        }
    }
}
