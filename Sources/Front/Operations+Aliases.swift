import Foundation
import UserPool

/// Unique attribute values (email or phone as username or alias) across shards:
/// reserve on the value's shard, write the user on its shard, commit the reservation. A
/// reservation older than `staleAfter` whose owner never got written may be taken over;
/// one whose owner exists is committed for it instead.
extension Operations {
    static let staleAfter: Int64 = 30

    /// The attributes whose values must be unique in `pool`.
    func uniqueAttributes(_ pool: Pool) -> [String] {
        Array(Set(pool.usernameAttributes + pool.aliasAttributes.filter { $0 != "preferred_username" } + (pool.aliasAttributes.contains("preferred_username") ? ["preferred_username"] : []))).sorted()
    }

    func aliasValue(_ attribute: String, _ value: String) -> String {
        attribute == "phone_number" ? value : value.lowercased()
    }

    func aliasShard(_ pool: Pool, _ attribute: String, _ value: String) -> UInt32 {
        store.userShard(pool: pool.id, canonical: "\u{1}\(attribute):\(value)")
    }

    /// The error a taken value gets: UsernameExists when it is the username, AliasExists otherwise.
    func taken(_ pool: Pool, _ attribute: String) -> CognitoError {
        let what = attribute == "phone_number" ? "phone_number" : attribute
        return pool.usernameAttributes.contains(attribute)
            ? CognitoError("UsernameExistsException", "An account with the given \(what) already exists.")
            : CognitoError("AliasExistsException", "An account with the given \(what) already exists.")
    }

    func reserve(_ pool: Pool, _ attribute: String, _ raw: String, owner: String) async throws {
        let value = aliasValue(attribute, raw)
        let shard = aliasShard(pool, attribute, value)
        var takeOver: String?
        for _ in 0..<3 {
            let t = now()
            let reply = try await store.propose(
                shard, .reserveAlias(poolId: pool.id, attribute: attribute, value: value, owner: owner, now: t, staleBefore: t - Self.staleAfter, takeOver: takeOver))
            guard case .alias(let claim?) = reply else { return }
            if claim.state == .committed || claim.since >= t - Self.staleAfter { throw taken(pool, attribute) }
            // A stale reservation: its owner's sign-up either finished without committing
            // (then the value is theirs) or died before writing the user (then it is free).
            let ownerShard = store.userShard(pool: pool.id, canonical: claim.owner)
            if case .user(_?) = try await store.query(ownerShard, .user(poolId: pool.id, canonical: claim.owner)) {
                _ = try await store.propose(shard, .commitAlias(poolId: pool.id, attribute: attribute, value: value, owner: claim.owner))
                throw taken(pool, attribute)
            }
            takeOver = claim.owner
        }
        throw CognitoError.internalError("could not reserve \(attribute)")
    }

    func commitClaim(_ pool: Pool, _ attribute: String, _ raw: String, owner: String) async throws {
        let value = aliasValue(attribute, raw)
        _ = try await store.propose(aliasShard(pool, attribute, value), .commitAlias(poolId: pool.id, attribute: attribute, value: value, owner: owner))
    }

    func releaseClaim(_ pool: Pool, _ attribute: String, _ raw: String, owner: String) async {
        let value = aliasValue(attribute, raw)
        _ = try? await store.propose(aliasShard(pool, attribute, value), .releaseAlias(poolId: pool.id, attribute: attribute, value: value, owner: owner))
    }

    /// The owner of a committed claim on `raw`, if any.
    func claimOwner(_ pool: Pool, _ attribute: String, _ raw: String) async throws -> String? {
        let value = aliasValue(attribute, raw)
        guard case .alias(let claim?) = try await store.query(aliasShard(pool, attribute, value), .alias(poolId: pool.id, attribute: attribute, value: value)),
            claim.state == .committed
        else { return nil }
        return claim.owner
    }

    /// A user by username, or by an email / phone that is its username attribute or alias.
    func resolveUser(pool: Pool, username: String) async throws -> User {
        let notFound: CognitoError
        do throws(CognitoError) {
            return try await store.user(pool: pool, username: username)
        } catch {
            guard error.type == "UserNotFoundException" else { throw error }
            notFound = error
        }
        for attribute in uniqueAttributes(pool) + ["sub"] {
            if let owner = try await claimOwner(pool, attribute, username) {
                return try await store.user(pool: pool, username: owner)
            }
        }
        throw notFound
    }

    /// Writes a new user with its unique values claimed across shards.
    func createClaimed(pool: Pool, username: String, attributes: [String: String], password: String, status: User.Status, temporary: Bool) async throws -> User {
        var attributes = attributes
        var storedName = username
        if !pool.usernameAttributes.isEmpty {
            // Email or phone as username: the user is stored under its sub, the value
            // becomes the attribute and a claim.
            let isEmail = PoolRules.isEmail(username)
            let attribute = isEmail ? "email" : "phone_number"
            guard pool.usernameAttributes.contains(attribute), isEmail || PoolRules.isPhone(username) else {
                throw CognitoError.invalidParameter("Username should be \(pool.usernameAttributes.joined(separator: " or ")).")
            }
            attributes[attribute] = username
            storedName = Self.newSub()
        }
        let owner = PoolRules.canonical(storedName, in: pool)
        // The sub is claimed too, so it is unique and a user can be found by it.
        let sub = pool.usernameAttributes.isEmpty ? Self.newSub() : storedName
        let claims = uniqueAttributes(pool).compactMap { a in attributes[a].map { (a, $0) } } + [("sub", sub)]
        var reserved: [(String, String)] = []
        do {
            for (a, v) in claims {
                try await reserve(pool, a, v, owner: owner)
                reserved.append((a, v))
            }
            let user = try await create(pool: pool, username: storedName, attributes: attributes, password: password, status: status, temporary: temporary, sub: sub)
            for (a, v) in claims { try await commitClaim(pool, a, v, owner: owner) }
            return user
        } catch {
            for (a, v) in reserved { await releaseClaim(pool, a, v, owner: owner) }
            throw error
        }
    }
}

