import AuthCrypto
import CognitoModel
import Foundation
import Sharding

/// A passkey a user registered: the credential's id and COSE public key, its signature
/// counter, and what ListWebAuthnCredentials describes.
public struct Passkey: Codable, Sendable, Equatable {
    public var id: [UInt8]
    public var publicKey: [UInt8]
    public var signCount: UInt32
    public var rpId: String
    public var name: String?
    public var createdAt: Int64
    public var transports: [String]
    public var attachment: String?

    public init(
        id: [UInt8], publicKey: [UInt8], signCount: UInt32, rpId: String, name: String?, createdAt: Int64,
        transports: [String], attachment: String?
    ) {
        self.id = id
        self.publicKey = publicKey
        self.signCount = signCount
        self.rpId = rpId
        self.name = name
        self.createdAt = createdAt
        self.transports = transports
        self.attachment = attachment
    }
}

/// The registration a StartWebAuthnRegistration began, sealed into the challenge itself:
/// CompleteWebAuthnRegistration finds it in the credential's clientDataJSON, so nothing is
/// written until a credential comes back.
public struct PasskeyRegistration: Sendable, Equatable {
    public var pool: String
    public var client: String
    public var username: String
    public var sub: String
    public var issuedAt: Int64

    public init(pool: String, client: String, username: String, sub: String, issuedAt: Int64) {
        self.pool = pool
        self.client = client
        self.username = username
        self.sub = sub
        self.issuedAt = issuedAt
    }

    public var encoded: [UInt8] {
        var w = SealedFormat.writer(.passkeyRegistration)
        for text in [pool, client, username, sub] { w.string(text) }
        w.i64(issuedAt)
        return w.bytes
    }

    public init?(decoding bytes: [UInt8]) {
        guard
            let s = SealedFormat.read(
                bytes, .passkeyRegistration,
                { (r: inout BinaryReader) throws(BinaryReader.Truncated) in
                    PasskeyRegistration(
                        pool: try r.string(), client: try r.string(), username: try r.string(), sub: try r.string(),
                        issuedAt: try r.i64())
                })
        else { return nil }
        self = s
    }
}

/// Passkeys (WebAuthn): the pool's WebAuthnConfiguration, registration, and what a WEB_AUTHN
/// sign-in asks of the authenticator. Cognate cannot prove that a pool owns the DNS name it
/// gives as RelyingPartyId (Cognito checks its domains); any name is taken, and browsers
/// themselves only let pages of that name use it.
public enum PasskeyRules {
    /// Passkeys a user may register.
    public static let maxPerUser = 20
    /// How long a registration or a WEB_AUTHN challenge is good for (ms in the options).
    public static let ceremonySeconds: Int64 = 180

    /// SetUserPoolMfaConfig's WebAuthnConfiguration (nil leaves the current one).
    public static func configure(_ pool: inout Pool, _ config: WebAuthnConfigurationType?) throws(PoolError) {
        guard var config else { return }
        if pool.settings.userPoolTier == .lite {
            throw PoolError(
                .featureUnavailableInTier, "Passkeys are not available in the LITE tier; use ESSENTIALS or PLUS.")
        }
        if let rp = config.relyingPartyId {
            let name = rp.lowercased()
            let labels = name.split(separator: ".", omittingEmptySubsequences: false)
            let ok =
                !labels.isEmpty && name.utf8.count <= 253
                && labels.allSatisfy { label in
                    !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                        && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
                }
            guard ok else {
                throw PoolError(.invalidParameter, "RelyingPartyId must be a DNS name, such as auth.example.com.")
            }
            config.relyingPartyId = name
        }
        if case .unrecognized(let other) = config.userVerification ?? .preferred {
            throw PoolError(.invalidParameter, "Invalid UserVerification \(other)")
        }
        if case .unrecognized(let other) = config.factorConfiguration ?? .singleFactor {
            throw PoolError(.invalidParameter, "Invalid FactorConfiguration \(other)")
        }
        config.userVerification = config.userVerification ?? .preferred
        config.factorConfiguration = config.factorConfiguration ?? .singleFactor
        pool.settings.webAuthn = config
    }

    /// Whether passkeys count as both factors (MFA ON pools offer them, with user verification).
    public static func multiFactor(_ pool: Pool) -> Bool {
        pool.settings.webAuthn?.factorConfiguration == .multiFactorWithUserVerification
    }

