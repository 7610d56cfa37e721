import AuthCrypto
import UserPool

extension Operations {
    func userType(_ u: User, includeAttributesKey: String = "Attributes") -> [String: Any] {
        [
            "Username": u.username, includeAttributesKey: JSONOutput.attributes(attributes(of: u)),
            "UserCreateDate": Double(u.createdAt), "UserLastModifiedDate": Double(u.modifiedAt),
            "Enabled": u.enabled, "UserStatus": u.status.rawValue,
        ]
    }

    func attributes(of u: User) -> [String: String] {
        var a = u.attributes
        a["sub"] = u.sub
        return a
    }

    func makeVerifier(pool: Pool, username: String, password: String) -> PasswordVerifier {
        var rng = SystemRandomNumberGenerator()
        return WorkspacePool.shared.with {
            $0.makeVerifier(poolName: SRPHash.poolName(fromPoolId: pool.id), userIdForSrp: username, password: password, using: &rng)
        }
    }

    /// Creates a user, refusing a taken username at apply time.
    func create(pool: Pool, username: String, attributes: [String: String], password: String, status: User.Status, temporary: Bool, sub: String? = nil) async throws -> User {
        try PoolRules.validateUsername(username)
        let canonical = PoolRules.canonical(username, in: pool)
        let stored = pool.caseSensitive ? username : canonical
        let t = now()
        let user = User(
            poolId: pool.id, username: stored, sub: sub ?? Self.newSub(), attributes: attributes, status: status, enabled: true,
            createdAt: t, modifiedAt: t, verifier: makeVerifier(pool: pool, username: stored, password: password),
            temporaryPasswordExpiresAt: temporary ? t + Int64(pool.policy.temporaryPasswordValidityDays) * 86_400 : nil,
            failedAttempts: 0, lockedUntil: nil, lastFailureAt: nil, version: 1)
        guard case .user(let saved?) = try await store.propose(store.userShard(pool: pool.id, canonical: canonical), .createUser(user, canonical: canonical)) else {
            throw CognitoError.internalError("unexpected reply creating a user")
        }
        return saved
    }

    func signUp(_ input: JSONInput) async throws -> [String: Any] {
        let client = try await store.appClient(id: try input.required("ClientId", max: 128))
        let pool = try await store.pool(client.poolId)
        let username = try input.required("Username", max: 128)
        let password = try input.required("Password", max: 256)
        if let secret = client.secret {
            guard let hash = try input.string("SecretHash"), SecretHash.verify(hash, clientSecret: secret, username: username, clientId: client.id) else {
                throw CognitoError("NotAuthorizedException", "Client \(client.id) is configured with secret but SECRET_HASH was not received or is wrong")
            }
        }
        guard !pool.allowAdminCreateUserOnly else { throw CognitoError("NotAuthorizedException", "SignUp is not permitted for this user pool") }
        let attributes = try input.attributes("UserAttributes") ?? [:]
        try PoolRules.validatePassword(password, policy: pool.policy)
        try PoolRules.validateAttributes(attributes, pool: pool, creating: true, byAdmin: false)
        if let refusal = PoolRules.checkUserWritable(attributes, client: client) { throw CognitoError(refusal) }
        let user = try await createClaimed(pool: pool, username: username, attributes: attributes, password: password, status: .unconfirmed, temporary: false)
        return ["UserConfirmed": false, "UserSub": user.sub]
    }

    func adminCreateUser(_ input: JSONInput) async throws -> [String: Any] {
        let pool = try await store.pool(try poolId(input))
        let username = try input.required("Username", max: 128)
        if let action = try input.string("MessageAction"), action != "SUPPRESS" {
            throw CognitoError.notSupported("MessageAction \(action) (message delivery)")
        }
        let attributes = try input.attributes("UserAttributes") ?? [:]
        try PoolRules.validateAttributes(attributes, pool: pool, creating: true, byAdmin: true)
        let password = try input.string("TemporaryPassword", max: 256) ?? Self.temporaryPassword(policy: pool.policy)
        try PoolRules.validatePassword(password, policy: pool.policy)
        let user = try await createClaimed(pool: pool, username: username, attributes: attributes, password: password, status: .forceChangePassword, temporary: true)
        return ["User": userType(user)]
    }

    func adminGetUser(_ input: JSONInput) async throws -> [String: Any] {
        let pool = try await store.pool(try poolId(input))
        let user = try await resolveUser(pool: pool, username: try input.required("Username", max: 128))
        // UserMFASettingList is left out while the user has no MFA setting, as Cognito does.
        return userType(user, includeAttributesKey: "UserAttributes")
    }

    /// Read-modify-write of the user named (or aliased) by `username`.
    func modify(pool: Pool, username: String, _ change: (inout User) throws(CognitoError) -> Void) async throws -> User {
        let user = try await resolveUser(pool: pool, username: username)
        return try await store.modifyUser(pool: pool, username: user.username, change)
    }

