import AuthCrypto
import CognitoModel
import UserPool

/// Users: sign-up, the admin operations on one user.
extension API {
    func signUp(_ r: SignUpRequest) async throws -> SignUpResponse {
        let client = try await store.appClient(id: r.clientId)
        let pool = try await store.pool(client.poolId)
        if let refusal = SignInRules.checkSecretHash(client, username: r.username, given: r.secretHash) {
            throw refusal
        }
        guard !pool.allowAdminCreateUserOnly else {
            throw PoolError(.notAuthorized, "SignUp is not permitted for this user pool")
        }
        if let password = r.password {
            try PoolRules.validatePassword(password, policy: pool.policy)
        } else {
            try FirstFactorRules.checkPasswordless(pool)
        }
        let attributes = try AttributeRules.validate(
            AttributeList.map(r.userAttributes), pool: pool, writer: .creating(byAdmin: false))
        if let refusal = AttributeRules.checkWritable(attributes, client: client, pool: pool) { throw refusal }
        // The confirmation code goes with the new user, in the same write.
        var delivery: CodeDeliveryDetailsType?
        let user = try await createUser(
            pool: pool, username: r.username, attributes: attributes, password: r.password, creation: .signUp
        ) { (u: inout User) throws(PoolError) in
            guard let (medium, attribute) = MessageRules.signUpChannel(u, pool: pool) else { return [] }
            let (message, details) = try issueCode(
                &u, pool: pool, purpose: .signUp, kind: .signUp, medium: medium, attribute: attribute,
                link: confirmationLink(client.id))
            delivery = details
            return [message]
        }
        // A client that signs in by choice gets a Session that ConfirmSignUp turns into a
        // sign-in (USER_AUTH), good while the confirmation code is.
        var session: String?
        if SignInRules.allows(client, .userAuth) {
            session = tokenService.seal(
                SignUpSession(
                    confirmed: false, pool: pool.id, client: client.id, username: user.username,
                    identifier: r.username, sub: user.sub, issuedAt: now()
                ).encoded, .signUpSession, seconds: CodeRules.lifetime(.signUp))
        }
        return SignUpResponse(userConfirmed: false, codeDeliveryDetails: delivery, userSub: user.sub, session: session)
    }

    func adminCreateUser(_ r: AdminCreateUserRequest) async throws -> AdminCreateUserResponse {
        let pool = try await store.pool(r.userPoolId)
        var attributes = AttributeList.map(r.userAttributes)
        let password = r.temporaryPassword ?? Self.temporaryPassword(policy: pool.policy)
        try PoolRules.validatePassword(password, policy: pool.policy)
        let mediums = r.desiredDeliveryMediums
        if r.messageAction == .resend {
            return AdminCreateUserResponse(
                user: try await resendInvitation(pool: pool, username: r.username, password: password, mediums))
        }
        attributes = try AttributeRules.validate(attributes, pool: pool, writer: .creating(byAdmin: true))
        let user = try await createUser(
            pool: pool, username: r.username, attributes: attributes, password: password, creation: .admin
        ) { (u: inout User) throws(PoolError) in
            guard r.messageAction != .suppress else { return [] }
            return try MessageRules.invitations(
                u, pool: pool, mediums: mediums, temporaryPassword: password, now: now())
        }
        return AdminCreateUserResponse(user: user.userType())
    }

    /// Writes a new user with its unique values claimed across shards: one Raft write when
    /// the pool has no username or alias attributes (the sub needs no claim).
    /// `prepare` may change the new record (a code's hash) and returns the messages to queue
    /// with it.
    func createUser(
        pool: Pool, username: String, attributes: [String: String], password: String?, creation: UserRules.Creation,
        prepare: (inout User) throws(PoolError) -> [OutboxMessage] = { _ in [] }
    ) async throws -> User {
        var attributes = attributes
        let (stored, sub) = try UserRules.identity(
            for: username, in: pool, attributes: &attributes, newSub: Self.newSub())
        let canonical = PoolRules.canonical(stored, in: pool)
        let t = now()
        return try await insertClaimed(pool: pool, canonical: canonical, attributes: attributes, now: t) {
            // No password: a passwordless user (SignUp in a pool with a passwordless first factor).
            let verifier = password.map { auth.makeVerifier(pool: pool, username: stored, password: $0) }
            var user = UserRules.newUser(
                pool: pool, username: stored, sub: sub, attributes: attributes, verifier: verifier, creation: creation,
                now: t)
            let messages = try prepare(&user)
            let create = UserPoolCommand.createUser(user, canonical: canonical)
            return messages.isEmpty ? create : .withMessages(create, messages: messages)
        }
    }

