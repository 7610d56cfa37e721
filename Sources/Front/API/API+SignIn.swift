import AuthCrypto
import CognitoModel
import Foundation
import NodeRPC
import UserPool

/// Sign-in: InitiateAuth, RespondToAuthChallenge and their admin forms. The rules are the
/// domain's `SignInStateMachine`; this file performs its actions (reads, crypto, the shard
/// write that records an attempt, sealing) and encodes the answers.
extension API {
    /// What every sign-in answer carries, whichever operation's shape it goes out in.
    struct AuthAnswer {
        var challengeName: ChallengeNameType?
        var session: String?
        var challengeParameters: [String: String] = [:]
        var authenticationResult: AuthenticationResultType?
    }

    static let invalidSession = PoolError(.notAuthorized, "Invalid session for the user, session is expired.")

    // MARK: Sealing

    /// A sealed box as text: base64url without padding, as Cognito's tokens and sessions
    /// are (the model's pattern for tokens is `[A-Za-z0-9-_=.]+`); SECRET_BLOCK in standard
    /// base64, since clients decode it that way before signing it.
    func seal(_ bytes: [UInt8], _ sealer: Sealer, seconds: Int64, urlSafe: Bool = true) -> String {
        var rng = SystemRandomNumberGenerator()
        let box = sealer.seal(bytes, expiresAt: now() + seconds, using: &rng)
        return urlSafe ? Base64URL.encode(box) : Base64.encode(box)
    }

    /// The plaintext of a sealed text (either alphabet) and its raw box, or `invalid`.
    func unseal(
        _ text: String?, _ sealer: KeyPath<AuthContext.KeyRing, Sealer>, invalid: PoolError
    ) throws(PoolError)
        -> (plain: [UInt8], box: [UInt8])
    {
        guard let text, text.utf8.count <= 16_384, let box = Base64URL.decode(text) ?? Base64.decode(text),
            let plain = try? auth.open(box, now: now(), sealer)
        else { throw invalid }
        return (plain, box)
    }

    // MARK: Operations

    func signInClient(_ id: String, poolId: String? = nil) async throws -> (AppClient, Pool) {
        let client = try await store.appClient(id: id)
        if let poolId, client.poolId != poolId {
            throw PoolError(.resourceNotFound, "User pool client \(id) does not exist.")
        }
        return (client, try await store.pool(client.poolId))
    }

    func initiateAuth(_ r: InitiateAuthRequest) async throws -> InitiateAuthResponse {
        let (client, pool) = try await signInClient(r.clientId)
        let a = try await initiate(r.authFlow, r.authParameters ?? [:], client: client, pool: pool, admin: false)
        return InitiateAuthResponse(
            challengeName: a.challengeName, session: a.session, challengeParameters: a.challengeParameters,
            authenticationResult: a.authenticationResult)
    }

    func adminInitiateAuth(_ r: AdminInitiateAuthRequest) async throws -> AdminInitiateAuthResponse {
        let (client, pool) = try await signInClient(r.clientId, poolId: r.userPoolId)
        let a = try await initiate(r.authFlow, r.authParameters ?? [:], client: client, pool: pool, admin: true)
        return AdminInitiateAuthResponse(
            challengeName: a.challengeName, session: a.session, challengeParameters: a.challengeParameters,
            authenticationResult: a.authenticationResult)
    }

    func respondToAuthChallenge(_ r: RespondToAuthChallengeRequest) async throws -> RespondToAuthChallengeResponse {
        let (client, pool) = try await signInClient(r.clientId)
        let a = try await respond(
            r.challengeName, r.challengeResponses ?? [:], session: r.session, client: client, pool: pool)
        return RespondToAuthChallengeResponse(
            challengeName: a.challengeName, session: a.session, challengeParameters: a.challengeParameters,
            authenticationResult: a.authenticationResult)
    }

    func adminRespondToAuthChallenge(
        _ r: AdminRespondToAuthChallengeRequest
    ) async throws
        -> AdminRespondToAuthChallengeResponse
    {
        let (client, pool) = try await signInClient(r.clientId, poolId: r.userPoolId)
        let a = try await respond(
            r.challengeName, r.challengeResponses ?? [:], session: r.session, client: client, pool: pool)
        return AdminRespondToAuthChallengeResponse(
            challengeName: a.challengeName, session: a.session, challengeParameters: a.challengeParameters,
            authenticationResult: a.authenticationResult)
    }

