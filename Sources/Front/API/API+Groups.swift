import CognitoModel
import UserPool

/// Groups: definitions on shard 0, memberships on the members' shards.
extension API {
    func group(_ pool: String, _ name: String) async throws -> Group {
        guard case .group(let g?) = try await store.query(PoolStore.metaShard, .group(poolId: pool, name: name)) else {
            throw PoolError(.resourceNotFound, "Group not found.")
        }
        return g
    }

    func createGroup(_ r: CreateGroupRequest) async throws -> CreateGroupResponse {
        let pool = try await store.pool(r.userPoolId)
        let t = now()
        let g = Group(
            poolId: pool.id, name: r.groupName, description: r.description, precedence: r.precedence,
            roleArn: r.roleArn,
            createdAt: t, modifiedAt: t)
        _ = try await store.propose(PoolStore.metaShard, .createGroup(g))
        return CreateGroupResponse(group: g.groupType)
    }

    func getGroup(_ r: GetGroupRequest) async throws -> GetGroupResponse {
        GetGroupResponse(group: try await group(r.userPoolId, r.groupName).groupType)
    }

    func updateGroup(_ r: UpdateGroupRequest) async throws -> UpdateGroupResponse {
        var g = try await group(r.userPoolId, r.groupName)
        g.description = r.description ?? g.description
        g.precedence = r.precedence ?? g.precedence
        g.roleArn = r.roleArn ?? g.roleArn
        g.modifiedAt = now()
        _ = try await store.propose(PoolStore.metaShard, .updateGroup(g))
        return UpdateGroupResponse(group: g.groupType)
    }

    func listGroups(_ r: ListGroupsRequest) async throws -> ListGroupsResponse {
        let pool = try await store.pool(r.userPoolId)
        let limit = ListRules.pageSize(r.limit)
        let query = UserPoolQuery.groups(poolId: pool.id, after: r.nextToken, limit: limit + 1)
        guard case .groups(let groups) = try await store.query(PoolStore.metaShard, query) else {
            return ListGroupsResponse(groups: [])
        }
        let page = groups.prefix(limit)
        return ListGroupsResponse(
            groups: page.map(\.groupType), nextToken: groups.count > limit ? page.last?.name : nil)
    }

    func deleteGroup(_ r: DeleteGroupRequest) async throws -> EmptyShape {
        _ = try await group(r.userPoolId, r.groupName)
        _ = try await store.propose(PoolStore.metaShard, .deleteGroup(poolId: r.userPoolId, name: r.groupName))
        for shard in await store.allUserShards() {
            // In batches, so no one command grows with the group.
            while case .more(true) = try await store.propose(
                shard, .purgeGroup(poolId: r.userPoolId, group: r.groupName))
            {}
        }
        return EmptyShape()
    }

    func adminAddUserToGroup(_ r: AdminAddUserToGroupRequest) async throws -> EmptyShape {
        try await setMembership(r.userPoolId, r.username, r.groupName, member: true)
        return EmptyShape()
    }

    func adminRemoveUserFromGroup(_ r: AdminRemoveUserFromGroupRequest) async throws -> EmptyShape {
        try await setMembership(r.userPoolId, r.username, r.groupName, member: false)
        return EmptyShape()
    }

    func setMembership(_ poolId: String, _ username: String, _ name: String, member: Bool) async throws {
        let pool = try await store.pool(poolId)
        _ = try await group(pool.id, name)
        let user = try await store.resolve(pool: pool, username: username)
        let canonical = PoolRules.canonical(user.username, in: pool)
        _ = try await store.propose(
            store.userShard(pool: pool.id, canonical: canonical),
            .setMembership(poolId: pool.id, canonical: canonical, group: name, member: member))
    }

    func adminListGroupsForUser(_ r: AdminListGroupsForUserRequest) async throws -> AdminListGroupsForUserResponse {
        let pool = try await store.pool(r.userPoolId)
        let user = try await store.resolve(pool: pool, username: r.username)
        let limit = ListRules.pageSize(r.limit)
        let names = (user.groups ?? []).sorted().filter { r.nextToken == nil || $0 > r.nextToken! }
        var groups: [GroupType] = []
        for name in names.prefix(limit) {
            // A group deleted since the membership was written is skipped, not an error.
            if case .group(let g?) = try await store.query(PoolStore.metaShard, .group(poolId: pool.id, name: name)) {
                groups.append(g.groupType)
            }
        }
        return AdminListGroupsForUserResponse(groups: groups, nextToken: names.count > limit ? names[limit - 1] : nil)
    }

    func listUsersInGroup(_ r: ListUsersInGroupRequest) async throws -> ListUsersInGroupResponse {
        let pool = try await store.pool(r.userPoolId)
        _ = try await group(pool.id, r.groupName)
        let limit = ListRules.pageSize(r.limit)
        var cursor = try ListRules.Cursor(token: r.nextToken, shards: await store.allUserShards().count)
        let shards = await store.allUserShards()
        var users: [UserType] = []
        while cursor.shardIndex < shards.count {
            let query = UserPoolQuery.members(poolId: pool.id, group: r.groupName, after: cursor.after, limit: 60)
            guard case .names(let names) = try await store.query(shards[cursor.shardIndex], query) else { break }
            for canonical in names {
                // One more member than the page shows that another page follows.
                if users.count == limit { return ListUsersInGroupResponse(users: users, nextToken: cursor.token) }
                if let u = try await store.user(pool: pool.id, canonical: canonical) { users.append(u.userType()) }
                cursor.after = canonical
            }
            if names.count < 60 {
                cursor.shardIndex += 1
                cursor.after = nil
            }
        }
        return ListUsersInGroupResponse(users: users)
    }
}
