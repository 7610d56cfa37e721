import AuthCrypto
import UserPool

/// What a signed-in user does with an access token.
extension Operations {
    func getUser(_ input: JSONInput) async throws -> [String: Any] {
        let (_, user, _) = try await authenticate(input)
        return ["Username": user.username, "UserAttributes": JSONOutput.attributes(attributes(of: user))]
    }

    func updateUserAttributes(_ input: JSONInput) async throws -> [String: Any] {
        let (pool, user, claims) = try await authenticate(input)
        guard let attributes = try input.attributes("UserAttributes") else {
            throw CognitoError.invalidParameter("UserAttributes is required")
        }
        try PoolRules.validateAttributes(attributes, pool: pool, creating: false, byAdmin: false)
        let clientId = claims["client_id"] as? String
        let client = try await clientId.asyncMap { try await store.appClient(pool: pool.id, id: $0) }
        if let refusal = PoolRules.checkUserWritable(attributes, client: client) { throw CognitoError(refusal) }
        try await updateAttributes(pool: pool, user: user, attributes, byAdmin: false)
        return ["CodeDeliveryDetailsList": [Any]()]
    }

    func deleteUser(_ input: JSONInput) async throws -> [String: Any] {
        let (pool, user, _) = try await authenticate(input)
        return try await adminDeleteUser(JSONInput(fields: ["UserPoolId": pool.id, "Username": user.username]))
    }

    /// The previous password is checked like a sign-in: counted on the user's shard, and
    /// refused without a verdict while the user is locked.
    func changePassword(_ input: JSONInput) async throws -> [String: Any] {
        let (pool, user, _) = try await authenticate(input)
        let previous = try input.required("PreviousPassword", max: 256)
        let proposed = try input.required("ProposedPassword", max: 256)
        try PoolRules.validatePassword(proposed, policy: pool.policy)
        guard let verifier = user.verifier else { throw Self.wrongPassword }
        let poolName = SRPHash.poolName(fromPoolId: pool.id)
        let ok = try await auth.crypto {
            WorkspacePool.shared.with { $0.verify(password: previous, poolName: poolName, userIdForSrp: user.username, against: verifier) }
        }
        let canonical = PoolRules.canonical(user.username, in: pool)
        let reply = try await store.propose(
            store.userShard(pool: pool.id, canonical: canonical),
            .signInAttempt(
                poolId: pool.id, canonical: canonical, passwordOK: ok, verifierDigest: verifier.digest, now: now(),
                lockoutBaseSeconds: lockoutBase))
        switch reply {
        case .attempt(.accepted, _): break
        case .attempt(.lockedOut, _): throw CognitoError("NotAuthorizedException", "Password attempts exceeded")
        default: throw Self.wrongPassword
        }
        let next = makeVerifier(pool: pool, username: user.username, password: proposed)
        _ = try await store.modifyUser(pool: pool, username: user.username) { (u: inout User) throws(CognitoError) in
            u.verifier = next
            u.modifiedAt = now()
        }
        return [:]
    }

    /// Revokes every token the user holds: their families began before now.
    func signOut(pool: Pool, username: String) async throws {
        let at = nowMilliseconds()
        _ = try await store.modifyUser(pool: pool, username: username) { (u: inout User) throws(CognitoError) in
            u.signedOutAt = max(u.signedOutAt ?? 0, at)
        }
    }

    func globalSignOut(_ input: JSONInput) async throws -> [String: Any] {
        let (pool, user, _) = try await authenticate(input)
        try await signOut(pool: pool, username: user.username)
        return [:]
    }

    func adminUserGlobalSignOut(_ input: JSONInput) async throws -> [String: Any] {
        let pool = try await store.pool(try poolId(input))
        let user = try await resolveUser(pool: pool, username: try input.required("Username", max: 128))
        try await signOut(pool: pool, username: user.username)
        return [:]
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
