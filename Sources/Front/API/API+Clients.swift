import CognitoModel
import UserPool

/// App clients.
extension API {
    func createUserPoolClient(_ r: CreateUserPoolClientRequest) async throws -> CreateUserPoolClientResponse {
        let pool = try await store.pool(r.userPoolId)
        let secret = r.generateSecret == true ? (r.clientSecret ?? Self.newClientSecret()) : nil
        let t = now()
        let client = try ClientRules.client(
            .init(r), id: Self.newClientId(), poolId: pool.id, name: r.clientName, secret: secret, pool: pool,
            createdAt: t, now: t)
        _ = try await store.proposeMeta(.createClient(client))
        return CreateUserPoolClientResponse(userPoolClient: client.userPoolClientType)
    }

    func describeUserPoolClient(_ r: DescribeUserPoolClientRequest) async throws -> DescribeUserPoolClientResponse {
        DescribeUserPoolClientResponse(
            userPoolClient: try await store.appClient(pool: r.userPoolId, id: r.clientId).userPoolClientType)
    }

    func updateUserPoolClient(_ r: UpdateUserPoolClientRequest) async throws -> UpdateUserPoolClientResponse {
        let pool = try await store.pool(r.userPoolId)
        let current = try await store.appClient(pool: pool.id, id: r.clientId)
        let client = try ClientRules.client(
            .init(r), id: current.id, poolId: pool.id, name: current.name, secret: current.secret, pool: pool,
            createdAt: current.createdAt, now: now())
        _ = try await store.proposeMeta(.updateClient(client))
        return UpdateUserPoolClientResponse(userPoolClient: client.userPoolClientType)
    }

    func deleteUserPoolClient(_ r: DeleteUserPoolClientRequest) async throws -> EmptyShape {
        _ = try await store.proposeMeta(.deleteClient(poolId: r.userPoolId, clientId: r.clientId))
        return EmptyShape()
    }

    func listUserPoolClients(_ r: ListUserPoolClientsRequest) async throws -> ListUserPoolClientsResponse {
        let pool = try await store.pool(r.userPoolId)
        let max = ListRules.pageSize(r.maxResults)
        let query = UserPoolQuery.clients(poolId: pool.id, after: r.nextToken, limit: max + 1)
        guard case .clients(let clients) = try await store.query(PoolStore.metaShard, query) else {
            return ListUserPoolClientsResponse(userPoolClients: [])
        }
        let page = clients.prefix(max)
        return ListUserPoolClientsResponse(
            userPoolClients: page.map(\.descriptionType), nextToken: clients.count > max ? page.last?.id : nil)
    }
}
