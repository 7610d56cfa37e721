import Crypto
import Foundation

/// An operator's 32-byte key kept as 64 hex digits in a file only its owner may read: what
/// seals a users export (`cognate users`) and a backup (`cognate backup`). It never enters
/// the cluster.
public enum OperatorKeyFile {
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    /// The key a file holds.
    public static func load(path: String, what: String) throws -> SymmetricKey {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Invalid(description: "cannot read the \(what) \(path)")
        }
        return try parse(String(decoding: data, as: UTF8.self), what: what)
    }

    public static func parse(_ text: String, what: String) throws -> SymmetricKey {
        let hex = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard hex.utf8.count == 64, let bytes = Self.bytes(hex: hex) else {
            throw Invalid(description: "the \(what) is 64 hex digits (32 bytes)")
        }
        return SymmetricKey(data: bytes)
    }

    /// Writes a new random key to `path` (mode 0600); refuses to replace a file.
    @discardableResult
    public static func create(path: String, what: String) throws -> SymmetricKey {
        var rng = SystemRandomNumberGenerator()
        let hex = rng.bytes(32).map { String(format: "%02x", $0) }.joined()
        guard !FileManager.default.fileExists(atPath: path),
            FileManager.default.createFile(
                atPath: path, contents: Data((hex + "\n").utf8), attributes: [.posixPermissions: 0o600])
        else { throw Invalid(description: "cannot create the \(what) \(path) (it may exist)") }
        return try parse(hex, what: what)
    }

    /// The key at `path`, created first if there is none (`created` says so).
    public static func loadOrCreate(path: String, what: String) throws -> (key: SymmetricKey, created: Bool) {
        if FileManager.default.fileExists(atPath: path) { return (try load(path: path, what: what), false) }
        return (try create(path: path, what: what), true)
    }

    public static func bytes(hex: String) -> [UInt8]? {
        var out: [UInt8] = []
        var high: UInt8?
        for c in hex.unicodeScalars {
            guard let v = Character(c).hexDigitValue else { return nil }
            let d = UInt8(v)
            if let h = high {
                out.append(h << 4 | d)
                high = nil
            } else {
                high = d
            }
        }
        return high == nil ? out : nil
    }
}
