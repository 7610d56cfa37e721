import AuthCrypto
import Crypto
import Foundation

/// What seals and authenticates a backup: an operator's key (`cognate backup --key FILE`,
/// 64 hex digits, never in the cluster). Each shard's copy is sealed a chunk at a time with
/// AES-256-GCM, each chunk bound to the backup, its shard, its place and whether it is the
/// last (so chunks cannot be dropped, reordered or moved between copies or backups), and
/// the manifest carries an HMAC over everything else in it. Without the key a backup reads
/// as noise; altered, it is refused before anything is restored.
public struct BackupKey: Sendable {
    let sealing: SymmetricKey
    let macKey: SymmetricKey
    /// Names the key in the manifest (derived, so it tells nothing of the key).
    public let id: String

    public init(_ key: SymmetricKey) {
        func derive(_ info: String) -> SymmetricKey {
            HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Array(info.utf8), outputByteCount: 32)
        }
        sealing = derive("cognate backup: copies")
        macKey = derive("cognate backup: manifest")
        id = derive("cognate backup: key id").withUnsafeBytes { Array($0.prefix(8)) }
            .map { String(format: "%02x", $0) }.joined()
    }

    public static func load(path: String) throws -> BackupKey {
        BackupKey(try OperatorKeyFile.load(path: path, what: "backup key"))
    }

    static func associatedData(backup: String, shard: UInt32, chunk: Int, final: Bool) -> [UInt8] {
        Array("cognate-backup/2|\(backup)|\(shard)|\(chunk)|\(final ? 1 : 0)".utf8)
    }

    /// One chunk as the copy file holds it: its length (4 bytes) and the sealed box.
    func seal(_ plain: [UInt8], backup: String, shard: UInt32, chunk: Int, final: Bool) throws -> [UInt8] {
        let box = try AES.GCM.seal(
            plain, using: sealing,
            authenticating: Self.associatedData(backup: backup, shard: shard, chunk: chunk, final: final))
        guard let combined = box.combined else { throw BackupError("sealing a chunk failed") }
        return withUnsafeBytes(of: UInt32(combined.count).bigEndian, Array.init) + Array(combined)
    }

    /// A sealed copy opened whole: every chunk in order, the last marked so.
    func open(_ sealed: [UInt8], backup: String, shard: UInt32, path: String) throws -> [UInt8] {
        var plain: [UInt8] = []
        plain.reserveCapacity(sealed.count)
        var offset = 0
        var chunk = 0
        while offset < sealed.count {
            guard sealed.count - offset >= 4 else { throw BackupError("\(path): a chunk is cut short") }
            let length = Int(sealed[offset..<(offset + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            offset += 4
            guard length >= 28, sealed.count - offset >= length else {
                throw BackupError("\(path): a chunk is cut short")
            }
            let final = offset + length == sealed.count
            let box = Array(sealed[offset..<(offset + length)])
            guard let sealedBox = try? AES.GCM.SealedBox(combined: box),
                let opened = try? AES.GCM.open(
                    sealedBox, using: sealing,
                    authenticating: Self.associatedData(backup: backup, shard: shard, chunk: chunk, final: final))
            else {
                throw BackupError(
                    "\(path): chunk \(chunk) does not open with this key (another key, or the copy was altered)")
            }
            plain += opened
            offset += length
            chunk += 1
        }
        return plain
    }

    /// The manifest's HMAC: over its JSON with the field itself left out.
    func mac(of manifest: BackupManifest) throws -> String {
        var unsigned = manifest
        unsigned.mac = nil
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = try encoder.encode(unsigned)
        return HMAC<SHA256>.authenticationCode(for: bytes, using: macKey).map { String(format: "%02x", $0) }.joined()
    }
}
