import CognitoModel
import UserPool

/// Pools: create, describe, update, delete, list, and custom attributes.
extension API {
    func createUserPool(_ r: CreateUserPoolRequest) async throws -> CreateUserPoolResponse {
        let key = try await auth.newSigningKey()
        let pool = try PoolConfigRules.pool(from: r, id: newPoolId(), signingKey: key, now: now())
        _ = try await store.proposeMeta(.createPool(pool))
        return CreateUserPoolResponse(userPool: pool.userPoolType(region: region, estimatedUsers: 0))
    }

    func describeUserPool(_ r: DescribeUserPoolRequest) async throws -> DescribeUserPoolResponse {
        let pool = try await store.pool(r.userPoolId)
        return DescribeUserPoolResponse(
            userPool: pool.userPoolType(region: region, estimatedUsers: try await userCount(pool)))
    }

    /// The pool's users: each shard keeps its count, so this is one read per shard.
    func userCount(_ pool: Pool) async throws -> Int {
        var total: Int64 = 0
        for shard in await store.allUserShards() {
            if case .count(let n) = try await store.query(shard, .userCount(poolId: pool.id)) { total += n }
        }
        return Int(total)
    }

    func updateUserPool(_ r: UpdateUserPoolRequest) async throws -> UpdateUserPoolResponse {
        let pool = try await store.pool(r.userPoolId)
        _ = try await store.proposeMeta(.updatePool(try PoolConfigRules.updated(pool, with: r, now: now())))
        return UpdateUserPoolResponse()
    }

    /// The pool answers as gone at once; its users, claims and messages are purged from
    /// every user shard (each shard refuses the pool's writes from its purge on), then its
    /// record goes. A deletion a front did not finish is finished by the next call.
    func deleteUserPool(_ r: DeleteUserPoolRequest) async throws -> EmptyShape {
        guard case .pool(let pool?) = try await store.query(PoolStore.metaShard, .pool(id: r.userPoolId)) else {
            throw PoolError(.resourceNotFound, "User pool \(r.userPoolId) does not exist.")
        }
        if pool.deleting != true {
            guard pool.deletionProtection != .active else {
                throw PoolError(
                    .invalidParameter, "The user pool cannot be deleted because deletion protection is activated.")
            }
            // As Cognito: the pool's domains go first.
            guard (pool.settings.domains ?? []).isEmpty else {
                throw PoolError(
                    .invalidParameter,
                    "User pool cannot be deleted. It has a domain configured that should be deleted first.")
            }
            _ = try await store.proposeMeta(.markPoolDeleting(id: pool.id))
        }
        for shard in await store.allUserShards() {
            while case .more(true) = try await store.propose(shard, .purgePool(id: pool.id)) {}
        }
        _ = try await store.proposeMeta(.deletePool(id: pool.id))
        return EmptyShape()
    }

    func listUserPools(_ r: ListUserPoolsRequest) async throws -> ListUserPoolsResponse {
        let max = ListRules.pageSize(r.maxResults)
        guard
            case .pools(let pools) = try await store.query(
                PoolStore.metaShard, .pools(after: r.nextToken, limit: max + 1))
        else { return ListUserPoolsResponse(userPools: []) }
        let page = pools.prefix(max)
        return ListUserPoolsResponse(
            userPools: page.filter { $0.deleting != true }.map(\.descriptionType),
            nextToken: pools.count > max ? page.last?.id : nil)
    }

    func addCustomAttributes(_ r: AddCustomAttributesRequest) async throws -> AddCustomAttributesResponse {
        var pool = try await store.pool(r.userPoolId)
        pool.schema = try SchemaRules.adding(r.customAttributes, to: pool.schema)
        pool.modifiedAt = now()
        _ = try await store.proposeMeta(.updatePool(pool))
        return AddCustomAttributesResponse()
    }
}

/// Cognito's CSV import: the header a CSV file for an import job starts with.
extension API {
    func getCSVHeader(_ r: GetCSVHeaderRequest) async throws -> GetCSVHeaderResponse {
        let pool = try await store.pool(r.userPoolId)
        return GetCSVHeaderResponse(userPoolId: pool.id, csvHeader: CSVImportRules.header(pool))
    }
}