    /// Writes the user `command` creates, with its unique values (`attributes` the pool
    /// claims) reserved first and committed after; on any failure the reservations made are
    /// released.
    func insertClaimed(
        pool: Pool, canonical: String, attributes: [String: String], now t: Int64,
        command: () throws -> UserPoolCommand
    ) async throws -> User {
        let claims = PoolRules.uniqueAttributes(pool).compactMap { a in attributes[a].map { (a, $0) } }
        var reserved: [(String, String)] = []
        do {
            for (a, v) in claims {
                try await store.reserve(pool, a, v, owner: canonical, now: t)
                reserved.append((a, v))
            }
            let shard = store.userShard(pool: pool.id, canonical: canonical)
            guard case .user(let saved?) = try await store.propose(shard, try command())
            else {
                throw PoolError(.internalError, "unexpected reply creating a user")
            }
            for (a, v) in claims { try await store.commitClaim(pool, a, v, owner: canonical) }
            return saved
        } catch {
            for (a, v) in reserved { try? await store.releaseClaim(pool, a, v, owner: canonical) }
            throw error
        }
    }

    func adminGetUser(_ r: AdminGetUserRequest) async throws -> AdminGetUserResponse {
        let pool = try await store.pool(r.userPoolId)
        let user = try await store.resolve(pool: pool, username: r.username)
        // UserMFASettingList is left out while the user has no MFA setting, as Cognito does.
        let mfa = MfaRules.settings(user)
        return AdminGetUserResponse(
            username: user.username, userAttributes: AttributeList.make(user.allAttributes),
            userCreateDate: date(user.createdAt), userLastModifiedDate: date(user.modifiedAt), enabled: user.enabled,
            userStatus: user.status, mfaOptions: MfaRules.legacyOptions(user), preferredMfaSetting: mfa.preferred,
            userMFASettingList: mfa.list)
    }

    /// Reads the user a request names and writes a change to it.
    func modifyUser(
        poolId: String, username: String, _ change: (inout User, Pool) throws(PoolError) -> Void
    ) async throws {
        let pool = try await store.pool(poolId)
        let user = try await store.resolve(pool: pool, username: username)
        _ = try await store.modify(user, in: pool) { (u: inout User) throws(PoolError) in try change(&u, pool) }
    }

    func adminConfirmSignUp(_ r: AdminConfirmSignUpRequest) async throws -> AdminConfirmSignUpResponse {
        let t = now()
        try await modifyUser(poolId: r.userPoolId, username: r.username) { (u, _) throws(PoolError) in
            try UserRules.confirm(&u, now: t)
        }
        return AdminConfirmSignUpResponse()
    }

    func adminDeleteUser(_ r: AdminDeleteUserRequest) async throws -> EmptyShape {
        let pool = try await store.pool(r.userPoolId)
        try await deleteUser(pool: pool, user: try await store.resolve(pool: pool, username: r.username))
        return EmptyShape()
    }

    func deleteUser(pool: Pool, user: User) async throws {
        let canonical = PoolRules.canonical(user.username, in: pool)
        _ = try await store.propose(
            store.userShard(pool: pool.id, canonical: canonical), .deleteUser(poolId: pool.id, canonical: canonical))
        // The user is gone; free its unique values.
        for a in PoolRules.uniqueAttributes(pool) {
            if let v = user.attributes[a] { try await store.releaseClaim(pool, a, v, owner: canonical) }
        }
    }

    func adminSetUserPassword(_ r: AdminSetUserPasswordRequest) async throws -> AdminSetUserPasswordResponse {
        let pool = try await store.pool(r.userPoolId)
        try PoolRules.validatePassword(r.password, policy: pool.policy)
        let user = try await store.resolve(pool: pool, username: r.username)
        if try await auth.reusesPassword(r.password, user: user, username: user.username, pool: pool) {
            throw PasswordHistoryRules.violation
        }
        let verifier = auth.makeVerifier(pool: pool, username: user.username, password: r.password)
        let t = now()
        _ = try await store.modify(user, in: pool) { (u: inout User) throws(PoolError) in
            UserRules.setPassword(&u, verifier: verifier, permanent: r.permanent ?? false, pool: pool, now: t)
        }
        return AdminSetUserPasswordResponse()
    }

    func adminEnableUser(_ r: AdminEnableUserRequest) async throws -> AdminEnableUserResponse {
        try await setEnabled(r.userPoolId, r.username, true)
        return AdminEnableUserResponse()
    }

    func adminDisableUser(_ r: AdminDisableUserRequest) async throws -> AdminDisableUserResponse {
        try await setEnabled(r.userPoolId, r.username, false)
        return AdminDisableUserResponse()
    }

    func setEnabled(_ poolId: String, _ username: String, _ enabled: Bool) async throws {
        let (ms, t) = (nowMilliseconds(), now())
        try await modifyUser(poolId: poolId, username: username) { (u, _) throws(PoolError) in
            UserRules.setEnabled(&u, enabled, nowMilliseconds: ms, now: t)
        }
    }

    func adminUpdateUserAttributes(
        _ r: AdminUpdateUserAttributesRequest
    ) async throws -> AdminUpdateUserAttributesResponse {
        let pool = try await store.pool(r.userPoolId)
        let attributes = try AttributeRules.validate(
            AttributeList.map(r.userAttributes), pool: pool, writer: .admin)
        let user = try await store.resolve(pool: pool, username: r.username)
        try await updateAttributes(pool: pool, user: user, attributes, byAdmin: true)
        return AdminUpdateUserAttributesResponse()
    }

