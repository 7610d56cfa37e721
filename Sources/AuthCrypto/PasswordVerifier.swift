/// What a user pool stores instead of a password: the SRP salt and v = g^x mod N, and
/// three powers of v that make the sign-in's v^u cheaper.
public struct PasswordVerifier: Sendable, Hashable, Codable {
    /// Random salt bytes; sent to clients as `saltHex`.
    public var salt: [UInt8]
    /// v, big-endian, padded to the group's byte length.
    public var verifier: [UInt8]
    /// v^(2^64), v^(2^128) and v^(2^192), each big-endian and padded to the group's byte
    /// length, one after the other; empty for a verifier stored before they were added,
    /// which signs in by the plain exponentiation.
    ///
    /// With them, step 2's v^u (u has 256 bits) is four 64-bit exponents of four bases at
    /// once: 64 squarings instead of 256. They are public values derived from v, so they
    /// give nothing away that v does not.
    public var powers: [UInt8]

    public init(salt: [UInt8], verifier: [UInt8], powers: [UInt8] = []) {
        self.salt = salt
        self.verifier = verifier
        self.powers = powers
    }

    /// The SALT challenge parameter: the salt as a number in hex, without leading zeros,
    /// because amazon-cognito-identity-js parses it into a BigInteger before padHex-ing it
    /// while pycognito pads the string as given; only this form makes both agree.
    public var saltHex: String { SRPHex.encode(salt) }
}

extension PasswordVerifier {
    enum CodingKeys: String, CodingKey { case salt, verifier, powers }

    /// `powers` is written only when there are any, so a record without them is byte for
    /// byte what earlier versions wrote.
    ///
    /// Both byte strings are written as base64 text: as JSON arrays of numbers (what the
    /// synthesized coding wrote until 0.1.0), v's 384 bytes made decoding a user record
    /// the costliest step of a sign-in after the crypto. Arrays are still read, so records
    /// and log entries written before are understood.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Base64.encode(salt), forKey: .salt)
        try container.encode(Base64.encode(verifier), forKey: .verifier)
        if !powers.isEmpty { try container.encode(Base64.encode(powers), forKey: .powers) }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func bytes(_ key: CodingKeys) throws -> [UInt8] {
            if let text = try? container.decode(String.self, forKey: key) {
                guard let bytes = Base64.decode(text) else {
                    throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "not base64")
                }
                return bytes
            }
            return try container.decode([UInt8].self, forKey: key)
        }
        let powers = container.contains(.powers) ? try bytes(.powers) : []
        self.init(salt: try bytes(.salt), verifier: try bytes(.verifier), powers: powers)
    }
}

/// Pieces of the SRP computation that are plain hashing.
public enum SRPHash {
    /// The pool's name as SRP uses it: the part of the pool id after "_".
    public static func poolName(fromPoolId poolId: String) -> String {
        guard let i = poolId.firstIndex(of: "_") else { return poolId }
        return String(poolId[poolId.index(after: i)...])
    }
}
