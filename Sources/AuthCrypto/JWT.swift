import Crypto
import CryptoExtras
import Foundation

/// RS256 JSON Web Tokens with the pool's RSA-2048 key, and the JWKS entry that verifies them.
public struct JWTSigner: Sendable {
    public let keyId: String
    let key: _RSA.Signing.PrivateKey

    /// A new RSA-2048 key (slow: run it off the event loops).
    public static func generate(keyId: String) throws -> JWTSigner {
        JWTSigner(keyId: keyId, key: try _RSA.Signing.PrivateKey(keySize: .bits2048))
    }

    public init(keyId: String, privateKeyDER: [UInt8]) throws {
        self.keyId = keyId
        self.key = try _RSA.Signing.PrivateKey(derRepresentation: privateKeyDER)
    }

    init(keyId: String, key: _RSA.Signing.PrivateKey) {
        self.keyId = keyId
        self.key = key
    }

    public var privateKeyDER: [UInt8] { Array(key.derRepresentation) }

    /// `header.payload.signature`, claims serialized with sorted keys.
    public func sign(_ claims: [String: Any]) throws -> String {
        let header = try JSONSerialization.data(withJSONObject: ["alg": "RS256", "kid": keyId, "typ": "JWT"], options: [.sortedKeys])
        let payload = try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys])
        let input = Base64URL.encode(Array(header)) + "." + Base64URL.encode(Array(payload))
        let signature = try key.signature(for: Array(input.utf8), padding: .insecurePKCS1v1_5)
        return input + "." + Base64URL.encode(Array(signature.rawRepresentation))
    }

    /// The public half as a JWK.
    public func jwk() throws -> [String: String] {
        let p = try key.publicKey.getKeyPrimitives()
        return ["kid": keyId, "alg": "RS256", "kty": "RSA", "use": "sig",
                "n": Base64URL.encode(Array(p.modulus)), "e": Base64URL.encode(Array(p.publicExponent))]
    }

    /// The claims of `token` if this key signed it (expiry is the caller's business).
    public func verify(_ token: String) -> [String: Any]? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let sig = Base64URL.decode(String(parts[2])), let payload = Base64URL.decode(String(parts[1])),
            let headerBytes = Base64URL.decode(String(parts[0])),
            let header = try? JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any],
            header["alg"] as? String == "RS256", header["kid"] as? String == keyId
        else { return nil }
        let input = Array("\(parts[0]).\(parts[1])".utf8)
        guard key.publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: sig), for: input, padding: .insecurePKCS1v1_5) else {
            return nil
        }
        return (try? JSONSerialization.jsonObject(with: Data(payload))) as? [String: Any]
    }
}

/// Base64url without padding (RFC 7515).
public enum Base64URL {
    public static func encode(_ bytes: [UInt8]) -> String {
        Base64.encode(bytes).replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func decode(_ text: String) -> [UInt8]? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Base64.decode(s)
    }
}
