import Crypto
import Foundation
import Testing
import _CryptoExtras

@testable import AuthCrypto

/// A minimal authenticator for the relying party's checks: a P-256 key, its COSE form, and
/// authenticator data built byte by byte as WebAuthn lays them out. (The e2e tests use an
/// independent one from PyPI; this one reaches the corners those cannot.)
struct TestAuthenticator {
    let key = P256.Signing.PrivateKey()
    let credentialId: [UInt8] = Array(repeating: 7, count: 16)
    var rpId = "example.com"

    var cose: [UInt8] {
        let raw = Array(key.publicKey.x963Representation)
        return CBOR.map([
            (.unsigned(1), .unsigned(2)), (.unsigned(3), .negative(6)), (.negative(0), .unsigned(1)),
            (.negative(1), .bytes(Array(raw[1..<33]))), (.negative(2), .bytes(Array(raw[33..<65]))),
        ]).encoded
    }

    func authenticatorData(flags: UInt8, count: UInt32, attested: Bool) -> [UInt8] {
        var out = Array(SHA256.hash(data: Array(rpId.utf8)))
        out.append(flags | (attested ? 0x40 : 0))
        out += [UInt8(count >> 24), UInt8(count >> 16 & 0xff), UInt8(count >> 8 & 0xff), UInt8(count & 0xff)]
        if attested {
            out += Array(repeating: 0, count: 16) + [0, UInt8(credentialId.count)] + credentialId + cose
        }
        return out
    }

    static func clientData(_ type: String, challenge: [UInt8], origin: String = "https://example.com") -> [UInt8] {
        Array(#"{"type":"\#(type)","challenge":"\#(Base64URL.encode(challenge))","origin":"\#(origin)"}"#.utf8)
    }

    func sign(_ data: [UInt8]) -> [UInt8] { Array(try! key.signature(for: data).derRepresentation) }

    func attestation(
        format: String = "none", flags: UInt8 = 0x01, client: [UInt8], signature: [UInt8]? = nil
    )
        -> [UInt8]
    {
        let data = authenticatorData(flags: flags, count: 0, attested: true)
        var statement: [(CBOR, CBOR)] = []
        if format == "packed" {
            let sig = signature ?? sign(data + Array(SHA256.hash(data: client)))
            statement = [(.text("alg"), .negative(6)), (.text("sig"), .bytes(sig))]
        }
        return CBOR.map([
            (.text("fmt"), .text(format)), (.text("attStmt"), .map(statement)), (.text("authData"), .bytes(data)),
        ])
        .encoded
    }
}

@Suite("WebAuthn: CBOR, COSE and the relying party's checks")
struct WebAuthnTests {
    let challenge: [UInt8] = Array(repeating: 42, count: 32)
    var expected: WebAuthn.Expectation {
        .init(challenge: challenge, rpId: "example.com", requireUserVerification: false)
    }

    @Test("CBOR: values round-trip; truncation, lies about lengths, nesting, tags, floats and duplicates are refused")
    func cbor() throws {
        let value = CBOR.map([(.text("a"), .array([.unsigned(1), .negative(0), .bytes([1, 2]), .bool(true), .null]))])
        #expect(try CBOR.decode(value.encoded) == value)
        #expect(try CBOR.decode([0x1b, 0, 0, 0, 1, 0, 0, 0, 0]) == .unsigned(1 << 32))
        let refused: [[UInt8]] = [
            [],  // nothing
            [0x62, 0x61],  // a two-byte text with one byte
            [0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],  // a byte string of 2^64 - 1
            [0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],  // an array of 2^64 - 1 items
            Array(repeating: 0x81, count: 20) + [0x00],  // nested twenty deep
            [0x5f, 0x41, 0x00, 0xff],  // indefinite length
            [0xc0, 0x00],  // a tag
            [0xf9, 0x3c, 0x00],  // a half float
            [0xa2, 0x01, 0x00, 0x01, 0x00],  // a duplicate key
            [0x00, 0x00],  // trailing bytes
            [0x62, 0xff, 0xfe],  // invalid UTF-8
        ]
        for bytes in refused {
            #expect(throws: CBOR.Malformed.self, "\(bytes)") { try CBOR.decode(bytes) }
        }
    }

