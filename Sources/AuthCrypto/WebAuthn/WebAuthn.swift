import Crypto
import Foundation
import _CryptoExtras

/// WebAuthn (Level 2) as a relying party checks it: a new credential's attestation (`none`,
/// or `packed` self-attestation) and a sign-in's assertion, each against the challenge the
/// relying party issued, its RP ID and its origins. Keys are COSE: ES256 (P-256) and RS256.
public enum WebAuthn {
    /// Why a credential or an assertion is refused; the user pool names the exception.
    public enum Failure: Error, Equatable, Sendable {
        /// Not the shape WebAuthn gives (bad CBOR, bad JSON, short data…).
        case malformed(String)
        /// A key type, algorithm or attestation format this relying party does not take.
        case unsupported(String)
        /// clientDataJSON's challenge is not the one issued.
        case challenge
        /// clientDataJSON's origin is not one of the relying party's, or its type is wrong.
        case origin(String)
        /// authenticatorData's RP ID hash is not the relying party's.
        case relyingParty
        /// User presence missing, or user verification missing where it is required.
        case flags(String)
        /// The signature does not verify.
        case signature
        /// The signature counter went backwards (a cloned authenticator).
        case counter
    }

    /// Flags of authenticatorData.
    public static let userPresent: UInt8 = 0x01
    public static let userVerified: UInt8 = 0x04
    static let attestedData: UInt8 = 0x40

    /// COSE algorithms accepted.
    public static let es256: Int64 = -7
    public static let rs256: Int64 = -257

    /// authenticatorData, parsed.
    public struct AuthenticatorData: Sendable {
        public var rpIdHash: [UInt8]
        public var flags: UInt8
        public var signCount: UInt32
        /// Present at registration: the authenticator's model, the credential's id and key.
        public var aaguid: [UInt8]?
        public var credentialId: [UInt8]?
        public var publicKey: [UInt8]?

        /// The largest credential id WebAuthn allows.
        public static let maxCredentialId = 1023

        public init(_ bytes: [UInt8]) throws(Failure) {
            guard bytes.count >= 37 else { throw .malformed("authenticatorData is shorter than 37 bytes") }
            rpIdHash = Array(bytes[0..<32])
            flags = bytes[32]
            signCount = bytes[33..<37].reduce(0) { $0 << 8 | UInt32($1) }
            guard flags & WebAuthn.attestedData != 0 else { return }
            guard bytes.count >= 55 else { throw .malformed("attested credential data is truncated") }
            aaguid = Array(bytes[37..<53])
            let length = Int(bytes[53]) << 8 | Int(bytes[54])
            guard length > 0, length <= Self.maxCredentialId, bytes.count - 55 >= length else {
                throw .malformed("credential id length is out of range")
            }
            credentialId = Array(bytes[55..<(55 + length)])
            let rest = bytes[(55 + length)...]
            let used: Int
            do { (_, used) = try CBOR.decodePrefix(rest) } catch {
                throw .malformed("credential public key: \(error.reason)")
            }
            publicKey = Array(rest.prefix(used))
        }
    }

    /// A COSE public key of an accepted algorithm.
    public enum PublicKey: Sendable {
        case es256(P256.Signing.PublicKey)
        case rs256(_RSA.Signing.PublicKey)

        public init(cose bytes: [UInt8]) throws(Failure) {
            let key: CBOR
            do { key = try CBOR.decode(bytes) } catch { throw .malformed("COSE key: \(error.reason)") }
            guard let kty = key[1]?.int, let alg = key[3]?.int else { throw .malformed("COSE key without kty or alg") }
            switch (kty, alg) {
            case (2, WebAuthn.es256):
                guard key[-1]?.int == 1, let x = key[-2]?.byteString, let y = key[-3]?.byteString, x.count == 32,
                    y.count == 32
                else { throw .unsupported("an EC2 key that is not P-256") }
                guard let k = try? P256.Signing.PublicKey(x963Representation: [0x04] + x + y) else {
                    throw .malformed("the EC2 key is not a point on P-256")
                }
                self = .es256(k)
            case (3, WebAuthn.rs256):
                guard let n = key[-1]?.byteString, let e = key[-2]?.byteString, (256...512).contains(n.count),
                    (1...8).contains(e.count)
                else { throw .unsupported("an RSA key of 2048 to 4096 bits") }
                guard let k = try? _RSA.Signing.PublicKey(n: n, e: e) else { throw .malformed("the RSA key") }
                self = .rs256(k)
            default:
                throw .unsupported("COSE key type \(kty) with algorithm \(alg) (ES256 and RS256 are accepted)")
            }
        }

        public func verify(_ signature: [UInt8], over data: [UInt8]) -> Bool {
            switch self {
            case .es256(let key):
                guard let s = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
                return key.isValidSignature(s, for: data)
            case .rs256(let key):
                return key.isValidSignature(
                    _RSA.Signing.RSASignature(rawRepresentation: signature), for: data,
                    padding: .insecurePKCS1v1_5)
            }
        }
    }

    /// What the relying party expects of a ceremony.
    public struct Expectation: Sendable {
        public var challenge: [UInt8]
        public var rpId: String
        public var requireUserVerification: Bool

        public init(challenge: [UInt8], rpId: String, requireUserVerification: Bool) {
            self.challenge = challenge
            self.rpId = rpId
            self.requireUserVerification = requireUserVerification
        }