    func initiate(
        _ flow: AuthFlowType, _ params: [String: String], client: AppClient, pool: Pool, admin: Bool
    ) async throws -> AuthAnswer {
        let adminFlows: [AuthFlowType] = [.adminUserPasswordAuth, .adminNoSrpAuth]
        let userFlows: [AuthFlowType] = [.userSrpAuth, .userPasswordAuth, .refreshTokenAuth, .refreshToken]
        guard userFlows.contains(flow) || (admin && adminFlows.contains(flow)) else {
            if flow == .customAuth || flow == .userAuth {
                throw PoolError.notSupported("The auth flow \(flow.rawValue)")
            }
            throw PoolError(
                .invalidParameter,
                "Invalid AuthFlow \(flow.rawValue) for \(admin ? "AdminInitiateAuth" : "InitiateAuth")")
        }
        guard SignInRules.allows(client, flow) else {
            throw PoolError(.invalidParameter, "\(flow.rawValue) flow not enabled for this client")
        }
        let machineFlow: SignInStateMachine.Flow
        switch flow {
        case .refreshTokenAuth, .refreshToken:
            let result = try await refresh(
                pool: pool, client: client, token: params["REFRESH_TOKEN"], secretHash: params["SECRET_HASH"],
                username: params["USERNAME"])
            return AuthAnswer(authenticationResult: result)
        case .userSrpAuth:
            guard let a = params["SRP_A"] else {
                throw PoolError(.invalidParameter, "Missing required parameter SRP_A")
            }
            machineFlow = .srp(clientA: a)
        default:
            guard let password = params["PASSWORD"] else {
                throw PoolError(.invalidParameter, "Missing required parameter PASSWORD")
            }
            machineFlow = .password(password, admin: admin)
        }
        var machine = SignInStateMachine(context: signInContext(pool: pool, client: client))
        return try await run(
            &machine, .initiate(machineFlow, username: params["USERNAME"], secretHash: params["SECRET_HASH"]))
    }

    func respond(
        _ name: ChallengeNameType, _ responses: [String: String], session: String?, client: AppClient, pool: Pool
    ) async throws -> AuthAnswer {
        switch name {
        case .passwordVerifier:
            let (plain, box) = try unseal(
                responses["PASSWORD_CLAIM_SECRET_BLOCK"], \.challengeSealer, invalid: Self.invalidSession)
            guard let challenge = SRPChallengeState(decoding: plain) else { throw Self.invalidSession }
            var machine = SignInStateMachine(context: signInContext(pool: pool, client: client))
            let claim = AuthEvent.claim(
                challenge, block: box, username: responses["USERNAME"], secretHash: responses["SECRET_HASH"],
                signature: responses["PASSWORD_CLAIM_SIGNATURE"], timestamp: responses["TIMESTAMP"])
            return try await run(&machine, claim, secretBlock: box)
        case .newPasswordRequired:
            return try await newPasswordRequired(pool: pool, client: client, responses: responses, session: session)
        case .unrecognized(let other):
            throw PoolError(.invalidParameter, "Invalid ChallengeName \(other)")
        default:
            throw PoolError.notSupported("The challenge \(name.rawValue)")
        }
    }

    func signInContext(pool: Pool, client: AppClient) -> SignInStateMachine.Context {
        SignInStateMachine.Context(
            pool: pool, client: client, now: now(), lockoutBaseSeconds: lockoutBase,
            fakeKey: auth.fakeSaltKey.withUnsafeBytes { Array($0) })
    }

    /// Runs a sign-in machine from `first` to its answer, performing each action. A slot the
    /// user's shard leader holds for the check is given back before the answer, whatever it
    /// is.
    func run(
        _ machine: inout SignInStateMachine, _ first: AuthEvent, secretBlock: [UInt8] = []
    ) async throws -> AuthAnswer {
        var held: (ReservedReply, shard: UInt32)?
        do {
            let answer = try await drive(&machine, first, secretBlock: secretBlock, held: &held)
            if let (h, shard) = held { await store.release(h, shard: shard) }
            return answer
        } catch {
            if let (h, shard) = held { await store.release(h, shard: shard) }
            throw error
        }
    }

