import AuthCrypto
import Crypto
import Foundation
import UserPool

/// The file `cognate users export` writes and `import` reads: JSON Lines. The first line is
/// the header (the pool's configuration and its groups), then one line per user (the record
/// without secrets, and its secrets sealed), then the end line with the number of users and
/// an HMAC-SHA256 of every byte before it, keyed from the operator's key, so a cut-off or
/// altered file is refused before anything is imported (a bare hash could be recomputed by
/// whoever altered the file).
///
/// Each user's secrets are sealed with AES-256-GCM under the operator's key, the pool id,
/// username and sub authenticated with them, so a sealed verifier cannot be moved to another
/// user's line.
struct ExportLine: Codable {
    var header: ExportHeader?
    var user: User?
    var sealed: String?
    var end: ExportEnd?
}

struct ExportHeader: Codable {
    static let format = "cognate-users"
    /// 2: the end line is an HMAC (1 had a bare SHA-256, no longer read).
    static let version = 2
    var format: String
    var version: Int
    var exportedAt: Int64
    /// Without its signing key, which only this cluster's master key opens.
    var pool: Pool
    var groups: [Group]
}

struct ExportEnd: Codable {
    var users: Int
    var hmac: String
}

/// The operator's key for the secrets in an export: 32 bytes, kept as 64 hex digits in a
/// file only its owner may read.
public struct UserTransferKey: Sendable {
    let key: SymmetricKey

    public init(hex: String) throws(PoolError) {
        do {
            key = try OperatorKeyFile.parse(hex, what: "export key")
        } catch {
            throw PoolError(.invalidParameter, "an export key is 64 hex digits (32 bytes)")
        }
    }

    public static func load(path: String) throws -> UserTransferKey {
        do {
            return UserTransferKey(key: try OperatorKeyFile.load(path: path, what: "export key"))
        } catch {
            throw PoolError(.invalidParameter, "\(error)")
        }
    }

    /// Writes a new random key to `path` (mode 0600); refuses to replace a file.
    public static func create(path: String) throws -> UserTransferKey {
        do {
            return UserTransferKey(key: try OperatorKeyFile.create(path: path, what: "export key"))
        } catch {
            throw PoolError(.invalidParameter, "\(error)")
        }
    }

    init(key: SymmetricKey) { self.key = key }

    /// The key the end line's HMAC is made with: derived from the operator's key, apart
    /// from the one that seals the secrets.
    var endKey: SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: key, info: Array("cognate-users end line".utf8), outputByteCount: 32)
    }

    static func associatedData(_ user: User) -> [UInt8] {
        Array("cognate-users/1\n\(user.poolId)\n\(user.username)\n\(user.sub)".utf8)
    }

    func seal(_ secrets: TransferSecrets, of user: User) -> String {
        // Encoding plain values and sealing with a 32-byte key cannot fail.
        let plain = try! JSONEncoder().encode(secrets)
        let box = try! AES.GCM.seal(plain, using: key, authenticating: Self.associatedData(user))
        return Base64.encode(Array(box.combined!))
    }

    func open(_ sealed: String, of user: User) throws(PoolError) -> TransferSecrets {
        guard let bytes = Base64.decode(sealed),
            let box = try? AES.GCM.SealedBox(combined: bytes),
            let plain = try? AES.GCM.open(box, using: key, authenticating: Self.associatedData(user)),
            let secrets = try? JSONDecoder().decode(TransferSecrets.self, from: plain)
        else {
            throw PoolError(
                .invalidParameter, "the secrets of user \(user.username) do not open with this key (or were altered)")
        }
        return secrets
    }
}

/// Reads a file line by line in bounded chunks; a line longer than `maxLine` is an error.
struct LineReader {
    static let maxLine = 1 << 20
    let handle: FileHandle
    var buffer: [UInt8] = []
    var start = 0
    var done = false
    /// Bytes handed out so far, newlines included.
    var offset: Int64 = 0

    init(path: String) throws(PoolError) {
        guard let h = FileHandle(forReadingAtPath: path) else {
            throw PoolError(.invalidParameter, "cannot open \(path)")
        }
        handle = h
    }

    /// The next line without its newline, or nil at the end of the file.
    mutating func next() throws(PoolError) -> ArraySlice<UInt8>? {
        while true {
            if let i = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[start..<i]
                offset += Int64(i - start + 1)
                start = i + 1
                return line
            }
            guard buffer.count - start <= Self.maxLine else {
                throw PoolError(.invalidParameter, "a line of the file is longer than \(Self.maxLine) bytes")
            }
            if done {
                guard start < buffer.count else { return nil }
                let line = buffer[start...]
                offset += Int64(buffer.count - start)
                start = buffer.count
                return line
            }
            buffer.removeFirst(start)
            start = 0
            let chunk = (try? handle.read(upToCount: 1 << 20)) ?? nil
            if let chunk, !chunk.isEmpty { buffer += chunk } else { done = true }
        }
    }

    func close() { try? handle.close() }
}