    /// Whether a ceremony must show user verification (UV): the pool requires it, or a
    /// passkey stands in for MFA.
    public static func requiresUserVerification(_ pool: Pool) -> Bool {
        pool.settings.webAuthn?.userVerification == .required || (pool.mfaConfiguration == .on && multiFactor(pool))
    }

    /// What a ceremony of `pool` expects, once passkeys are on: WEB_AUTHN an allowed first
    /// factor, and a RelyingPartyId.
    public static func expectation(_ pool: Pool, challenge: [UInt8]) throws(PoolError) -> WebAuthn.Expectation {
        guard FirstFactorRules.allowed(pool).contains(.webAuthn) else {
            throw PoolError(.init(.webAuthnNotEnabled), "Passkeys are not enabled for this user pool (WEB_AUTHN).")
        }
        guard let rp = pool.settings.webAuthn?.relyingPartyId else {
            throw PoolError(
                .init(.webAuthnConfigurationMissing), "The user pool's WebAuthnConfiguration has no RelyingPartyId.")
        }
        return WebAuthn.Expectation(
            challenge: challenge, rpId: rp, requireUserVerification: requiresUserVerification(pool))
    }

    static func b64(_ bytes: [UInt8]) -> JSONValue { .string(Base64URL.encode(bytes)) }

    /// StartWebAuthnRegistration's CredentialCreationOptions (WebAuthn's JSON form).
    public static func creationOptions(
        _ pool: Pool, user: User, challenge: [UInt8], expectation: WebAuthn.Expectation
    ) -> JSONValue {
        let name = user.attributes["email"] ?? user.username
        return .object([
            "challenge": b64(challenge),
            "rp": .object(["id": .string(expectation.rpId), "name": .string(expectation.rpId)]),
            "user": .object([
                "id": b64(Array(user.sub.utf8)), "name": .string(name), "displayName": .string(name),
            ]),
            "pubKeyCredParams": .array([
                .object(["type": .string("public-key"), "alg": .number(Double(WebAuthn.es256))]),
                .object(["type": .string("public-key"), "alg": .number(Double(WebAuthn.rs256))]),
            ]),
            "timeout": .number(Double(ceremonySeconds * 1000)),
            "excludeCredentials": .array(
                (user.passkeys ?? []).map { .object(["type": .string("public-key"), "id": b64($0.id)]) }),
            "authenticatorSelection": .object([
                "residentKey": .string("required"), "requireResidentKey": .bool(true),
                "userVerification": .string(expectation.requireUserVerification ? "required" : "preferred"),
            ]),
            "attestation": .string("none"),
        ])
    }

