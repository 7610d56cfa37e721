import CognitoModel
import Foundation
import Testing

@testable import Front

/// The set-up most tests share: a pool, a client, a user with a password, a sign-in.
extension TestFront.Client {
    static let password = "Passw0rd!"

    func pool(_ request: CreateUserPoolRequest = CreateUserPoolRequest(poolName: "pool")) async throws -> String {
        let pool = try await call(CreateUserPoolOperation.self, request).userPool
        return try #require(pool?.id)
    }

    func appClient(
        pool: String, flows: [ExplicitAuthFlowsType] = [.allowUserPasswordAuth, .allowUserSrpAuth,
            .allowRefreshTokenAuth, .allowAdminUserPasswordAuth],
        secret: Bool = false, prevent: PreventUserExistenceErrorTypes? = .enabled,
        read: [String]? = nil, write: [String]? = nil
    ) async throws -> UserPoolClientType {
        let request = CreateUserPoolClientRequest(
            userPoolId: pool, clientName: "app", generateSecret: secret, readAttributes: read, writeAttributes: write,
            explicitAuthFlows: flows, preventUserExistenceErrors: prevent)
        return try #require(try await call(CreateUserPoolClientOperation.self, request).userPoolClient)
    }

    /// A confirmed user with `password` (AdminCreateUser, then a permanent password).
    func user(
        pool: String, _ name: String, password: String = Self.password, attributes: [String: String] = [:]
    ) async throws {
        let list = attributes.sorted { $0.key < $1.key }.map { AttributeType(name: $0.key, value: $0.value) }
        try await call(
            AdminCreateUserOperation.self,
            AdminCreateUserRequest(
                userPoolId: pool, username: name, userAttributes: list, temporaryPassword: "Temp0rary!",
                messageAction: .suppress))
        try await call(
            AdminSetUserPasswordOperation.self,
            AdminSetUserPasswordRequest(userPoolId: pool, username: name, password: password, permanent: true))
    }

    /// USER_PASSWORD_AUTH's tokens.
    func signIn(client: String, _ name: String, password: String = Self.password, secretHash: String? = nil)
        async throws -> AuthenticationResultType
    {
        var parameters = ["USERNAME": name, "PASSWORD": password]
        parameters["SECRET_HASH"] = secretHash
        let r = try await call(
            InitiateAuthOperation.self,
            InitiateAuthRequest(authFlow: .userPasswordAuth, authParameters: parameters, clientId: client))
        return try #require(r.authenticationResult)
    }

    func getUser(pool: String, _ name: String) async throws -> AdminGetUserResponse {
        try await call(AdminGetUserOperation.self, AdminGetUserRequest(userPoolId: pool, username: name))
    }

    func attributes(pool: String, _ name: String) async throws -> [String: String] {
        let user = try await getUser(pool: pool, name)
        return Dictionary(uniqueKeysWithValues: (user.userAttributes ?? []).map { ($0.name, $0.value ?? "") })
    }
}

/// Decodes a JWT's payload without checking it (the front's tests check what it carries).
func jwtClaims(_ token: String?) throws -> [String: JSONValue] {
    let parts = try #require(token).split(separator: ".")
    var text = String(parts[1]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while text.count % 4 != 0 { text += "=" }
    let data = try #require(Data(base64Encoded: text))
    return try JSONDecoder().decode([String: JSONValue].self, from: data)
}
