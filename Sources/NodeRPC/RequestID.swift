import Foundation

/// A client request's 16-byte id: the client's clock in milliseconds (8 bytes, big-endian)
/// then 8 random bytes. Nodes apply a request once per id, and forget ids by the clock in
/// them, so every replica forgets the same ones.
public enum RequestID {
    public static func make(milliseconds: UInt64, using rng: inout some RandomNumberGenerator) -> [UInt8] {
        withUnsafeBytes(of: milliseconds.bigEndian, Array.init) + withUnsafeBytes(of: rng.next().bigEndian, Array.init)
    }

    /// A new id at the current time.
    public static func make() -> [UInt8] {
        var rng = SystemRandomNumberGenerator()
        return make(milliseconds: UInt64(max(0, Date().timeIntervalSince1970 * 1000)), using: &rng)
    }

    /// The clock an id carries (0 for an id shorter than 8 bytes).
    public static func milliseconds(of id: [UInt8]) -> UInt64 {
        guard id.count >= 8 else { return 0 }
        return id[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
    }
}
