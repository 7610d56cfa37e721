import Crypto
import Foundation

/// A cluster's master keys: what seals pool signing keys, challenge state and refresh
/// tokens. The text form (a file, or COGNATE_MASTER_KEY) is one `id:hex` per line, 32 bytes
/// each; `#` starts a comment. The highest id seals; every key opens what it sealed, so
/// adding a key (`cognate keys rotate`) leaves every earlier box readable until it expires.
/// Keys are never removed automatically: pools' signing keys stay sealed with the key that
/// was current when the pool was made.
public struct MasterKeys: Sendable, Equatable {
    public struct Key: Sendable, Equatable {
        public var id: UInt32
        public var bytes: [UInt8]

        public init(id: UInt32, bytes: [UInt8]) {
            self.id = id
            self.bytes = bytes
        }
    }

    /// By id, ascending; never empty.
    public let keys: [Key]

    /// The key that seals.
    public var current: Key { keys[keys.count - 1] }

    public init(keys: [Key]) throws(AuthCryptoError) {
        guard !keys.isEmpty else { throw AuthCryptoError(.malformedKeys, "no master key") }
        let sorted = keys.sorted { $0.id < $1.id }
        guard Set(sorted.map(\.id)).count == sorted.count else {
            throw AuthCryptoError(.malformedKeys, "master key ids must be unique")
        }
        guard sorted.allSatisfy({ $0.bytes.count == 32 && $0.id > 0 }) else {
            throw AuthCryptoError(.malformedKeys, "master keys are 32 bytes (64 hex digits) with a positive id")
        }
        self.keys = sorted
    }

    /// Parses the text form. Lines may also be separated by commas (for an environment
    /// variable); a lone 64-digit hex key is key 1.
    public static func parse(_ text: String) throws(AuthCryptoError) -> MasterKeys {
        var keys: [Key] = []
        let entries = text.split(separator: "\n").flatMap { raw in
            raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0].split(separator: ",")
        }
        for entry in entries {
            let line = entry.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let (idText, hex) = parts.count == 2 ? (parts[0], parts[1]) : ("1", line)
            guard let id = UInt32(idText.trimmingCharacters(in: .whitespaces)),
                let bytes = SRPHex.decode(hex.trimmingCharacters(in: .whitespaces)), hex.count == 64
            else {
                throw AuthCryptoError(.malformedKeys, "a master key line is `id:64-hex-digits`")
            }
            keys.append(Key(id: id, bytes: bytes))
        }
        return try MasterKeys(keys: keys)
    }

    /// The text form, with a header saying what the file is.
    public func render() -> String {
        var lines = ["# Cognate master keys: id:hex, the highest id seals. Keep this file secret (0600)."]
        for k in keys { lines.append("\(k.id):\(k.bytes.map { hexDigits($0) }.joined())") }
        return lines.joined(separator: "\n") + "\n"
    }

    private func hexDigits(_ b: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
    }

    /// A first key.
    public static func generate(using rng: inout some RandomNumberGenerator) -> MasterKeys {
        // 32 bytes with a positive id: cannot fail.
        try! MasterKeys(keys: [Key(id: 1, bytes: rng.bytes(32))])
    }

    /// These keys and a new one that seals from now on.
    public func rotated(using rng: inout some RandomNumberGenerator) -> MasterKeys {
        try! MasterKeys(keys: keys + [Key(id: current.id + 1, bytes: rng.bytes(32))])
    }

    /// A sealer for `purpose`: each key's purpose key derived from it by HKDF, under the
    /// master key's id, so a box names the master key that sealed it.
    public func sealer(purpose: String) -> Sealer {
        func derive(_ key: Key) -> Sealer.Key {
            let bytes = HKDF<SHA256>.deriveKey(
                inputKeyMaterial: SymmetricKey(data: key.bytes), info: Array("cognate \(purpose)".utf8),
                outputByteCount: 32
            ).withUnsafeBytes { Array($0) }
            return Sealer.Key(id: key.id, bytes: bytes)
        }
        return Sealer(sealingKey: derive(current), older: keys.dropLast().map(derive))
    }

    /// A secret for `purpose` (keyed hashes, not boxes), derived from the first key, so it
    /// stays the same across rotations: what it derives (an unknown user's fake salt) must
    /// not change when keys do, or the change would tell unknown users from real ones.
    public func secret(purpose: String) -> [UInt8] {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: keys[0].bytes), info: Array("cognate \(purpose)".utf8),
            outputByteCount: 32
        ).withUnsafeBytes { Array($0) }
    }
}