    func adminConfirmSignUp(_ input: JSONInput) async throws -> [String: Any] {
        let pool = try await store.pool(try poolId(input))
        _ = try await modify(pool: pool, username: try input.required("Username", max: 128)) { (u: inout User) throws(CognitoError) in
            guard u.status == .unconfirmed else {
                throw CognitoError("NotAuthorizedException", "User cannot be confirmed. Current status is \(u.status.rawValue)")
            }
            u.status = .confirmed
            u.modifiedAt = now()
        }
        return [:]
    }

    func adminDeleteUser(_ input: JSONInput) async throws -> [String: Any] {
        let pool = try await store.pool(try poolId(input))
        let user = try await resolveUser(pool: pool, username: try input.required("Username", max: 128))
        let canonical = PoolRules.canonical(user.username, in: pool)
        _ = try await store.propose(store.userShard(pool: pool.id, canonical: canonical), .deleteUser(poolId: pool.id, canonical: canonical))
        // The user is gone; free its unique values.
        for a in uniqueAttributes(pool) {
            if let v = user.attributes[a] { await releaseClaim(pool, a, v, owner: canonical) }
        }
        await releaseClaim(pool, "sub", user.sub, owner: canonical)
        return [:]
    }

    func adminSetUserPassword(_ input: JSONInput) async throws -> [String: Any] {
        let pool = try await store.pool(try poolId(input))
        let username = try input.required("Username", max: 128)
        let password = try input.required("Password", max: 256)
        let permanent = try input.bool("Permanent") ?? false
        try PoolRules.validatePassword(password, policy: pool.policy)
        let existing = try await resolveUser(pool: pool, username: username)
        let verifier = makeVerifier(pool: pool, username: existing.username, password: password)
        _ = try await modify(pool: pool, username: username) { (u: inout User) throws(CognitoError) in
            u.verifier = verifier
            u.status = permanent ? .confirmed : .forceChangePassword
            u.temporaryPasswordExpiresAt = permanent ? nil : now() + Int64(pool.policy.temporaryPasswordValidityDays) * 86_400
            u.failedAttempts = 0
            u.lockedUntil = nil
            u.modifiedAt = now()
        }
        return [:]
    }

    func adminSetEnabled(_ input: JSONInput, _ enabled: Bool) async throws -> [String: Any] {
        let pool = try await store.pool(try poolId(input))
        let at = nowMilliseconds()
        _ = try await modify(pool: pool, username: try input.required("Username", max: 128)) { (u: inout User) throws(CognitoError) in
            u.enabled = enabled
            // Disabling revokes every token the user holds (enabling does not bring them back).
            if !enabled { u.signedOutAt = max(u.signedOutAt ?? 0, at) }
            u.modifiedAt = now()
        }
        return [:]
    }

    func adminUpdateUserAttributes(_ input: JSONInput) async throws -> [String: Any] {
        let pool = try await store.pool(try poolId(input))
        guard let attributes = try input.attributes("UserAttributes") else {
            throw CognitoError.invalidParameter("1 validation error detected: Value at 'userAttributes' failed to satisfy constraint: Member must not be null")
        }
        try PoolRules.validateAttributes(attributes, pool: pool, creating: false, byAdmin: true)
        let user = try await resolveUser(pool: pool, username: try input.required("Username", max: 128))
        try await updateAttributes(pool: pool, user: user, attributes, byAdmin: true)
        return [:]
    }

    /// Changes a user's attributes: new unique values are claimed before the user changes,
    /// old ones freed after; a changed email or phone becomes unverified (`PoolRules.apply`).
    func updateAttributes(pool: Pool, user: User, _ attributes: [String: String], byAdmin: Bool) async throws {
        let owner = PoolRules.canonical(user.username, in: pool)
        let changed = uniqueAttributes(pool).filter { a in
            attributes[a] != nil && attributes[a].map { aliasValue(a, $0) } != user.attributes[a].map { aliasValue(a, $0) }
        }
        var reserved: [(String, String)] = []
        do {
            for a in changed {
                try await reserve(pool, a, attributes[a]!, owner: owner)
                reserved.append((a, attributes[a]!))
            }
            _ = try await store.modifyUser(pool: pool, username: user.username) { (u: inout User) throws(CognitoError) in
                PoolRules.apply(attributes, to: &u, byAdmin: byAdmin)
                u.modifiedAt = now()
            }
        } catch {
            for (a, v) in reserved { await releaseClaim(pool, a, v, owner: owner) }
            throw error
        }
        for (a, v) in reserved {
            try await commitClaim(pool, a, v, owner: owner)
            if let old = user.attributes[a] { await releaseClaim(pool, a, old, owner: owner) }
        }
    }

