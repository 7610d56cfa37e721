import Crypto
import Foundation

/// What a front seals for the cluster's deliverers alone: an outbox message's codes,
/// temporary passwords, addresses and texts. Sealed to the deliverers' X25519 public key
/// (`delivery.pub`, which fronts hold) with a fresh key agreement per message and
/// AES-256-GCM; only the private key (`delivery.key`, on the nodes, which deliver) opens
/// it. So the log, snapshots and backups keep no code in the clear, and a front that is
/// taken cannot read what other fronts sent.
public struct DeliverySealer: Sendable {
    let recipient: Curve25519.KeyAgreement.PublicKey

    public init(publicKey: [UInt8]) throws {
        recipient = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: publicKey)
    }

    /// The ephemeral public key (32 bytes), then the sealed box.
    public func seal(_ plain: [UInt8]) throws -> [UInt8] {
        let ephemeral = Curve25519.KeyAgreement.PrivateKey()
        let key = try DeliveryBox.key(
            ephemeral.sharedSecretFromKeyAgreement(with: recipient), ephemeral: ephemeral.publicKey,
            recipient: recipient)
        guard let box = try AES.GCM.seal(plain, using: key).combined else {
            throw AuthCryptoError(.libcrypto, "sealing a message failed")
        }
        return Array(ephemeral.publicKey.rawRepresentation) + Array(box)
    }
}

/// Opens what `DeliverySealer` sealed, with the deliverers' private key.
public struct DeliveryOpener: Sendable {
    let key: Curve25519.KeyAgreement.PrivateKey

    public init(privateKey: [UInt8]) throws {
        key = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: privateKey)
    }

    public func open(_ sealed: [UInt8]) throws -> [UInt8] {
        guard sealed.count > 32 + 28 else { throw AuthCryptoError(.malformedBox, "a sealed message is too short") }
        let ephemeral = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: sealed.prefix(32))
        let symmetric = try DeliveryBox.key(
            key.sharedSecretFromKeyAgreement(with: ephemeral), ephemeral: ephemeral, recipient: key.publicKey)
        return Array(try AES.GCM.open(AES.GCM.SealedBox(combined: sealed.dropFirst(32)), using: symmetric))
    }

    public var publicKey: [UInt8] { Array(key.publicKey.rawRepresentation) }
}

/// The deliverers' key pair and its files (hex: 64 digits each).
public enum DeliveryBox {
    static func key(
        _ secret: SharedSecret, ephemeral: Curve25519.KeyAgreement.PublicKey,
        recipient: Curve25519.KeyAgreement.PublicKey
    ) throws -> SymmetricKey {
        secret.hkdfDerivedSymmetricKey(
            using: SHA256.self, salt: Array(ephemeral.rawRepresentation) + Array(recipient.rawRepresentation),
            sharedInfo: Array("cognate outbox".utf8), outputByteCount: 32)
    }

    /// A new pair: the private key's raw bytes and the public key's.
    public static func generate() -> (privateKey: [UInt8], publicKey: [UInt8]) {
        let key = Curve25519.KeyAgreement.PrivateKey()
        return (Array(key.rawRepresentation), Array(key.publicKey.rawRepresentation))
    }

    /// The 32 bytes a key file holds as 64 hex digits.
    public static func read(path: String, what: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AuthCryptoError(
                .malformedKeys, "cannot read the \(what) \(path): `cognate certs create --config FILE` makes it")
        }
        let hex = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard hex.utf8.count == 64, let bytes = OperatorKeyFile.bytes(hex: hex) else {
            throw AuthCryptoError(.malformedKeys, "the \(what) \(path) is not 64 hex digits")
        }
        return bytes
    }

    public static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}
