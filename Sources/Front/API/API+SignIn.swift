import CognitoModel
import UserPool

/// Sign-in: InitiateAuth, RespondToAuthChallenge and their admin forms, each one event into
/// the `SignInStateMachine` that `SignInDriver` runs; this file finds the client and pool
/// and puts the answer into the operation's shape.
extension API {
    var tokenService: TokenService { TokenService(auth: auth, clock: clock) }
    var signIn: SignInDriver { SignInDriver(store: store, auth: auth, tokens: tokenService, lockoutBase: lockoutBase) }

    func signInClient(_ id: String, poolId: String? = nil) async throws -> (AppClient, Pool) {
        let client = try await store.appClient(id: id)
        if let poolId, client.poolId != poolId {
            throw PoolError(.resourceNotFound, "User pool client \(id) does not exist.")
        }
        return (client, try await store.pool(client.poolId))
    }

    func initiateAuth(_ r: InitiateAuthRequest) async throws -> InitiateAuthResponse {
        let (client, pool) = try await signInClient(r.clientId)
        let a = try await signIn.run(
            .initiate(r.authFlow, parameters: r.authParameters ?? [:], admin: false, session: r.session), pool: pool,
            client: client)
        return InitiateAuthResponse(
            challengeName: a.challengeName, session: a.session, challengeParameters: a.challengeParameters,
            authenticationResult: a.authenticationResult, availableChallenges: a.availableChallenges)
    }

    func adminInitiateAuth(_ r: AdminInitiateAuthRequest) async throws -> AdminInitiateAuthResponse {
        let (client, pool) = try await signInClient(r.clientId, poolId: r.userPoolId)
        let a = try await signIn.run(
            .initiate(r.authFlow, parameters: r.authParameters ?? [:], admin: true, session: r.session), pool: pool,
            client: client)
        return AdminInitiateAuthResponse(
            challengeName: a.challengeName, session: a.session, challengeParameters: a.challengeParameters,
            authenticationResult: a.authenticationResult, availableChallenges: a.availableChallenges)
    }

    func respondToAuthChallenge(_ r: RespondToAuthChallengeRequest) async throws -> RespondToAuthChallengeResponse {
        let (client, pool) = try await signInClient(r.clientId)
        let a = try await signIn.run(
            .respond(r.challengeName, responses: r.challengeResponses ?? [:], session: r.session), pool: pool,
            client: client)
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
        let a = try await signIn.run(
            .respond(r.challengeName, responses: r.challengeResponses ?? [:], session: r.session), pool: pool,
            client: client)
        return AdminRespondToAuthChallengeResponse(
            challengeName: a.challengeName, session: a.session, challengeParameters: a.challengeParameters,
            authenticationResult: a.authenticationResult)
    }
}