    private func drive(
        _ machine: inout SignInStateMachine, _ first: AuthEvent, secretBlock: [UInt8],
        held: inout (ReservedReply, shard: UInt32)?
    ) async throws -> AuthAnswer {
        let context = machine.context
        var action = machine.received(first)
        while true {
            switch action {
            case .resolve(let identifier):
                let (user, readBy) = try await store.resolveForSignIn(pool: context.pool, identifier: identifier)
                action = machine.received(.resolved(user, node: readBy?.node ?? 0, boot: readBy?.boot ?? 0))
            case .reserve(let canonical, let challenge):
                let query = UserPoolQuery.attemptSlot(
                    poolId: context.pool.id, canonical: canonical, now: context.now, lockoutBaseSeconds: lockoutBase,
                    challenge: challenge)
                let (reply, h, shard) = try await store.reserve(
                    store.userShard(pool: context.pool.id, canonical: canonical), query)
                held = (h, shard)
                guard case .slot(var slot) = reply else {
                    throw PoolError(.internalError, "unexpected reply reserving a sign-in attempt")
                }
                // The challenge was read on another node (the lead moved since): claimed there.
                if h.claimElsewhere, let challenge,
                    await !store.claim(node: challenge.node, boot: challenge.boot, id: challenge.id)
                {
                    slot = AttemptSlot(outcome: .replayed)
                }
                action = machine.received(.reserved(slot))
            case .checkPassword(let password, let verifier, let userId):
                let poolName = SRPHash.poolName(fromPoolId: context.pool.id)
                let ok = try await auth.crypto {
                    WorkspacePool.shared.with {
                        $0.verify(password: password, poolName: poolName, userIdForSrp: userId, against: verifier)
                    }
                }
                action = machine.received(.checked(passwordOK: ok))
            case .checkClaim(let state, let signature, let timestamp):
                let ok = try await checkClaim(
                    state, signature: signature, timestamp: timestamp, secretBlock: secretBlock)
                action = machine.received(.checked(passwordOK: ok))
            case .record(let canonical, let ok, let digest):
                let outcome = try await recordAttempt(
                    pool: context.pool, canonical: canonical, ok: ok, digest: digest, now: context.now)
                action = machine.received(.recorded(outcome.0, outcome.1))
            case .challenge(let state):
                return try await srpChallenge(state)
            case .newPasswordRequired(let user):
                return newPasswordChallenge(pool: context.pool, client: context.client, user: user)
            case .issueTokens(let user, let authTime):
                let result = try tokens(
                    pool: context.pool, client: context.client, user: user, authTime: authTime, origin: nil)
                return AuthAnswer(authenticationResult: result)
            case .fail(let error):
                throw error
            }
        }
    }

    /// Proposes a failed attempt (or a success that clears failures) to the shard of
    /// `canonical`; its verdict is the one that counts.
    func recordAttempt(
        pool: Pool, canonical: String, ok: Bool, digest: [UInt8], now: Int64
    ) async throws
        -> (AttemptOutcome, User?)
    {
        let command = UserPoolCommand.signInAttempt(
            poolId: pool.id, canonical: canonical, passwordOK: ok, verifierDigest: digest, now: now,
            lockoutBaseSeconds: lockoutBase, challenge: nil)
        guard
            case .attempt(let outcome, let user) = try await store.propose(
                store.userShard(pool: pool.id, canonical: canonical), command)
        else { throw PoolError(.internalError, "unexpected reply recording a sign-in attempt") }
        return (outcome, user)
    }

    /// Step 1 of SRP: b, B, and the sealed state as SECRET_BLOCK.
    func srpChallenge(_ state: SRPChallengeState) async throws -> AuthAnswer {
        let verifier = state.verifier
        let challenge = try await auth.crypto {
            var rng = SystemRandomNumberGenerator()
            return WorkspacePool.shared.with { $0.startChallenge(verifier: verifier, using: &rng) }
        }
        var sealed = state
        sealed.b = challenge.b
        sealed.B = challenge.B
        let block = seal(
            sealed.encoded, auth.challengeSealer, seconds: SignInStateMachine.challengeSeconds, urlSafe: false)
        return AuthAnswer(
            challengeName: .passwordVerifier,
            challengeParameters: [
                "SALT": verifier.saltHex, "SRP_B": challenge.BHex, "USER_ID_FOR_SRP": state.userIdForSrp,
                "USERNAME": state.userIdForSrp, "SECRET_BLOCK": block,
            ])
    }

