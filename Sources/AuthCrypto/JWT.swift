import Crypto
import CryptoExtras
import Foundation

/// RS256 JSON Web Tokens with the pool's RSA-2048 key, and the JWKS entry that verifies them.
public struct JWTSigner: Sendable {
    public let keyId: String
    let key: _RSA.Signing.PrivateKey
    /// The same key in libcrypto, which signs (swift-crypto's key verifies and exports).
    let signingKey: LibcryptoRSAKey
    /// The token header, encoded once: `{"alg":"RS256","kid":…,"typ":"JWT"}` in base64url.
    let encodedHeader: String

    /// A new RSA-2048 key (slow: run it off the event loops).
    public static func generate(keyId: String) throws -> JWTSigner {
        try JWTSigner(keyId: keyId, key: try _RSA.Signing.PrivateKey(keySize: .bits2048))
    }

    public init(keyId: String, privateKeyDER: [UInt8]) throws {
        try self.init(keyId: keyId, key: try _RSA.Signing.PrivateKey(derRepresentation: privateKeyDER))
    }

    init(keyId: String, key: _RSA.Signing.PrivateKey) throws {
        self.keyId = keyId
        self.key = key
        guard let signingKey = LibcryptoRSAKey(privateKeyDER: Array(key.derRepresentation)) else {
            throw AuthCryptoError(.libcrypto, "libcrypto could not load the RSA key")
        }
        self.signingKey = signingKey
        let header = try JSONSerialization.data(withJSONObject: ["alg": "RS256", "kid": keyId, "typ": "JWT"], options: [.sortedKeys])
        encodedHeader = Base64URL.encode(Array(header))
    }

    public var privateKeyDER: [UInt8] { Array(key.derRepresentation) }

    /// `header.payload.signature`, claims serialized with sorted keys.
    public func sign(_ claims: [String: Any]) throws -> String {
        let payload = try CompactJSON.encode(claims) ?? Array(JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]))
        let input = encodedHeader + "." + Base64URL.encode(payload)
        guard let signature = signingKey.signSHA256(Array(input.utf8)) else {
            throw AuthCryptoError(.libcrypto, "libcrypto could not sign with the RSA key")
        }
        return input + "." + Base64URL.encode(signature)
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
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 4 / 3 + 4)
        for c in Base64.encode(bytes).utf8 {
            switch c {
            case UInt8(ascii: "+"): out.append(UInt8(ascii: "-"))
            case UInt8(ascii: "/"): out.append(UInt8(ascii: "_"))
            case UInt8(ascii: "="): continue
            default: out.append(c)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Base64.decode(s)
    }
}
