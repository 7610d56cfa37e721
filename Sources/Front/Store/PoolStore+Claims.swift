import NodeRPC
import UserPool

/// Unique attribute values (email or phone as username or alias) across shards: reserve on
/// the value's shard, write the user on its shard, commit the reservation. A reservation
/// older than `staleAfter` whose owner never got written may be taken over; one whose owner
/// exists is committed for it instead.
extension PoolStore {
    static let staleAfter: Int64 = 30

    func claimShard(_ pool: Pool, _ attribute: String, _ value: String) -> UInt32 {
        userShard(pool: pool.id, canonical: UserPoolKeys.claimName(attribute, value))
    }

    /// The refusal a taken value gets: UsernameExists when it is the username, AliasExists otherwise.
    static func taken(_ pool: Pool, _ attribute: String) -> PoolError {
        pool.usernameAttributes.contains { $0.rawValue == attribute }
            ? PoolError(.usernameExists, "An account with the given \(attribute) already exists.")
            : PoolError(.aliasExists, "An account with the given \(attribute) already exists.")
    }

    func reserve(_ pool: Pool, _ attribute: String, _ raw: String, owner: String, now: Int64) async throws(PoolError) {
        let value = PoolRules.claimValue(attribute, raw)
        let shard = claimShard(pool, attribute, value)
        var takeOver: String?
        for _ in 0..<3 {
            let reply = try await propose(
                shard,
                .reserveAlias(
                    poolId: pool.id, attribute: attribute, value: value, owner: owner, now: now,
                    staleBefore: now - Self.staleAfter, takeOver: takeOver))
            guard case .alias(let claim?) = reply else { return }
            if claim.state == .committed || claim.since >= now - Self.staleAfter { throw Self.taken(pool, attribute) }
            // A stale reservation: its owner's sign-up either finished without committing
            // (then the value is theirs) or died before writing the user (then it is free).
            if try await user(pool: pool.id, canonical: claim.owner) != nil {
                _ = try await propose(
                    shard, .commitAlias(poolId: pool.id, attribute: attribute, value: value, owner: claim.owner))
                throw Self.taken(pool, attribute)
            }
            takeOver = claim.owner
        }
        throw PoolError(.internalError, "could not reserve \(attribute)")
    }

    func commitClaim(_ pool: Pool, _ attribute: String, _ raw: String, owner: String) async throws(PoolError) {
        let value = PoolRules.claimValue(attribute, raw)
        _ = try await propose(
            claimShard(pool, attribute, value),
            .commitAlias(poolId: pool.id, attribute: attribute, value: value, owner: owner))
    }

    /// Frees a claim `owner` holds. Not freeing it leaves a reservation that goes stale and
    /// is taken over, or a committed claim whose owner no longer exists, which the next
    /// reservation of the value checks; so a failure here is logged, not fatal.
    func releaseClaim(_ pool: Pool, _ attribute: String, _ raw: String, owner: String) async throws(PoolError) {
        let value = PoolRules.claimValue(attribute, raw)
        _ = try await propose(
            claimShard(pool, attribute, value),
            .releaseAlias(poolId: pool.id, attribute: attribute, value: value, owner: owner))
    }

    /// The owner of a committed claim on `raw`, if any.
    func claimOwner(_ pool: Pool, _ attribute: String, _ raw: String) async throws(PoolError) -> String? {
        let value = PoolRules.claimValue(attribute, raw)
        let reply = try await query(
            claimShard(pool, attribute, value), .alias(poolId: pool.id, attribute: attribute, value: value))
        guard case .alias(let claim?) = reply, claim.state == .committed else { return nil }
        return claim.owner
    }

    /// The user with this sub: its index is on the user's own shard, so every user shard is
    /// asked (only when a name is neither a username nor an alias).
    func user(pool: Pool, sub: String) async throws(PoolError) -> User? {
        for shard in await allUserShards() {
            if case .user(let u?) = try await query(shard, .userBySub(poolId: pool.id, sub: sub)) { return u }
        }
        return nil
    }

    /// A user by username, by an email or phone that is its username attribute or alias, or
    /// by its sub (as Cognito's admin operations accept).
    func resolve(pool: Pool, username: String) async throws(PoolError) -> User {
        if let u = try await user(pool: pool.id, canonical: PoolRules.canonical(username, in: pool)) { return u }
        for attribute in PoolRules.uniqueAttributes(pool) {
            if let owner = try await claimOwner(pool, attribute, username),
                let u = try await user(pool: pool.id, canonical: owner)
            {
                return u
            }
        }
        if let u = try await user(pool: pool, sub: username) { return u }
        throw PoolError(.userNotFound, "User does not exist.")
    }

    /// The user a sign-in names, found with the same reads whether or not one exists: the
    /// username's record and (in a pool with email, phone or preferred_username as username
    /// or alias) each claim on the identifier; then the owner of a claim, or a read of the same
    /// cost, so the time taken does not tell.
    func resolveForSignIn(pool: Pool, identifier: String) async throws(PoolError) -> (User?, readBy: ReservedReply?) {
        let attributes = PoolRules.uniqueAttributes(pool)
        let canonical = PoolRules.canonical(identifier, in: pool)
        guard !attributes.isEmpty else { return try await userForSignIn(pool: pool.id, canonical: canonical) }
        let direct = try await user(pool: pool.id, canonical: canonical)
        var owner: String?
        for attribute in attributes {
            let found = try await claimOwner(pool, attribute, identifier)
            owner = owner ?? found
        }
        // The second read is of the name the attempt counts against (a balancing read when
        // the first found the user), on its shard's leader, which says who read it.
        let (second, readBy) = try await userForSignIn(
            pool: pool.id, canonical: direct != nil ? canonical : owner ?? canonical)
        return (direct ?? (owner != nil ? second : nil), readBy)
    }

    /// A user read on its shard's leader as a reserving read that holds nothing: the user,
    /// and the node (and its run) that read it.
    func userForSignIn(pool: String, canonical: String) async throws(PoolError) -> (User?, readBy: ReservedReply?) {
        let shard = userShard(pool: pool, canonical: canonical)
        let (reply, held, _) = try await reserve(shard, .user(poolId: pool, canonical: canonical))
        guard case .user(let u) = reply else { throw PoolError(.internalError, "unexpected reply reading a user") }
        return (u, held)
    }
}