    /// Step 2 of SRP: S, the key, and the client's signature, at the same cost for every
    /// user, real or not.
    func checkClaim(
        _ state: SRPChallengeState, signature: String, timestamp: String, secretBlock: [UInt8]
    ) async throws
        -> Bool
    {
        let poolName = SRPHash.poolName(fromPoolId: state.pool)
        return try await auth.crypto {
            WorkspacePool.shared.with { w in
                let challenge = SRPServerChallenge(b: state.b, B: state.B)
                guard
                    let key = try? w.passwordKey(
                        clientAHex: state.clientA, challenge: challenge, verifier: state.verifier)
                else { return false }
                return SRPWorkspace.verifyClaim(
                    signatureBase64: signature, key: key, poolName: poolName, userIdForSrp: state.userIdForSrp,
                    secretBlock: secretBlock, timestamp: timestamp)
            }
        }
    }

    func newPasswordChallenge(pool: Pool, client: AppClient, user: User) -> AuthAnswer {
        let state = SessionState(
            challenge: ChallengeNameType.newPasswordRequired.rawValue, pool: pool.id, client: client.id,
            user: user.username,
            issued: now())
        let readable = AttributeRules.readable(user, client: client, pool: pool)
            .filter { $0.key != "sub" && !AttributeRules.verificationAttributes.contains($0.key) }
        let attributes = (try? APICoding.encode(readable)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return AuthAnswer(
            challengeName: .newPasswordRequired,
            session: seal(state.encoded, auth.challengeSealer, seconds: SignInStateMachine.challengeSeconds),
            challengeParameters: [
                "USER_ID_FOR_SRP": user.username, "requiredAttributes": "[]", "userAttributes": attributes,
            ])
    }

    func newPasswordRequired(
        pool: Pool, client: AppClient, responses: [String: String], session: String?
    ) async throws
        -> AuthAnswer
    {
        let (plain, _) = try unseal(session, \.challengeSealer, invalid: Self.invalidSession)
        guard let state = SessionState(decoding: plain),
            state.challenge == ChallengeNameType.newPasswordRequired.rawValue,
            state.pool == pool.id, state.client == client.id
        else { throw Self.invalidSession }
        guard let password = responses["NEW_PASSWORD"] else {
            throw PoolError(.invalidParameter, "Missing required parameter NEW_PASSWORD")
        }
        guard let username = responses["USERNAME"] else {
            throw PoolError(.invalidParameter, "Missing required parameter USERNAME")
        }
        if let refusal = SignInRules.checkSecretHash(client, username: username, given: responses["SECRET_HASH"]) {
            throw refusal
        }
        try PoolRules.validatePassword(password, policy: pool.policy)
        var attributes: [String: String] = [:]
        for (k, v) in responses where k.hasPrefix("userAttributes.") {
            attributes[String(k.dropFirst("userAttributes.".count))] = v
        }
        attributes = try AttributeRules.validate(attributes, pool: pool, writer: .user)
        if let refusal = AttributeRules.checkWritable(attributes, client: client, pool: pool) { throw refusal }
        guard let user = try await store.user(pool: pool.id, canonical: PoolRules.canonical(state.user, in: pool))
        else {
            throw Self.invalidSession
        }
        if try await reusesPassword(password, user: user, username: user.username, pool: pool) {
            throw PasswordHistoryRules.violation
        }
        let verifier = makeVerifier(pool: pool, username: state.user, password: password)
        let t = now()
        let saved = try await store.modify(user, in: pool) { (u: inout User) throws(PoolError) in
            try UserRules.completeNewPassword(&u, verifier: verifier, policy: pool.policy, now: t)
            AttributeRules.apply(attributes, to: &u, byAdmin: false)
        }
        return AuthAnswer(
            authenticationResult: try tokens(pool: pool, client: client, user: saved, authTime: t, origin: nil))
    }
}