    func adminDeleteUserAttributes(_ input: JSONInput) async throws -> [String: Any] {
        let pool = try await store.pool(try poolId(input))
        guard let names = try input.names("UserAttributeNames") else {
            throw CognitoError.invalidParameter("1 validation error detected: Value at 'userAttributeNames' failed to satisfy constraint: Member must not be null")
        }
        for n in names {
            guard let a = pool.attribute(n), n != "sub" else { throw CognitoError.invalidParameter("Attributes did not conform to the schema: \(n): Attribute does not exist in the schema.") }
            if a.required { throw CognitoError.invalidParameter("Attributes did not conform to the schema: \(n): The attribute is required") }
            if !a.mutable { throw CognitoError.invalidParameter("Cannot modify the non-mutable attribute \(n)") }
        }
        _ = try await modify(pool: pool, username: try input.required("Username", max: 128)) { (u: inout User) throws(CognitoError) in
            for n in names { u.attributes[n] = nil }
            u.modifiedAt = now()
        }
        return [:]
    }

    func adminResetUserPassword(_ input: JSONInput) async throws -> [String: Any] {
        let pool = try await store.pool(try poolId(input))
        _ = try await modify(pool: pool, username: try input.required("Username", max: 128)) { (u: inout User) throws(CognitoError) in
            u.status = .resetRequired
            u.modifiedAt = now()
        }
        return [:]
    }

    // MARK: ListUsers

    /// Lists users across every user shard in shard order; the pagination token carries
    /// the shard and the last canonical name, so each user appears exactly once.
    func listUsers(_ input: JSONInput) async throws -> [String: Any] {
        let pool = try await store.pool(try poolId(input))
        let limit = try input.int("Limit") ?? 60
        guard (1...60).contains(limit) else { throw CognitoError.invalidParameter("1 validation error detected: Value '\(limit)' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 60") }
        let filter = try input.string("Filter", max: 256).flatMap { $0.isEmpty ? nil : $0 }.map(parseFilter)
        let wanted = try input.strings("AttributesToGet")
        var (shardIndex, after) = try decodeToken(try input.string("PaginationToken", max: 1024))
        var found: [User] = []
        var next: String?
        let shards = store.allUserShards
        while shardIndex < shards.count {
            guard case .users(let batch) = try await store.query(shards[shardIndex], .users(poolId: pool.id, after: after, limit: 60)) else { break }
            for u in batch {
                after = PoolRules.canonical(u.username, in: pool)
                if try filter?.matches(u, attributes(of: u)) ?? true {
                    found.append(u)
                    if found.count == limit { break }
                }
            }
            if found.count == limit {
                next = encodeToken(shardIndex, after)
                break
            }
            if batch.count < 60 {
                shardIndex += 1
                after = nil
            }
        }
        // A token is returned only when more may follow; checking costs a read, which is
        // what Cognito's clients expect to pay for pages anyway.
        var out: [String: Any] = ["Users": found.map { u -> [String: Any] in
            var t = userType(u)
            if let wanted { t["Attributes"] = JSONOutput.attributes(attributes(of: u).filter { wanted.contains($0.key) }) }
            return t
        }]
        if let next { out["PaginationToken"] = next }
        return out
    }

    struct Filter {
        var attribute: String
        var prefix: Bool
        var value: String

        func matches(_ u: User, _ attributes: [String: String]) throws -> Bool {
            let actual: String?
            switch attribute {
            case "username": actual = u.username
            case "status": actual = u.enabled ? "Enabled" : "Disabled"
            case "cognito:user_status": actual = u.status.rawValue
            default: actual = attributes[attribute]
            }
            guard let actual else { return false }
            return prefix ? actual.hasPrefix(value) : actual == value
        }
    }

    static let filterable: Set<String> = [
        "username", "email", "phone_number", "name", "given_name", "family_name", "preferred_username",
        "cognito:user_status", "status", "sub",
    ]

    func parseFilter(_ text: String) throws -> Filter {
        // attribute ("=" | "^=") "value"
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let op: String = trimmed.contains("^=") ? "^=" : "="
        let parts = trimmed.components(separatedBy: op)
        guard parts.count == 2 else { throw CognitoError.invalidParameter("Error while parsing filter.") }
        let name = parts[0].trimmingCharacters(in: .whitespaces)
        var value = parts[1].trimmingCharacters(in: .whitespaces)
        guard value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") else { throw CognitoError.invalidParameter("Error while parsing filter.") }
        value = String(value.dropFirst().dropLast())
        guard Self.filterable.contains(name) else { throw CognitoError.invalidParameter("Invalid search attribute: \(name)") }
        return Filter(attribute: name, prefix: op == "^=", value: value)
    }

    func encodeToken(_ shard: Int, _ after: String?) -> String {
        Base64.encode(Array("\(shard)\n\(after ?? "")".utf8))
    }

    func decodeToken(_ token: String?) throws -> (Int, String?) {
        guard let token else { return (0, nil) }
        guard let bytes = Base64.decode(token) else { throw CognitoError.invalidParameter("Invalid pagination token") }
        let parts = String(decoding: bytes, as: UTF8.self).split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let shard = Int(parts[0]), shard >= 0, shard < store.allUserShards.count else {
            throw CognitoError.invalidParameter("Invalid pagination token")
        }
        return (shard, parts[1].isEmpty ? nil : String(parts[1]))
    }
}