    /// Changes a user's attributes: new unique values are claimed before the user changes,
    /// old ones freed after; a changed email or phone becomes unverified (`AttributeRules.apply`).
    /// A changed email or phone the pool auto-verifies gets a code, in the same write; one
    /// the pool makes wait for verification (`MessageRules.pendingUpdates`) keeps its old
    /// value until the code is given.
    @discardableResult
    func updateAttributes(
        pool: Pool, user: User, _ attributes: [String: String], byAdmin: Bool
    ) async throws -> [CodeDeliveryDetailsType] {
        let owner = PoolRules.canonical(user.username, in: pool)
        var attributes = attributes
        let pending = byAdmin ? [:] : MessageRules.pendingUpdates(user, attributes, pool: pool)
        for name in pending.keys { attributes[name] = nil }
        let changed = PoolRules.uniqueAttributes(pool).filter { a in
            guard let new = attributes[a] else { return false }
            return PoolRules.claimValue(a, new) != user.attributes[a].map { PoolRules.claimValue(a, $0) }
        }
        var reserved: [(String, String)] = []
        let t = now()
        // Codes for the new values: drawn once, recorded in the write below.
        var codes: [(attribute: String, hash: [UInt8])] = []
        var messages: [OutboxMessage] = []
        var details: [CodeDeliveryDetailsType] = []
        for (name, value) in MessageRules.codesForUpdate(
            user, attributes, pending: pending, pool: pool, byAdmin: byAdmin)
        {
            var target = user
            target.attributes[name] = value
            var rng = SystemRandomNumberGenerator()
            let code = CodeRules.newCode(using: &rng)
            let medium = MessageRules.medium(for: name) ?? .email
            codes.append((name, digest(code, user, pool, .attribute, name)))
            messages.append(
                MessageRules.verification(
                    kind: .attributeVerification, user: target, pool: pool, medium: medium, destination: value,
                    code: code, now: t))
            details.append(MessageRules.delivery(medium, attribute: name, destination: value))
        }
        do {
            for a in changed {
                try await store.reserve(pool, a, attributes[a]!, owner: owner, now: t)
                reserved.append((a, attributes[a]!))
            }
            _ = try await store.modify(user, in: pool, messages: messages) { (u: inout User) throws(PoolError) in
                AttributeRules.apply(attributes, to: &u, byAdmin: byAdmin)
                for (name, value) in pending {
                    u.pendingAttributes = (u.pendingAttributes ?? [:]).merging([name: value]) { $1 }
                }
                for (name, hash) in codes {
                    try CodeRules.issue(&u, purpose: .attribute, attribute: name, digest: hash, now: t)
                }
                u.modifiedAt = t
            }
        } catch {
            for (a, v) in reserved { try? await store.releaseClaim(pool, a, v, owner: owner) }
            throw error
        }
        for (a, v) in reserved {
            try await store.commitClaim(pool, a, v, owner: owner)
            if let old = user.attributes[a] { try await store.releaseClaim(pool, a, old, owner: owner) }
        }
        return details
    }

    func adminDeleteUserAttributes(
        _ r: AdminDeleteUserAttributesRequest
    ) async throws -> AdminDeleteUserAttributesResponse {
        let pool = try await store.pool(r.userPoolId)
        try AttributeRules.validateDeletion(r.userAttributeNames, pool: pool)
        let user = try await store.resolve(pool: pool, username: r.username)
        try await deleteAttributes(r.userAttributeNames, of: user, in: pool)
        return AdminDeleteUserAttributesResponse()
    }

    func deleteAttributes(_ names: [String], of user: User, in pool: Pool) async throws {
        let t = now()
        _ = try await store.modify(user, in: pool) { (u: inout User) throws(PoolError) in
            for n in names { u.attributes[n] = nil }
            u.modifiedAt = t
        }
        let owner = PoolRules.canonical(user.username, in: pool)
        for a in PoolRules.uniqueAttributes(pool) where names.contains(a) {
            if let old = user.attributes[a] { try await store.releaseClaim(pool, a, old, owner: owner) }
        }
    }

    /// The password stops working (RESET_REQUIRED) and a recovery code goes to the user's
    /// verified channel, in one write.
    func adminResetUserPassword(_ r: AdminResetUserPasswordRequest) async throws -> AdminResetUserPasswordResponse {
        let pool = try await store.pool(r.userPoolId)
        let user = try await store.resolve(pool: pool, username: r.username)
        let (medium, attribute) = try MessageRules.recoveryChannel(user, pool: pool)
        try await sendCode(
            user, pool: pool, purpose: .recovery, kind: .resetPassword, medium: medium, attribute: attribute
        ) { (u: inout User) throws(PoolError) in try UserRules.requireReset(&u, now: now()) }
        return AdminResetUserPasswordResponse()
    }

    func adminUserGlobalSignOut(_ r: AdminUserGlobalSignOutRequest) async throws -> AdminUserGlobalSignOutResponse {
        let ms = nowMilliseconds()
        try await modifyUser(poolId: r.userPoolId, username: r.username) { (u, _) throws(PoolError) in
            UserRules.signOut(&u, nowMilliseconds: ms)
        }
        return AdminUserGlobalSignOutResponse()
    }
}
