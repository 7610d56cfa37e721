import AuthCrypto
import CognitoModel
import Foundation
import UserPool

/// Tokens and sealed state, for every route that issues or reads them (the JSON API today,
/// the pool domain's endpoints and pages next): signing a user's tokens with the claims
/// `TokenRules` makes, and sealing and opening what a client carries between requests.
struct TokenService: Sendable {
    let auth: AuthContext
    /// Unix seconds.
    let clock: @Sendable () -> Double

    func now() -> Int64 { Int64(clock()) }

    /// The sealer each kind of state is sealed with.
    static func sealer(_ kind: SealedKind) -> KeyPath<AuthContext.KeyRing, Sealer> {
        switch kind {
        case .srpChallenge, .session, .signUpSession, .passkeyRegistration: return \.challengeSealer
        case .refreshToken, .authorizationCode, .loginSession: return \.tokenSealer
        }
    }

    /// A sealed box as text: base64url without padding, as Cognito's tokens and sessions
    /// are (the model's pattern for tokens is `[A-Za-z0-9-_=.]+`); SECRET_BLOCK in standard
    /// base64, since clients decode it that way before signing it.
    func seal(_ bytes: [UInt8], _ kind: SealedKind, seconds: Int64) -> String {
        var rng = SystemRandomNumberGenerator()
        let box = auth.ring()[keyPath: Self.sealer(kind)].seal(bytes, expiresAt: now() + seconds, using: &rng)
        return kind == .srpChallenge ? Base64.encode(box) : Base64URL.encode(box)
    }

    /// A sealed box as bytes (a passkey registration's challenge is one).
    func sealBytes(_ bytes: [UInt8], _ kind: SealedKind, seconds: Int64) -> [UInt8] {
        var rng = SystemRandomNumberGenerator()
        return auth.ring()[keyPath: Self.sealer(kind)].seal(bytes, expiresAt: now() + seconds, using: &rng)
    }

    /// The plaintext of a sealed box of `kind`, or nil.
    func openBytes(_ box: [UInt8], _ kind: SealedKind) -> [UInt8]? {
        guard box.count <= 16_384 else { return nil }
        return try? auth.open(box, now: now(), Self.sealer(kind))
    }

    /// The plaintext of a sealed text of `kind` (either alphabet) and its raw box; nil for
    /// anything this cluster did not seal with that kind's key, or that has expired.
    func open(_ text: String?, _ kind: SealedKind) -> (plain: [UInt8], box: [UInt8])? {
        guard let text, text.utf8.count <= 16_384, let box = Base64URL.decode(text) ?? Base64.decode(text),
            let plain = try? auth.open(box, now: now(), Self.sealer(kind))
        else { return nil }
        return (plain, box)
    }

    /// A client_credentials access token for `scopes`, and how long it lasts.
    func clientToken(pool: Pool, client: AppClient, scopes: [String]) throws -> (String, Int64) {
        var rng = SystemRandomNumberGenerator()
        let claims = ClientCredentialsRules.claims(
            client, scopes: scopes, issuer: auth.issuer(pool.id), now: now(), jti: randomUUIDString(using: &rng))
        return (try auth.signer(for: pool).sign(claims), TokenRules.seconds(.access, of: client))
    }

    /// Signs a user's tokens. A new sign-in (`origin` nil) begins a token family, named by a
    /// time-ordered UUID, and gets a refresh token; a refresh keeps its family and gets none.
    /// An OAuth 2.0 sign-in's `scopes` go into the access token and its refresh token; it
    /// gets an ID token only with `openid`.
    func tokens(
        pool: Pool, client: AppClient, user: User, authTime: Int64, origin: String?, scopes: [String]? = nil,
        nonce: String? = nil, amr: [String] = []
    ) throws
        -> AuthenticationResultType
    {
        let signer = try auth.signer(for: pool)
        var rng = SystemRandomNumberGenerator()
        let ids = TokenRules.TokenIDs(
            originJti: origin ?? timeOrderedUUIDString(milliseconds: Int64(clock() * 1000), using: &rng),
            eventId: randomUUIDString(using: &rng), accessJti: randomUUIDString(using: &rng),
            idJti: randomUUIDString(using: &rng))
        let claims = TokenRules.claims(
            user: user, client: client, pool: pool, issuer: auth.issuer(pool.id), authTime: authTime, now: now(),
            ids: ids, scopes: scopes, nonce: nonce, amr: amr)
        let withID = scopes?.contains("openid") ?? true
        var result = AuthenticationResultType(
            accessToken: try signer.sign(claims.access), expiresIn: Int(TokenRules.seconds(.access, of: client)),
            tokenType: "Bearer", idToken: withID ? try signer.sign(claims.id) : nil)
        if origin == nil {
            let state = RefreshTokenState(
                pool: pool.id, client: client.id, username: user.username, sub: user.sub, authTime: authTime,
                origin: ids.originJti, scopes: scopes)
            result.refreshToken = seal(state.encoded, .refreshToken, seconds: TokenRules.seconds(.refresh, of: client))
        }
        return result
    }
}

extension AuthContext {
    /// A new verifier (fresh salt) for `password`.
    func makeVerifier(pool: Pool, username: String, password: String) -> PasswordVerifier {
        var rng = SystemRandomNumberGenerator()
        return WorkspacePool.shared.with {
            $0.makeVerifier(
                poolName: SRPHash.poolName(fromPoolId: pool.id), userIdForSrp: username, password: password, using: &rng
            )
        }
    }

    /// Whether `password` is one of the passwords the pool's PasswordHistorySize makes the
    /// user keep away from, by recomputing each remembered one's verifier from its salt (one
    /// g^x each). For a name no user has (`user` nil) the same number of g^x is spent on
    /// drawn salts, so the answer's cost does not tell.
    func reusesPassword(_ password: String, user: User?, username: String, pool: Pool) async throws -> Bool {
        var remembered = user.map { PasswordHistoryRules.remembered($0, policy: pool.policy) } ?? []
        if user == nil, let size = pool.policy.historySize {
            var rng = SystemRandomNumberGenerator()
            remembered = (0..<min(size, PasswordHistoryRules.maxSize)).map { _ in
                PasswordHistoryEntry(salt: (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }, digest: [])
            }
        }
        guard !remembered.isEmpty else { return false }
        let poolName = SRPHash.poolName(fromPoolId: pool.id)
        let entries = remembered
        return try await crypto {
            WorkspacePool.shared.with { w in
                entries.contains { entry in
                    let v = w.verifier(
                        salt: entry.salt, poolName: poolName, userIdForSrp: username, password: password,
                        includingPowers: false)
                    return v.digest == entry.digest
                }
            }
        }
    }
}
