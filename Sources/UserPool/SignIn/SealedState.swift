import CognitoModel
import Sharding

/// The one form of everything a sign-in hands a client sealed — an SRP challenge
/// (SECRET_BLOCK), a challenge session (`Session`), a refresh token: a format byte, the
/// kind's byte, then its fields, length-prefixed. Decoding checks each length before it
/// reads, refuses trailing bytes, and answers nil for another kind: a box that opened is
/// ours, but it came back from a client.
public enum SealedKind: UInt8, Sendable {
    case srpChallenge = 1
    case session = 2
    case refreshToken = 3
    case signUpSession = 4
    case passkeyRegistration = 5
    case authorizationCode = 6
    case loginSession = 7
}

enum SealedFormat {
    static let version: UInt8 = 3

    static func writer(_ kind: SealedKind) -> BinaryWriter {
        var w = BinaryWriter(capacity: 256)
        w.u8(version)
        w.u8(kind.rawValue)
        return w
    }

    /// Reads `bytes` as a `kind` box with `body`; nil for a short, long or foreign one.
    static func read<T>(
        _ bytes: [UInt8], _ kind: SealedKind, _ body: (inout BinaryReader) throws(BinaryReader.Truncated) -> T
    ) -> T? {
        var r = BinaryReader(bytes)
        guard let version = try? r.u8(), version == Self.version, let k = try? r.u8(), k == kind.rawValue,
            let value = try? body(&r), r.isAtEnd
        else { return nil }
        return value
    }
}

extension BinaryWriter {
    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
}

extension BinaryReader {
    mutating func i64() throws(Truncated) -> Int64 { Int64(bitPattern: try u64()) }
}

/// The state a challenge's `Session` carries to the next step: which challenge it answers
/// (typed), for which pool and client, the user (and the name they signed in with), and
/// when the sign-in began. The sealer gives it its lifetime.
public struct SignInSession: Sendable, Equatable {
    public var challenge: ChallengeNameType
    public var pool: String
    public var client: String
    public var username: String
    /// What the user typed at InitiateAuth (a username or an alias).
    public var identifier: String
    public var issuedAt: Int64
    /// MFA_SETUP: an authenticator was verified with this session (VerifySoftwareToken), so
    /// it may finish the sign-in.
    public var factorVerified: Bool
    /// WEB_AUTHN: the challenge the authenticator signs, and the node (and its run) that
    /// read the user, where the session is claimed once.
    public var passkeyChallenge: [UInt8]
    public var node: UInt64
    public var boot: UInt64
    /// The methods the user has completed so far in this sign-in (`amr`: `pwd`, …).
    public var methods: [String] = []

    public init(
        challenge: ChallengeNameType, pool: String, client: String, username: String, identifier: String,
        issuedAt: Int64, factorVerified: Bool = false, passkeyChallenge: [UInt8] = [], node: UInt64 = 0,
        boot: UInt64 = 0
    ) {
        self.challenge = challenge
        self.pool = pool
        self.client = client
        self.username = username
        self.identifier = identifier
        self.issuedAt = issuedAt
        self.factorVerified = factorVerified
        self.passkeyChallenge = passkeyChallenge
        self.node = node
        self.boot = boot
    }

    /// The challenges a session can stand for; any other name in a box is refused.
    static let challenges: [ChallengeNameType] = [
        .newPasswordRequired, .softwareTokenMfa, .mfaSetup, .emailOtp, .smsMfa, .selectMfaType, .selectChallenge,
        .smsOtp, .webAuthn,
    ]

    public var encoded: [UInt8] {
        var w = SealedFormat.writer(.session)
        w.string(challenge.rawValue)
        for text in [pool, client, username, identifier] { w.string(text) }
        w.i64(issuedAt)
        w.bool(factorVerified)
        w.blob(passkeyChallenge)
        w.u64(node)
        w.u64(boot)
        if !methods.isEmpty { w.string(methods.joined(separator: " ")) }
        return w.bytes
    }

    public init?(decoding bytes: [UInt8]) {
        guard
            let s = SealedFormat.read(
                bytes, .session,
                { (r: inout BinaryReader) throws(BinaryReader.Truncated) in
                    var s = SignInSession(
                        challenge: ChallengeNameType(rawValue: try r.string()), pool: try r.string(),
                        client: try r.string(), username: try r.string(), identifier: try r.string(),
                        issuedAt: try r.i64(), factorVerified: try r.bool(), passkeyChallenge: try r.blob(max: 64),
                        node: try r.u64(), boot: try r.u64())
                    if !r.isAtEnd { s.methods = try r.string().split(separator: " ").prefix(4).map(String.init) }
                    return s
                }), Self.challenges.contains(s.challenge)
        else { return nil }
        self = s
    }
}

