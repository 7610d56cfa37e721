import CognitoModel
import UserPool

/// ListUsers: every user shard in turn, in key order, filtered; the pagination token carries
/// the shard and the last name, so each user appears exactly once, and none is returned
/// on the last page.
extension API {
    func listUsers(_ r: ListUsersRequest) async throws -> ListUsersResponse {
        let pool = try await store.pool(r.userPoolId)
        let limit = ListRules.pageSize(r.limit)
        let filter = try ListRules.filter(r.filter)
        var cursor = try ListRules.Cursor(token: r.paginationToken, shards: await store.allUserShards().count)
        let (found, next) = try await scanUsers(pool: pool, from: &cursor, limit: limit) { filter?.matches($0) ?? true }
        let users = found.map { u in
            u.userType(
                attributes: r.attributesToGet.map { wanted in u.allAttributes.filter { wanted.contains($0.key) } })
        }
        return ListUsersResponse(users: users, paginationToken: next?.token)
    }

    /// Up to `limit` users matching `keep`, and the cursor to continue from if more match.
    func scanUsers(
        pool: Pool, from cursor: inout ListRules.Cursor, limit: Int, keep: (User) -> Bool
    ) async throws -> ([User], ListRules.Cursor?) {
        let shards = await store.allUserShards()
        var found: [User] = []
        var last: ListRules.Cursor?
        while cursor.shardIndex < shards.count {
            let query = UserPoolQuery.users(poolId: pool.id, after: cursor.after, limit: 60)
            guard case .users(let batch) = try await store.query(shards[cursor.shardIndex], query) else { break }
            for u in batch {
                cursor.after = PoolRules.canonical(u.username, in: pool)
                guard keep(u) else { continue }
                // One more than the page shows that another page follows.
                if found.count == limit { return (found, last) }
                found.append(u.withoutSecrets)
                last = cursor
            }
            if batch.count < 60 {
                cursor.shardIndex += 1
                cursor.after = nil
            }
        }
        return (found, nil)
    }
}
