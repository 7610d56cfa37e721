import AuthCrypto
import CognitoModel
import UserPool

/// What a signed-in user does with an access token: read and change their attributes,
/// change their password, sign out everywhere, delete themselves.
extension API {
    func getUser(_ r: GetUserRequest) async throws -> GetUserResponse {
        let (pool, user, claims) = try await authenticate(r.accessToken)
        let client = try? await store.appClient(pool: pool.id, id: claims.clientId)
        var readable = AttributeRules.readable(user, client: client, pool: pool)
        readable["sub"] = user.sub
        return GetUserResponse(username: user.username, userAttributes: AttributeList.make(readable))
    }

    func updateUserAttributes(_ r: UpdateUserAttributesRequest) async throws -> UpdateUserAttributesResponse {
        let (pool, user, claims) = try await authenticate(r.accessToken)
        let attributes = try AttributeRules.validate(
            AttributeList.map(r.userAttributes), pool: pool, writer: .user)
        let client = try await store.appClient(pool: pool.id, id: claims.clientId)
        if let refusal = AttributeRules.checkWritable(attributes, client: client, pool: pool) { throw refusal }
        let details = try await updateAttributes(pool: pool, user: user, attributes, byAdmin: false)
        return UpdateUserAttributesResponse(codeDeliveryDetailsList: details)
    }

    func deleteUserAttributes(_ r: DeleteUserAttributesRequest) async throws -> DeleteUserAttributesResponse {
        let (pool, user, claims) = try await authenticate(r.accessToken)
        try AttributeRules.validateDeletion(r.userAttributeNames, pool: pool)
        let client = try await store.appClient(pool: pool.id, id: claims.clientId)
        let cleared = Dictionary(r.userAttributeNames.map { ($0, "") }, uniquingKeysWith: { a, _ in a })
        if let refusal = AttributeRules.checkWritable(cleared, client: client, pool: pool) { throw refusal }
        try await deleteAttributes(r.userAttributeNames, of: user, in: pool)
        return DeleteUserAttributesResponse()
    }

    func deleteUser(_ r: DeleteUserRequest) async throws -> EmptyShape {
        let (pool, user, _) = try await authenticate(r.accessToken)
        try await deleteUser(pool: pool, user: user)
        return EmptyShape()
    }

    /// The previous password is checked like a sign-in: counted on the user's shard before
    /// its verdict is known, and refused without a verdict while the user is locked.
    func changePassword(_ r: ChangePasswordRequest) async throws -> ChangePasswordResponse {
        let (pool, user, _) = try await authenticate(r.accessToken)
        try PoolRules.validatePassword(r.proposedPassword, policy: pool.policy)
        guard let verifier = user.verifier else {
            throw PoolError.notSupported("ChangePassword for a user without a password (passwordless)")
        }
        guard let previous = r.previousPassword else {
            throw PoolError(.invalidParameter, "PreviousPassword is required for a user with a password")
        }
        let poolName = SRPHash.poolName(fromPoolId: pool.id)
        let ok = try await auth.crypto {
            WorkspacePool.shared.with {
                $0.verify(password: previous, poolName: poolName, userIdForSrp: user.username, against: verifier)
            }
        }
        let canonical = PoolRules.canonical(user.username, in: pool)
        let (outcome, _) = try await recordAttempt(
            pool: pool, canonical: canonical, ok: ok, digest: verifier.digest, now: now())
        switch outcome {
        case .accepted: break
        case .lockedOut: throw PoolError(.notAuthorized, PoolError.lockedOutMessage)
        case .refused, .replayed: throw PoolError(.notAuthorized, "Incorrect username or password.")
        }
        let next = makeVerifier(pool: pool, username: user.username, password: r.proposedPassword)
        let t = now()
        guard let current = try await store.user(pool: pool.id, canonical: canonical) else {
            throw Self.invalidAccess
        }
        if try await reusesPassword(r.proposedPassword, user: current, username: user.username, pool: pool) {
            throw PasswordHistoryRules.violation
        }
        _ = try await store.modify(current, in: pool) { (u: inout User) throws(PoolError) in
            UserRules.changePassword(&u, verifier: next, policy: pool.policy, now: t)
        }
        return ChangePasswordResponse()
    }

    func globalSignOut(_ r: GlobalSignOutRequest) async throws -> GlobalSignOutResponse {
        let (pool, user, _) = try await authenticate(r.accessToken)
        let ms = nowMilliseconds()
        _ = try await store.modify(user, in: pool) { (u: inout User) throws(PoolError) in
            UserRules.signOut(&u, nowMilliseconds: ms)
        }
        return GlobalSignOutResponse()
    }
}
