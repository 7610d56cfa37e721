import UserPool

extension Operations {
    func groupType(_ g: Group) -> [String: Any] {
        var out: [String: Any] = [
            "GroupName": g.name, "UserPoolId": g.poolId, "CreationDate": Double(g.createdAt), "LastModifiedDate": Double(g.modifiedAt),
        ]
        if let d = g.description { out["Description"] = d }
        if let p = g.precedence { out["Precedence"] = p }
        if let r = g.roleArn { out["RoleArn"] = r }
        return out
    }

    func groupName(_ input: JSONInput) throws -> String {
        let name = try input.required("GroupName", max: 128)
        guard !name.isEmpty, !name.contains("/") else { throw CognitoError.invalidParameter("GroupName must be 1-128 characters without '/'") }
        return name
    }

    func group(_ pool: String, _ name: String) async throws -> Group {
        guard case .group(let g?) = try await store.query(PoolStore.metaShard, .group(poolId: pool, name: name)) else {
            throw CognitoError.resourceNotFound("Group not found.")
        }
        return g
    }

    func createGroup(_ input: JSONInput) async throws -> [String: Any] {
        let pool = try await store.pool(try poolId(input))
        let t = now()
        let precedence = try input.int("Precedence")
        if let p = precedence, p < 0 { throw CognitoError.invalidParameter("Precedence must be 0 or more") }
        let g = Group(
            poolId: pool.id, name: try groupName(input), description: try input.string("Description"), precedence: precedence,
            roleArn: try input.string("RoleArn"), createdAt: t, modifiedAt: t)
        _ = try await store.propose(PoolStore.metaShard, .createGroup(g))
        return ["Group": groupType(g)]
    }

    func getGroup(_ input: JSONInput) async throws -> [String: Any] {
        ["Group": groupType(try await group(try poolId(input), try groupName(input)))]
    }

    func updateGroup(_ input: JSONInput) async throws -> [String: Any] {
        var g = try await group(try poolId(input), try groupName(input))
        g.description = try input.string("Description") ?? g.description
        g.precedence = try input.int("Precedence") ?? g.precedence
        g.roleArn = try input.string("RoleArn") ?? g.roleArn
        g.modifiedAt = now()
        _ = try await store.propose(PoolStore.metaShard, .updateGroup(g))
        return ["Group": groupType(g)]
    }

    func listGroups(_ input: JSONInput) async throws -> [String: Any] {
        let pool = try await store.pool(try poolId(input))
        let limit = try input.int("Limit") ?? 60
        guard (1...60).contains(limit) else { throw CognitoError.invalidParameter("Limit must be between 1 and 60") }
        guard case .groups(let groups) = try await store.query(PoolStore.metaShard, .groups(poolId: pool.id, after: try input.string("NextToken"), limit: limit + 1)) else { return [:] }
        var out: [String: Any] = ["Groups": groups.prefix(limit).map(groupType)]
        if groups.count > limit { out["NextToken"] = groups[limit - 1].name }
        return out
    }

    func deleteGroup(_ input: JSONInput) async throws -> [String: Any] {
        let pool = try poolId(input)
        let name = try groupName(input)
        _ = try await group(pool, name)
        _ = try await store.propose(PoolStore.metaShard, .deleteGroup(poolId: pool, name: name))
        for shard in store.allUserShards { _ = try await store.propose(shard, .purgeGroup(poolId: pool, group: name)) }
        return [:]
    }

    func setMembership(_ input: JSONInput, member: Bool) async throws -> [String: Any] {
        let pool = try await store.pool(try poolId(input))
        let name = try groupName(input)
        _ = try await group(pool.id, name)
        let user = try await resolveUser(pool: pool, username: try input.required("Username", max: 128))
        let canonical = PoolRules.canonical(user.username, in: pool)
        _ = try await store.propose(
            store.userShard(pool: pool.id, canonical: canonical), .setMembership(poolId: pool.id, canonical: canonical, group: name, member: member))
        return [:]
    }

    func adminListGroupsForUser(_ input: JSONInput) async throws -> [String: Any] {
        let pool = try await store.pool(try poolId(input))
        let user = try await resolveUser(pool: pool, username: try input.required("Username", max: 128))
        var groups: [[String: Any]] = []
        for name in user.groups ?? [] {
            if let g = try? await group(pool.id, name) { groups.append(groupType(g)) }
        }
        return ["Groups": groups]
    }

    func listUsersInGroup(_ input: JSONInput) async throws -> [String: Any] {
        let pool = try await store.pool(try poolId(input))
        let name = try groupName(input)
        _ = try await group(pool.id, name)
        let limit = try input.int("Limit") ?? 60
        guard (1...60).contains(limit) else { throw CognitoError.invalidParameter("Limit must be between 1 and 60") }
        var (shardIndex, after) = try decodeToken(try input.string("NextToken", max: 1024))
        var users: [[String: Any]] = []
        var next: String?
        let shards = store.allUserShards
        while shardIndex < shards.count {
            guard case .names(let names) = try await store.query(shards[shardIndex], .members(poolId: pool.id, group: name, after: after, limit: limit - users.count)) else { break }
            for canonical in names {
                after = canonical
                if case .user(let u?) = try await store.query(shards[shardIndex], .user(poolId: pool.id, canonical: canonical)) {
                    users.append(userType(u))
                }
            }
            if users.count >= limit {
                next = encodeToken(shardIndex, after)
                break
            }
            shardIndex += 1
            after = nil
        }
        var out: [String: Any] = ["Users": users]
        if let next { out["NextToken"] = next }
        return out
    }
}
