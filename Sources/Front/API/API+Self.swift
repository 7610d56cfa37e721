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
        let mfa = MfaRules.settings(user)
        return GetUserResponse(
            username: user.username, userAttributes: AttributeList.make(readable),
            mfaOptions: MfaRules.legacyOptions(user), preferredMfaSetting: mfa.preferred, userMFASettingList: mfa.list)
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

    /// The previous password is checked like a sign-in's (`SignInStateMachine`): under a
    /// slot of the user's shard leader, a failure counted before its verdict is known, and
    /// no check at all while the user is locked.
    func changePassword(_ r: ChangePasswordRequest) async throws -> ChangePasswordResponse {
        let (pool, user, claims) = try await authenticate(r.accessToken)
        let client = try await store.appClient(pool: pool.id, id: claims.clientId)
        _ = try await signIn.run(
            .changePassword(user, previous: r.previousPassword, proposed: r.proposedPassword), pool: pool,
            client: client)
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
