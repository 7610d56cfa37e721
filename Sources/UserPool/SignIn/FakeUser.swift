import AuthCrypto
import CognitoModel
import Crypto

/// What a sign-in for a name no user has looks like, so that it looks like a real user's
/// (PreventUserExistenceErrors = ENABLED): a verifier with a salt, v and powers of v drawn
/// from a keyed hash of the name (the same on every attempt, so probing twice learns
/// nothing), and a USER_ID_FOR_SRP of the shape a real one would have. Making it costs no
/// modular exponentiation; checking a password against it costs what a real check costs.
public enum FakeUser {
    /// The fake verifier for `canonical` in `pool`: the salt, v and its three powers are
    /// keyed-hash output of the group's length (reduced mod N where used, like any v).
    public static func verifier(key: [UInt8], pool: String, canonical: String) -> PasswordVerifier {
        let groupBytes = 384
        var material: [UInt8] = []
        var counter: UInt32 = 0
        while material.count < 16 + 4 * groupBytes {
            var h = HMAC<SHA256>(key: SymmetricKey(data: key))
            h.update(data: Array("fake verifier|\(pool)|\(canonical)|".utf8))
            withUnsafeBytes(of: counter.bigEndian) { h.update(data: Array($0)) }
            material += Array(h.finalize())
            counter += 1
        }
        let salt = Array(material[0..<16])
        let v = Array(material[16..<(16 + groupBytes)])
        let powers = Array(material[(16 + groupBytes)..<(16 + 4 * groupBytes)])
        return PasswordVerifier(salt: salt, verifier: v, powers: powers)
    }

    /// USER_ID_FOR_SRP for a name no user has: in a pool whose users sign in by email or
    /// phone (their username is a UUID), a UUID drawn from a keyed hash of the name; in a
    /// pool with aliases, for a name shaped like an alias (a real user's answer names the
    /// username behind it), a username-shaped name from it (an email's local part, a
    /// phone's digits); otherwise the name as a real user's would be stored.
    public static func userIdForSrp(key: [UInt8], pool: Pool, identifier: String) -> String {
        guard !pool.usernameAttributes.isEmpty else {
            let aliases = Set(pool.aliasAttributes)
            if aliases.contains(.email), PoolRules.isEmail(identifier),
                let local = identifier.split(separator: "@").first
            {
                return PoolRules.canonical(String(local), in: pool)
            }
            if aliases.contains(.phoneNumber), PoolRules.isPhone(identifier) { return String(identifier.dropFirst()) }
            return PoolRules.canonical(identifier, in: pool)
        }
        var bytes = Array(keyed(key, "fake username", pool.id, identifier.lowercased()).prefix(16))
        bytes[6] = (bytes[6] & 0x0f) | 0x40  // version 4
        bytes[8] = (bytes[8] & 0x3f) | 0x80  // RFC 4122 variant
        var rng = FixedBytes(bytes)
        return randomUUIDString(using: &rng)
    }

    static func keyed(_ key: [UInt8], _ parts: String...) -> [UInt8] {
        var h = HMAC<SHA256>(key: SymmetricKey(data: key))
        h.update(data: Array(parts.joined(separator: "|").utf8))
        return Array(h.finalize())
    }