    @Test("registration: none and packed self-attestation accepted; wrong RP, flags, signature and format refused")
    func registration() throws {
        let a = TestAuthenticator()
        let client = TestAuthenticator.clientData("webauthn.create", challenge: challenge)
        let none = try WebAuthn.register(
            clientDataJSON: client, attestationObject: a.attestation(client: client), expected: expected)
        #expect(none.credentialId == a.credentialId)
        #expect(none.publicKey == a.cose)
        #expect(!none.userVerified)
        let packed = try WebAuthn.register(
            clientDataJSON: client, attestationObject: a.attestation(format: "packed", client: client),
            expected: expected)
        #expect(packed.credentialId == a.credentialId)

        func refusal(
            _ attestation: [UInt8], client c: [UInt8] = client, expected e: WebAuthn.Expectation? = nil
        )
            -> WebAuthn.Failure?
        {
            do {
                _ = try WebAuthn.register(clientDataJSON: c, attestationObject: attestation, expected: e ?? expected)
                return nil
            } catch { return error }
        }
        #expect(refusal(a.attestation(format: "packed", client: client, signature: a.sign([1]))) == .signature)
        #expect(
            refusal(a.attestation(format: "fido-u2f", client: client))
                == .unsupported(
                    "attestation format fido-u2f (none and packed self-attestation are accepted)"))
        #expect(refusal(a.attestation(flags: 0, client: client)) == .flags("user presence"))
        var strict = expected
        strict.requireUserVerification = true
        #expect(refusal(a.attestation(client: client), expected: strict) == .flags("user verification"))
        #expect(
            try WebAuthn.register(
                clientDataJSON: client, attestationObject: a.attestation(flags: 0x05, client: client),
                expected: strict
            ).userVerified)
        var elsewhere = a
        elsewhere.rpId = "example.org"
        #expect(refusal(elsewhere.attestation(client: client)) == .relyingParty)
        #expect(
            refusal(
                a.attestation(client: client), client: TestAuthenticator.clientData("webauthn.create", challenge: [1]))
                == .challenge)
        #expect(
            refusal(
                a.attestation(client: client),
                client: TestAuthenticator.clientData(
                    "webauthn.create", challenge: challenge, origin: "http://example.com"))
                == .origin("http://example.com"))
        #expect(
            refusal(
                a.attestation(client: client),
                client: TestAuthenticator.clientData("webauthn.get", challenge: challenge))
                == .origin("clientDataJSON type webauthn.get, not webauthn.create"))
        #expect(refusal(Array(a.attestation(client: client).dropLast(3))) != nil)
    }

    @Test("assertion: the signature, the counter, the challenge and the origin")
    func assertion() throws {
        let a = TestAuthenticator()
        let client = TestAuthenticator.clientData(
            "webauthn.get", challenge: challenge, origin: "https://login.example.com")
        let data = a.authenticatorData(flags: 0x05, count: 9, attested: false)
        let signature = a.sign(data + Array(SHA256.hash(data: client)))
        let ok = try WebAuthn.assert(
            clientDataJSON: client, authenticatorData: data, signature: signature, publicKey: a.cose, storedCount: 8,
            expected: expected)
        #expect(ok.signCount == 9 && ok.userVerified)

        func refusal(
            _ data: [UInt8], _ signature: [UInt8], stored: UInt32 = 0, client c: [UInt8] = client
        )
            -> WebAuthn.Failure?
        {
            do {
                _ = try WebAuthn.assert(
                    clientDataJSON: c, authenticatorData: data, signature: signature, publicKey: a.cose,
                    storedCount: stored, expected: expected)
                return nil
            } catch { return error }
        }
        var tampered = signature
        tampered[tampered.count - 1] ^= 1
        #expect(refusal(data, tampered) == .signature)
        #expect(refusal(data, signature, stored: 9) == .counter)
        let zero = a.authenticatorData(flags: 0x01, count: 0, attested: false)
        #expect(refusal(zero, a.sign(zero + Array(SHA256.hash(data: client)))) == nil)
        let other = TestAuthenticator.clientData("webauthn.get", challenge: [9, 9])
        #expect(refusal(data, a.sign(data + Array(SHA256.hash(data: other))), client: other) == .challenge)
        let evil = TestAuthenticator.clientData(
            "webauthn.get", challenge: challenge, origin: "https://example.com.evil.net")
        #expect(
            refusal(data, a.sign(data + Array(SHA256.hash(data: evil))), client: evil)
                == .origin("https://example.com.evil.net"))
    }

    @Test("COSE keys: P-256 and RSA accepted, other curves and algorithms refused")
    func coseKeys() {
        let p384 = CBOR.map([
            (.unsigned(1), .unsigned(2)), (.unsigned(3), .negative(34)), (.negative(0), .unsigned(2)),
            (.negative(1), .bytes(Array(repeating: 1, count: 48))),
            (.negative(2), .bytes(Array(repeating: 1, count: 48))),
        ]).encoded
        #expect(throws: WebAuthn.Failure.self) { try WebAuthn.PublicKey(cose: p384) }
        let offCurve = CBOR.map([
            (.unsigned(1), .unsigned(2)), (.unsigned(3), .negative(6)), (.negative(0), .unsigned(1)),
            (.negative(1), .bytes(Array(repeating: 1, count: 32))),
            (.negative(2), .bytes(Array(repeating: 1, count: 32))),
        ]).encoded
        #expect(throws: WebAuthn.Failure.self) { try WebAuthn.PublicKey(cose: offCurve) }
        #expect((try? WebAuthn.PublicKey(cose: TestAuthenticator().cose)) != nil)
    }

    @Test("RS256: an RSA key's PKCS#1 v1.5 signature verifies, a tampered one does not")
    func rs256() throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let primitives = try key.publicKey.getKeyPrimitives()
        let cose = CBOR.map([
            (.unsigned(1), .unsigned(3)), (.unsigned(3), .negative(256)),
            (.negative(0), .bytes(Array(primitives.modulus))), (.negative(1), .bytes(Array(primitives.publicExponent))),
        ]).encoded
        let message: [UInt8] = Array("authenticator data and client data hash".utf8)
        var signature = Array(try key.signature(for: message, padding: .insecurePKCS1v1_5).rawRepresentation)
        let parsed = try WebAuthn.PublicKey(cose: cose)
        #expect(parsed.verify(signature, over: message))
        signature[0] ^= 1
        #expect(!parsed.verify(signature, over: message))
    }
}
