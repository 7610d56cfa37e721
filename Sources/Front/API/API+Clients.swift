import CognitoModel
import Foundation
import UserPool

/// App clients.
extension API {
    func createUserPoolClient(_ r: CreateUserPoolClientRequest) async throws -> CreateUserPoolClientResponse {
        let pool = try await store.pool(r.userPoolId)
        try ResourceServerRules.checkScopes(
            r.allowedOAuthScopes, servers: try await scopeServers(r.allowedOAuthScopes, pool))
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
        try ResourceServerRules.checkScopes(
            r.allowedOAuthScopes, servers: try await scopeServers(r.allowedOAuthScopes, pool))
        var client = try ClientRules.client(
            .init(r), id: current.id, poolId: pool.id, name: current.name, secret: current.secret, pool: pool,
            createdAt: current.createdAt, now: now())
        client.rotatedSecrets = current.rotatedSecrets
        _ = try await store.proposeMeta(.updateClient(client))
        return UpdateUserPoolClientResponse(userPoolClient: client.userPoolClientType)
    }

    func addUserPoolClientSecret(_ r: AddUserPoolClientSecretRequest) async throws -> AddUserPoolClientSecretResponse {
        let pool = try await store.pool(r.userPoolId)
        var client = try await store.appClient(pool: pool.id, id: r.clientId)
        let t = now()
        let added = try ClientSecretRules.add(
            &client, id: "\(client.id)--\(nowMilliseconds())", value: r.clientSecret ?? Self.newClientSecret(), now: t)
        _ = try await store.proposeMeta(.updateClient(client))
        return AddUserPoolClientSecretResponse(
            clientSecretDescriptor: ClientSecretDescriptorType(
                clientSecretId: added.id, clientSecretValue: added.value,
                clientSecretCreateDate: Date(timeIntervalSince1970: Double(added.createdAt))))
    }

    func deleteUserPoolClientSecret(
        _ r: DeleteUserPoolClientSecretRequest
    ) async throws -> DeleteUserPoolClientSecretResponse {
        let pool = try await store.pool(r.userPoolId)
        var client = try await store.appClient(pool: pool.id, id: r.clientId)
        try ClientSecretRules.delete(&client, id: r.clientSecretId, now: now())
        _ = try await store.proposeMeta(.updateClient(client))
        return DeleteUserPoolClientSecretResponse()
    }

    /// The client's active secrets, named but not shown.
    func listUserPoolClientSecrets(
        _ r: ListUserPoolClientSecretsRequest
    ) async throws -> ListUserPoolClientSecretsResponse {
        let pool = try await store.pool(r.userPoolId)
        let client = try await store.appClient(pool: pool.id, id: r.clientId)
        return ListUserPoolClientSecretsResponse(
            clientSecrets: client.secrets.map {
                ClientSecretDescriptorType(
                    clientSecretId: $0.id, clientSecretCreateDate: Date(timeIntervalSince1970: Double($0.createdAt)))
            })
    }

    /// The pool's resource servers, read only when a client names a custom scope.
    func scopeServers(_ scopes: [String]?, _ pool: Pool) async throws -> [ResourceServer] {
        guard (scopes ?? []).contains(where: { !ResourceServerRules.standardScopes.contains($0) }) else { return [] }
        return try await resourceServers(pool.id)
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
