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
        let header = #"{"alg":"RS256","kid":"# + JWTSigner.quoted(keyId) + #","typ":"JWT"}"#
        encodedHeader = Base64URL.encode(Array(header.utf8))
    }

    /// A key id as a JSON string (ids are base64url, but quote whatever comes).
    static func quoted(_ text: String) -> String {
        (try? String(decoding: JSONEncoder().encode(text), as: UTF8.self)) ?? #""""#
    }

    public var privateKeyDER: [UInt8] { Array(key.derRepresentation) }
    /// The key as swift-crypto holds it (to sign a certificate for it).
    public var privateKey: _RSA.Signing.PrivateKey { key }

    /// `header.payload.signature` over a payload already in JSON.
    public func sign(payload: [UInt8]) throws -> String {
        let input = encodedHeader + "." + Base64URL.encode(payload)
        guard let signature = signingKey.signSHA256(Array(input.utf8)) else {
            throw AuthCryptoError(.libcrypto, "libcrypto could not sign with the RSA key")
        }
        return input + "." + Base64URL.encode(signature)
    }

    /// `header.payload.signature`, the claims encoded as JSON.
    public func sign<Claims: Encodable>(_ claims: Claims) throws -> String {
        try sign(payload: Array(JSONEncoder().encode(claims)))
    }

    /// The public half as a JWK.
    public func jwk() throws -> JWK {
        let p = try key.publicKey.getKeyPrimitives()
        return JWK(
            kid: keyId, alg: "RS256", kty: "RSA", use: "sig", n: Base64URL.encode(Array(p.modulus)),
            e: Base64URL.encode(Array(p.publicExponent)))
    }

    struct Header: Decodable {
        var alg: String
        var kid: String?
    }

    /// The payload's bytes if this key signed `token` (claims and expiry are the caller's).
    public func verify(_ token: String) -> [UInt8]? {
        guard token.utf8.count <= 16_384 else { return nil }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let sig = Base64URL.decode(String(parts[2])),
            let payload = Base64URL.decode(String(parts[1])), let headerBytes = Base64URL.decode(String(parts[0])),
            let header = try? JSONDecoder().decode(Header.self, from: Data(headerBytes)),
            header.alg == "RS256", header.kid == keyId
        else { return nil }
        let input = Array("\(parts[0]).\(parts[1])".utf8)
        let signature = _RSA.Signing.RSASignature(rawRepresentation: sig)
        guard key.publicKey.isValidSignature(signature, for: input, padding: .insecurePKCS1v1_5) else { return nil }
        return payload
    }
}

/// A JSON Web Key: the public half of a pool's signing key.
public struct JWK: Codable, Sendable, Equatable {
    public var kid: String
    public var alg: String
    public var kty: String
    public var use: String
    public var n: String
    public var e: String
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

    /// Decodes unpadded base64url; nil for anything else (`+`, `/`, `=` included, so a
    /// token has one spelling). Works on the UTF-8 bytes: Foundation's string replacing
    /// cost a sealed session's unsealing more than its decryption.
    public static func decode(_ text: String) -> [UInt8]? {
        var chars: [UInt8] = []
        chars.reserveCapacity(text.utf8.count + 3)
        for c in text.utf8 {
            switch c {
            case UInt8(ascii: "-"): chars.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"): chars.append(UInt8(ascii: "/"))
            case UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="): return nil
            default: chars.append(c)
            }
        }
        guard chars.count % 4 != 1 else { return nil }
        while chars.count % 4 != 0 { chars.append(UInt8(ascii: "=")) }
        return Base64.decode(String(decoding: chars, as: UTF8.self))
    }
}
