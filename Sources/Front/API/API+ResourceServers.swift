import CognitoModel
import UserPool

/// Resource servers: definitions on shard 0, their scopes what app clients may be allowed.
extension API {
    func resourceServers(_ poolId: String) async throws -> [ResourceServer] {
        guard
            case .resourceServers(let all) = try await store.query(
                PoolStore.metaShard, .resourceServers(poolId: poolId))
        else { return [] }
        return all
    }

    func createResourceServer(_ r: CreateResourceServerRequest) async throws -> CreateResourceServerResponse {
        let pool = try await store.pool(r.userPoolId)
        let server = try ResourceServerRules.server(
            poolId: pool.id, identifier: r.identifier, name: r.name, scopes: r.scopes)
        _ = try await store.proposeMeta(.putResourceServer(server, create: true))
        return CreateResourceServerResponse(resourceServer: server.resourceServerType)
    }

    func describeResourceServer(_ r: DescribeResourceServerRequest) async throws -> DescribeResourceServerResponse {
        let pool = try await store.pool(r.userPoolId)
        guard
            case .resourceServer(let server?) = try await store.query(
                PoolStore.metaShard, .resourceServer(poolId: pool.id, identifier: r.identifier))
        else { throw PoolError(.resourceNotFound, "Resource server \(r.identifier) does not exist.") }
        return DescribeResourceServerResponse(resourceServer: server.resourceServerType)
    }

    /// UpdateResourceServer replaces the name and scopes (scopes left out: none). Clients
    /// keep the scopes they were allowed; a scope gone is no longer granted.
    func updateResourceServer(_ r: UpdateResourceServerRequest) async throws -> UpdateResourceServerResponse {
        let pool = try await store.pool(r.userPoolId)
        let server = try ResourceServerRules.server(
            poolId: pool.id, identifier: r.identifier, name: r.name, scopes: r.scopes)
        _ = try await store.proposeMeta(.putResourceServer(server, create: false))
        return UpdateResourceServerResponse(resourceServer: server.resourceServerType)
    }

    func deleteResourceServer(_ r: DeleteResourceServerRequest) async throws -> EmptyShape {
        let pool = try await store.pool(r.userPoolId)
        _ = try await store.proposeMeta(.deleteResourceServer(poolId: pool.id, identifier: r.identifier))
        return EmptyShape()
    }

    /// At most 25 per pool, so one read; pages by identifier.
    func listResourceServers(_ r: ListResourceServersRequest) async throws -> ListResourceServersResponse {
        let pool = try await store.pool(r.userPoolId)
        let page = ListRules.page(
            try await resourceServers(pool.id), after: r.nextToken, limit: ListRules.pageSize(r.maxResults, default: 50)
        ) { $0.identifier }
        return ListResourceServersResponse(resourceServers: page.items.map(\.resourceServerType), nextToken: page.next)
    }
}

extension API {
    /// GetClientToken: the client_credentials grant in the API's form.
    func getClientToken(_ r: GetClientTokenRequest) async throws -> GetClientTokenResponse {
        let (client, pool) = try await signInClient(r.clientId)
        try checkClientSecret(client, r.secret)
        let scopes = try ClientCredentialsRules.grant(
            client, asked: r.scopes, servers: try await resourceServers(pool.id))
        let (token, seconds) = try tokenService.clientToken(pool: pool, client: client, scopes: scopes)
        return GetClientTokenResponse(
            clientAuthenticationResult: ClientAuthenticationResultType(
                accessToken: token, expiresIn: Int(seconds), tokenType: "Bearer"))
    }
}
