/// What a user pool stores instead of a password: the SRP salt and v = g^x mod N.
public struct PasswordVerifier: Sendable, Hashable, Codable {
    /// Random salt bytes; sent to clients as `saltHex`.
    public var salt: [UInt8]
    /// v, big-endian, padded to the group's byte length.
    public var verifier: [UInt8]

    public init(salt: [UInt8], verifier: [UInt8]) {
        self.salt = salt
        self.verifier = verifier
    }

    /// The SALT challenge parameter: the salt as a number in hex, without leading zeros,
    /// because amazon-cognito-identity-js parses it into a BigInteger before padHex-ing it
    /// while pycognito pads the string as given; only this form makes both agree.
    public var saltHex: String { SRPHex.encode(salt) }
}

extension PasswordVerifier {
    enum CodingKeys: String, CodingKey { case salt, verifier }

    /// Both byte strings are written as base64 text: as JSON arrays of numbers (what the
    /// synthesized coding wrote until 0.1.0), v's 384 bytes made decoding a user record
    /// the costliest step of a sign-in after the crypto. Arrays are still read, so records
    /// and log entries written before are understood.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Base64.encode(salt), forKey: .salt)
        try container.encode(Base64.encode(verifier), forKey: .verifier)
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
        self.init(salt: try bytes(.salt), verifier: try bytes(.verifier))
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