/// The `Session` SignUp and ConfirmSignUp return to a client that allows USER_AUTH: after
/// SignUp it lets ConfirmSignUp hand out the next one; after ConfirmSignUp (`confirmed`) it
/// signs the user in with InitiateAuth's USER_AUTH while it lasts, without another factor (the code
/// just confirmed was one). Bound to the pool, the client and the user (by sub).
public struct SignUpSession: Sendable, Equatable {
    public var confirmed: Bool
    public var pool: String
    public var client: String
    public var username: String
    /// The name SignUp was given (an email or phone number where those are usernames).
    public var identifier: String
    public var sub: String
    public var issuedAt: Int64

    public init(
        confirmed: Bool, pool: String, client: String, username: String, identifier: String, sub: String,
        issuedAt: Int64
    ) {
        self.confirmed = confirmed
        self.pool = pool
        self.client = client
        self.username = username
        self.identifier = identifier
        self.sub = sub
        self.issuedAt = issuedAt
    }

    /// Whether `name` (given to ConfirmSignUp or InitiateAuth) is this session's user.
    public func names(_ name: String, in pool: Pool) -> Bool {
        let given = PoolRules.canonical(name, in: pool)
        return given == PoolRules.canonical(username, in: pool) || given == PoolRules.canonical(identifier, in: pool)
    }

    public var encoded: [UInt8] {
        var w = SealedFormat.writer(.signUpSession)
        w.bool(confirmed)
        for text in [pool, client, username, identifier, sub] { w.string(text) }
        w.i64(issuedAt)
        return w.bytes
    }

    public init?(decoding bytes: [UInt8]) {
        guard
            let s = SealedFormat.read(
                bytes, .signUpSession,
                { (r: inout BinaryReader) throws(BinaryReader.Truncated) in
                    SignUpSession(
                        confirmed: try r.bool(), pool: try r.string(), client: try r.string(),
                        username: try r.string(), identifier: try r.string(), sub: try r.string(),
                        issuedAt: try r.i64())
                })
        else { return nil }
        self = s
    }
}

/// A refresh token: the user, the sign-in it came from, and its family (`origin_jti`).
public struct RefreshTokenState: Sendable, Equatable {
    public var pool: String
    public var client: String
    public var username: String
    public var sub: String
    public var authTime: Int64
    public var origin: String
    /// The scopes an OAuth 2.0 sign-in (the pool domain's) was granted; nil for the API's.
    public var scopes: [String]?
    /// Which token of a rotating family this is (nil: the family's first).
    public var rotation: String?

    public init(
        pool: String, client: String, username: String, sub: String, authTime: Int64, origin: String,
        scopes: [String]? = nil, rotation: String? = nil
    ) {
        self.pool = pool
        self.client = client
        self.username = username
        self.sub = sub
        self.authTime = authTime
        self.origin = origin
        self.scopes = scopes
        self.rotation = rotation
    }

    public var encoded: [UInt8] {
        var w = SealedFormat.writer(.refreshToken)
        for text in [pool, client, username, sub] { w.string(text) }
        w.i64(authTime)
        w.string(origin)
        // Optional tail: the scopes ("" for none), then the rotation id.
        if scopes != nil || rotation != nil { w.string(scopes?.joined(separator: " ") ?? "") }
        if let rotation { w.string(rotation) }
        return w.bytes
    }

    public init?(decoding bytes: [UInt8]) {
        if let s = SealedFormat.read(
            bytes, .refreshToken,
            { (r: inout BinaryReader) throws(BinaryReader.Truncated) in
                var state = RefreshTokenState(
                    pool: try r.string(), client: try r.string(), username: try r.string(), sub: try r.string(),
                    authTime: try r.i64(), origin: try r.string())
                if !r.isAtEnd {
                    let scopes = try r.string()
                    state.scopes = scopes.isEmpty ? nil : scopes.split(separator: " ").map(String.init)
                }
                if !r.isAtEnd { state.rotation = try r.string() }
                return state
            })
        {
            self = s
        } else if let s = Self.legacy(bytes) {
            self = s
        } else {
            return nil
        }
    }

    /// Refresh tokens live for days, so those sealed before this form keep working: a kind
    /// byte 2, then six length-prefixed text fields, auth_time in decimal.
    static func legacy(_ bytes: [UInt8]) -> RefreshTokenState? {
        var r = BinaryReader(bytes)
        guard let kind = try? r.u8(), kind == 2 else { return nil }
        var fields: [String] = []
        while !r.isAtEnd, fields.count < 6 {
            guard let f = try? r.string() else { return nil }
            fields.append(f)
        }
        guard r.isAtEnd, fields.count == 6, let authTime = Int64(fields[4]) else { return nil }
        return RefreshTokenState(
            pool: fields[0], client: fields[1], username: fields[2], sub: fields[3], authTime: authTime,
            origin: fields[5])
    }
}
