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

/// Pieces of the SRP computation that are plain hashing.
public enum SRPHash {
    /// The pool's name as SRP uses it: the part of the pool id after "_".
    public static func poolName(fromPoolId poolId: String) -> String {
        guard let i = poolId.firstIndex(of: "_") else { return poolId }
        return String(poolId[poolId.index(after: i)...])
    }
}