    /// What a code operation for a name no user has answers (ForgotPassword,
    /// ResendConfirmationCode), stable per name: where a code would have gone, masked as a
    /// real destination is. A name shaped like an email or a phone number is its own
    /// destination (as it would be for a user who signs in with it); for other names the
    /// channel is the one the pool would use first, the email's first letter the name's,
    /// its domain's and a phone's last digits drawn from the keyed hash. As Cognito does,
    /// some names (one in eight, by the hash) answer as a user with no verified channel
    /// would, with InvalidParameterException.
    public static func delivery(
        key: [UInt8], pool: Pool, identifier: String, purpose: CodePurpose
    ) throws(PoolError) -> CodeDeliveryDetailsType {
        let h = keyed(key, "fake delivery", pool.id, identifier.lowercased())
        let medium: DeliveryMediumType
        switch purpose {
        case .recovery:
            let mechanisms =
                pool.settings.accountRecoverySetting?.recoveryMechanisms?.sorted { $0.priority < $1.priority }
                .map(\.name) ?? [.verifiedPhoneNumber, .verifiedEmail]
            if mechanisms.first == .adminOnly {
                throw PoolError(.notAuthorized, "Contact administrator to reset password.")
            }
            if h[0] & 7 == 0 { throw MessageRules.noRecoveryChannel }
            // Users are verified where the pool verifies them: the first mechanism it can
            // have verified is where most users' codes go.
            let auto = Set(pool.autoVerifiedAttributes)
            let verifiable = mechanisms.filter { m in
                auto.isEmpty || (m == .verifiedEmail && auto.contains(.email))
                    || (m == .verifiedPhoneNumber && auto.contains(.phoneNumber))
            }
            if PoolRules.isEmail(identifier) && mechanisms.contains(.verifiedEmail) {
                medium = .email
            } else if PoolRules.isPhone(identifier) && mechanisms.contains(.verifiedPhoneNumber) {
                medium = .sms
            } else {
                medium = (verifiable.first ?? mechanisms.first) == .verifiedEmail ? .email : .sms
            }
        case .signUp, .attribute, .signIn:
            let auto = Set(pool.autoVerifiedAttributes)
            if auto.isEmpty || h[0] & 7 == 0 { throw MessageRules.noSignUpChannel }
            if PoolRules.isEmail(identifier) && auto.contains(.email) {
                medium = .email
            } else if PoolRules.isPhone(identifier) && auto.contains(.phoneNumber) {
                medium = .sms
            } else {
                medium = auto.contains(.phoneNumber) ? .sms : .email
            }
        }
        return MessageRules.delivery(
            medium, attribute: medium == .sms ? "phone_number" : "email",
            destination: destination(medium, hash: h, identifier: identifier))
    }

    /// Where a USER_AUTH sign-in code (EMAIL_OTP, SMS_OTP) for a name no user has would have
    /// gone, before masking: the same destination a code operation names for it.
    public static func signInDestination(
        _ medium: DeliveryMediumType, key: [UInt8], pool: String, identifier: String
    ) -> String {
        destination(medium, hash: keyed(key, "fake delivery", pool, identifier.lowercased()), identifier: identifier)
    }

    static func destination(_ medium: DeliveryMediumType, hash h: [UInt8], identifier: String) -> String {
        if medium == .sms {
            let drawn = "+1555" + (1...7).map { String(h[$0] % 10) }.joined()
            return PoolRules.isPhone(identifier) ? identifier : drawn
        }
        if PoolRules.isEmail(identifier) { return identifier }
        let initial = identifier.unicodeScalars.first
        let usable = initial.map { $0.properties.isAlphabetic || ("0"..."9").contains($0) } ?? false
        let first = usable ? String(identifier.prefix(1)).lowercased() : String(Self.letters[Int(h[8]) % 26])
        let domain = Self.domainInitials[Int(h[9]) % Self.domainInitials.count]
        return "\(first)x@\(domain)x.com"
    }

    static let letters = Array("abcdefghijklmnopqrstuvwxyz")
    /// First letters of mail domains, about as often as people's addresses have them (gmail
    /// the most; then outlook and hotmail, yahoo, icloud, companies').
    static let domainInitials = Array("ggggggggggggggghhhhooooyyyyiiaacemnpstwx")

    /// Hands out given bytes as a random generator would, for a deterministic UUID.
    struct FixedBytes: RandomNumberGenerator {
        var bytes: [UInt8]
        var offset = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        mutating func next() -> UInt64 {
            var v: UInt64 = 0
            for _ in 0..<8 {
                v = v << 8 | UInt64(offset < bytes.count ? bytes[offset] : 0)
                offset += 1
            }
            return v
        }
    }
}