        /// Origins of the RP ID: `https://<rpId>` or a subdomain of it (any port); for
        /// `localhost` and names under `.localhost` (this machine), http too, as browsers allow.
        public func allows(origin: String) -> Bool {
            guard let url = URLComponents(string: origin), let host = url.host?.lowercased(), url.path.isEmpty,
                url.query == nil, url.fragment == nil
            else { return false }
            let rp = rpId.lowercased()
            guard host == rp || host.hasSuffix("." + rp) else { return false }
            return url.scheme == "https" || (url.scheme == "http" && (rp == "localhost" || rp.hasSuffix(".localhost")))
        }
    }

    /// A credential registration checked: what the user pool keeps of it.
    public struct Registered: Sendable, Equatable {
        public var credentialId: [UInt8]
        public var publicKey: [UInt8]
        public var signCount: UInt32
        public var aaguid: [UInt8]
        public var userVerified: Bool
    }

    /// clientDataJSON's members the relying party reads.
    public struct ClientData: Decodable, Sendable {
        public var type: String
        public var challenge: String
        public var origin: String
        public var crossOrigin: Bool?

        /// Decodes clientDataJSON (at most 8 KiB); nil if it is not its shape.
        public init?(_ json: [UInt8]) {
            guard json.count <= 8_192, let d = try? JSONDecoder().decode(ClientData.self, from: Data(json)) else {
                return nil
            }
            self = d
        }
    }

    /// Checks clientDataJSON: its type, the challenge and the origin.
    static func checkClientData(_ json: [UInt8], type: String, _ expected: Expectation) throws(Failure) {
        guard let data = ClientData(json) else { throw .malformed("clientDataJSON") }
        guard data.type == type else { throw .origin("clientDataJSON type \(data.type), not \(type)") }
        guard let given = Base64URL.decode(data.challenge), constantTimeEqual(given, expected.challenge) else {
            throw .challenge
        }
        guard expected.allows(origin: data.origin) else { throw .origin(data.origin) }
        if data.crossOrigin == true { throw .origin("a cross-origin frame") }
    }

    static func checkAuthenticator(_ data: AuthenticatorData, _ expected: Expectation) throws(Failure) {
        guard constantTimeEqual(data.rpIdHash, Array(SHA256.hash(data: Array(expected.rpId.utf8)))) else {
            throw .relyingParty
        }
        guard data.flags & WebAuthn.userPresent != 0 else { throw .flags("user presence") }
        if expected.requireUserVerification && data.flags & WebAuthn.userVerified == 0 {
            throw .flags("user verification")
        }
    }

    /// Registration: clientDataJSON (`webauthn.create`) and the attestation object.
    public static func register(
        clientDataJSON: [UInt8], attestationObject: [UInt8], expected: Expectation
    ) throws(Failure) -> Registered {
        try checkClientData(clientDataJSON, type: "webauthn.create", expected)
        let object: CBOR
        do { object = try CBOR.decode(attestationObject) } catch {
            throw .malformed("attestationObject: \(error.reason)")
        }
        guard let format = object["fmt"]?.string, let raw = object["authData"]?.byteString,
            case .map = object["attStmt"]
        else { throw .malformed("attestationObject without fmt, authData or attStmt") }
        let data = try AuthenticatorData(raw)
        try checkAuthenticator(data, expected)
        guard let id = data.credentialId, let cose = data.publicKey, let aaguid = data.aaguid else {
            throw .malformed("no attested credential data")
        }
        let key = try PublicKey(cose: cose)
        switch format {
        case "none": break
        case "packed":
            // Self-attestation only: signed by the credential's own key, with its algorithm.
            guard object["attStmt"]?["x5c"] == nil else {
                throw .unsupported("packed attestation with a certificate chain (x5c)")
            }
            guard let alg = object["attStmt"]?["alg"]?.int, let sig = object["attStmt"]?["sig"]?.byteString,
                alg == (try? CBOR.decode(cose))?[3]?.int
            else { throw .malformed("packed attestation statement") }
            let hash = Array(SHA256.hash(data: clientDataJSON))
            guard key.verify(sig, over: raw + hash) else { throw .signature }
        default:
            throw .unsupported("attestation format \(format) (none and packed self-attestation are accepted)")
        }
        return Registered(
            credentialId: id, publicKey: cose, signCount: data.signCount, aaguid: aaguid,
            userVerified: data.flags & userVerified != 0)
    }

    /// Sign-in: the assertion's signature over authenticatorData ‖ SHA-256(clientDataJSON)
    /// by the stored key, and a counter that grows when either count is non-zero. Returns
    /// the new count and whether the user was verified.
    public static func assert(
        clientDataJSON: [UInt8], authenticatorData: [UInt8], signature: [UInt8], publicKey: [UInt8],
        storedCount: UInt32, expected: Expectation
    ) throws(Failure) -> (signCount: UInt32, userVerified: Bool) {
        try checkClientData(clientDataJSON, type: "webauthn.get", expected)
        let data = try AuthenticatorData(authenticatorData)
        try checkAuthenticator(data, expected)
        let key = try PublicKey(cose: publicKey)
        guard signature.count <= 1_024,
            key.verify(signature, over: authenticatorData + Array(SHA256.hash(data: clientDataJSON)))
        else { throw .signature }
        if (data.signCount != 0 || storedCount != 0) && data.signCount <= storedCount { throw .counter }
        return (data.signCount, data.flags & userVerified != 0)
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