    /// A WEB_AUTHN challenge's CREDENTIAL_REQUEST_OPTIONS (WebAuthn's JSON form, as text).
    public static func requestOptions(_ user: User, challenge: [UInt8], expectation: WebAuthn.Expectation) -> String {
        let options = RequestOptions(
            challenge: Base64URL.encode(challenge), timeout: ceremonySeconds * 1000, rpId: expectation.rpId,
            allowCredentials: (user.passkeys ?? []).map {
                .init(id: Base64URL.encode($0.id), transports: $0.transports.isEmpty ? nil : $0.transports)
            },
            userVerification: expectation.requireUserVerification ? "required" : "preferred")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(options)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// WebAuthn's PublicKeyCredentialRequestOptionsJSON.
    struct RequestOptions: Encodable {
        struct Descriptor: Encodable {
            var type = "public-key"
            var id: String
            var transports: [String]?
        }

        var challenge: String
        var timeout: Int64
        var rpId: String
        var allowCredentials: [Descriptor]
        var userVerification: String
    }

    /// The parts of a PublicKeyCredential in WebAuthn's JSON form (RegistrationResponseJSON
    /// or AuthenticationResponseJSON): base64url fields, decoded; nil where absent.
    public struct CredentialJSON: Sendable {
        public var id: [UInt8]
        public var clientDataJSON: [UInt8]
        public var attestationObject: [UInt8]?
        public var authenticatorData: [UInt8]?
        public var signature: [UInt8]?
        public var transports: [String]
        public var attachment: String?

        public init(_ value: JSONValue) throws(PoolError) {
            let bad = PoolError(.invalidParameter, "Credential is not a PublicKeyCredential in WebAuthn's JSON form.")
            guard case .object(let o) = value, case .object(let response)? = o["response"] else { throw bad }
            func bytes(_ v: JSONValue?) -> [UInt8]? {
                guard case .string(let s)? = v, s.utf8.count <= 65_536 else { return nil }
                return Base64URL.decode(s.replacingOccurrences(of: "=", with: ""))
            }
            guard let id = bytes(o["rawId"]) ?? bytes(o["id"]), !id.isEmpty,
                id.count <= WebAuthn.AuthenticatorData.maxCredentialId, let client = bytes(response["clientDataJSON"])
            else { throw bad }
            if case .string(let kind)? = o["type"], kind != "public-key" { throw bad }
            self.id = id
            clientDataJSON = client
            attestationObject = bytes(response["attestationObject"])
            authenticatorData = bytes(response["authenticatorData"])
            signature = bytes(response["signature"])
            var transports: [String] = []
            if case .array(let list)? = response["transports"] {
                for case .string(let t) in list.prefix(8) where t.utf8.count <= 32 { transports.append(t) }
            }
            self.transports = transports
            if case .string(let a)? = o["authenticatorAttachment"], ["platform", "cross-platform"].contains(a) {
                attachment = a
            }
        }

        /// CREDENTIAL, as a WEB_AUTHN challenge's response carries it (JSON text).
        public init(text: String) throws(PoolError) {
            guard text.utf8.count <= 65_536,
                let value = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            else { throw PoolError(.invalidParameter, "CREDENTIAL is not JSON.") }
            try self.init(value)
        }
    }

    /// The refusal for a ceremony WebAuthn's checks refused, in Cognito's exceptions.
    public static func refusal(_ failure: WebAuthn.Failure) -> PoolError {
        switch failure {
        case .malformed(let what): PoolError(.invalidParameter, "The credential is malformed: \(what).")
        case .unsupported(let what):
            PoolError(.init(.webAuthnCredentialNotSupported), "The credential is not supported: \(what).")
        case .challenge: PoolError(.init(.webAuthnChallengeNotFound), "The challenge was not found or has expired.")
        case .origin(let what): PoolError(.init(.webAuthnOriginNotAllowed), "The origin \(what) is not allowed.")
        case .relyingParty:
            PoolError(.init(.webAuthnRelyingPartyMismatch), "The credential is for another relying party.")
        case .flags(let what): PoolError(.notAuthorized, "The authenticator did not show \(what).")
        case .signature: PoolError(.notAuthorized, "The credential's signature does not verify.")
        case .counter: PoolError(.notAuthorized, "The authenticator's signature counter did not grow.")
        }
    }

    /// CompleteWebAuthnRegistration: a checked credential joins the user's passkeys.
    public static func add(
        _ user: inout User, _ registered: WebAuthn.Registered, credential: CredentialJSON, rpId: String, now: Int64
    ) throws(PoolError) {
        var keys = user.passkeys ?? []
        guard !keys.contains(where: { $0.id == registered.credentialId }) else {
            throw PoolError(.init(.webAuthnCredentialNotSupported), "This credential is already registered.")
        }
        guard keys.count < maxPerUser else {
            throw PoolError(.limitExceeded, "A user may register at most \(maxPerUser) passkeys.")
        }
        keys.append(
            Passkey(
                id: registered.credentialId, publicKey: registered.publicKey, signCount: registered.signCount,
                rpId: rpId, name: nil, createdAt: now, transports: credential.transports,
                attachment: credential.attachment))
        user.passkeys = keys
        user.modifiedAt = now
    }

    /// DeleteWebAuthnCredential.
    public static func delete(_ user: inout User, id: [UInt8], now: Int64) throws(PoolError) {
        guard let i = user.passkeys?.firstIndex(where: { $0.id == id }) else {
            throw PoolError(.resourceNotFound, "Credential not found.")
        }
        user.passkeys?.remove(at: i)
        if user.passkeys?.isEmpty == true { user.passkeys = nil }
        user.modifiedAt = now
    }

    /// A sign-in's accepted assertion: the counter moves on (the write refuses a count
    /// that did not grow since, so two uses of one count cannot both pass).
    public static func use(_ user: inout User, id: [UInt8], signCount: UInt32, now: Int64) throws(PoolError) {
        guard let i = user.passkeys?.firstIndex(where: { $0.id == id }) else {
            throw PoolError(.notAuthorized, "Incorrect username or password.")
        }
        let stored = user.passkeys![i].signCount
        if (signCount != 0 || stored != 0) && signCount <= stored {
            throw refusal(.counter)
        }
        user.passkeys![i].signCount = signCount
        user.lockout = Lockout()
    }
}
