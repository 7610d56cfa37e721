import AuthCrypto
import Foundation
import NodeRPC
import Sharding
import UserPool

/// The Cognito operations, by name. Each takes the parsed body and returns the response
/// object; failures are `CognitoError`s.
public struct Operations: Sendable {
    let store: PoolStore
    let region: String
    let auth: AuthContext
    /// Seconds of the first lockout (Cognito: 1); doubles with each further failure.
    let lockoutBase: Int64
    /// Unix seconds; injected so tests can move time.
    let now: @Sendable () -> Int64

    public init(
        store: PoolStore, region: String, auth: AuthContext, lockoutBase: Int64 = 1,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) {
        self.store = store
        self.region = region
        self.auth = auth
        self.lockoutBase = lockoutBase
        self.now = now
    }

    typealias Handler = @Sendable (Operations, JSONInput) async throws -> [String: Any]

    /// Operations Cognito only accepts with AWS credentials (SigV4).
    static let admin: Set<String> = [
        "CreateUserPool", "DescribeUserPool", "UpdateUserPool", "DeleteUserPool", "ListUserPools",
        "CreateUserPoolClient", "DescribeUserPoolClient", "UpdateUserPoolClient", "DeleteUserPoolClient",
        "ListUserPoolClients", "AdminConfirmSignUp", "AdminCreateUser", "AdminGetUser", "AdminSetUserPassword",
        "AdminUpdateUserAttributes", "AdminDeleteUserAttributes", "AdminDeleteUser", "AdminDisableUser",
        "AdminEnableUser", "AdminResetUserPassword", "ListUsers", "CreateGroup", "GetGroup", "ListGroups",
        "DeleteGroup", "UpdateGroup", "AdminAddUserToGroup", "AdminRemoveUserFromGroup", "AdminListGroupsForUser",
        "ListUsersInGroup", "AdminInitiateAuth", "AdminRespondToAuthChallenge", "AdminUserGlobalSignOut",
    ]

    static let handlers: [String: Handler] = [
        "CreateUserPool": { try await $0.createUserPool($1) },
        "DescribeUserPool": { try await $0.describeUserPool($1) },
        "UpdateUserPool": { try await $0.updateUserPool($1) },
        "DeleteUserPool": { try await $0.deleteUserPool($1) },
        "ListUserPools": { try await $0.listUserPools($1) },
        "CreateUserPoolClient": { try await $0.createUserPoolClient($1) },
        "DescribeUserPoolClient": { try await $0.describeUserPoolClient($1) },
        "UpdateUserPoolClient": { try await $0.updateUserPoolClient($1) },
        "DeleteUserPoolClient": { try await $0.deleteUserPoolClient($1) },
        "ListUserPoolClients": { try await $0.listUserPoolClients($1) },
        "SignUp": { try await $0.signUp($1) },
        "AdminCreateUser": { try await $0.adminCreateUser($1) },
        "AdminGetUser": { try await $0.adminGetUser($1) },
        "AdminConfirmSignUp": { try await $0.adminConfirmSignUp($1) },
        "AdminDeleteUser": { try await $0.adminDeleteUser($1) },
        "AdminSetUserPassword": { try await $0.adminSetUserPassword($1) },
        "AdminEnableUser": { try await $0.adminSetEnabled($1, true) },
        "AdminDisableUser": { try await $0.adminSetEnabled($1, false) },
        "AdminUpdateUserAttributes": { try await $0.adminUpdateUserAttributes($1) },
        "AdminDeleteUserAttributes": { try await $0.adminDeleteUserAttributes($1) },
        "AdminResetUserPassword": { try await $0.adminResetUserPassword($1) },
        "ListUsers": { try await $0.listUsers($1) },
        "CreateGroup": { try await $0.createGroup($1) },
        "GetGroup": { try await $0.getGroup($1) },
        "UpdateGroup": { try await $0.updateGroup($1) },
        "ListGroups": { try await $0.listGroups($1) },
        "DeleteGroup": { try await $0.deleteGroup($1) },
        "AdminAddUserToGroup": { try await $0.setMembership($1, member: true) },
        "AdminRemoveUserFromGroup": { try await $0.setMembership($1, member: false) },
        "AdminListGroupsForUser": { try await $0.adminListGroupsForUser($1) },
        "ListUsersInGroup": { try await $0.listUsersInGroup($1) },
        "InitiateAuth": { try await $0.initiateAuth($1, admin: false) },
        "AdminInitiateAuth": { try await $0.initiateAuth($1, admin: true) },
        "RespondToAuthChallenge": { try await $0.respondToAuthChallenge($1, admin: false) },
        "AdminRespondToAuthChallenge": { try await $0.respondToAuthChallenge($1, admin: true) },
        "GetUser": { try await $0.getUser($1) },
        "UpdateUserAttributes": { try await $0.updateUserAttributes($1) },
        "DeleteUser": { try await $0.deleteUser($1) },
        "ChangePassword": { try await $0.changePassword($1) },
        "GlobalSignOut": { try await $0.globalSignOut($1) },
        "AdminUserGlobalSignOut": { try await $0.adminUserGlobalSignOut($1) },
        "RevokeToken": { try await $0.revokeToken($1) },
        "GetTokensFromRefreshToken": { try await $0.getTokensFromRefreshToken($1) },
    ]

    /// Every operation in the cognito-idp service model that Cognate does not build yet is
    /// answered by name (anything else is an unknown operation).
    static let known: Set<String> = admin.union([
        "SignUp", "ConfirmSignUp", "ResendConfirmationCode", "ForgotPassword", "ConfirmForgotPassword", "InitiateAuth",
        "RespondToAuthChallenge", "GetUser", "UpdateUserAttributes", "DeleteUser", "DeleteUserAttributes",
        "ChangePassword", "GlobalSignOut", "RevokeToken", "GetTokensFromRefreshToken", "VerifyUserAttribute",
        "GetUserAttributeVerificationCode", "AssociateSoftwareToken", "VerifySoftwareToken", "SetUserMFAPreference",
        "AdminSetUserMFAPreference", "ConfirmDevice", "ForgetDevice", "GetDevice", "ListDevices", "AdminListDevices",
        "AdminGetDevice", "AdminForgetDevice", "AdminLinkProviderForUser", "AdminDisableProviderForUser",
        "AdminListUserAuthEvents", "AdminUpdateAuthEventFeedback", "AdminUpdateDeviceStatus", "AddCustomAttributes",
        "CreateIdentityProvider", "DescribeIdentityProvider", "ListIdentityProviders", "DeleteIdentityProvider",
        "CreateResourceServer", "ListResourceServers", "CreateUserPoolDomain", "DescribeUserPoolDomain",
        "DeleteUserPoolDomain", "GetSigningCertificate", "GetUICustomization", "SetUICustomization",
        "GetUserPoolMfaConfig", "SetUserPoolMfaConfig", "ListTagsForResource", "TagResource", "UntagResource",
        "StartUserImportJob", "CreateUserImportJob", "GetCSVHeader", "ListUserImportJobs", "SetRiskConfiguration",
        "DescribeRiskConfiguration", "AdminSetUserSettings", "SetUserSettings", "UpdateAuthEventFeedback",
        "UpdateDeviceStatus", "AdminUserGlobalSignOut",
    ])

    func dispatch(_ operation: String, _ input: JSONInput) async throws -> [String: Any] {
        guard let handler = Self.handlers[operation] else {
            if Self.known.contains(operation) { throw CognitoError.notSupported("The operation \(operation)") }
            throw CognitoError("UnknownOperationException", "Unknown operation \(operation)")
        }
        return try await handler(self, input)
    }

    // MARK: Ids

    static func randomString(_ alphabet: String, _ count: Int) -> String {
        let chars = Array(alphabet)
        return String((0..<count).map { _ in chars.randomElement()! })
    }

    func newPoolId() -> String { "\(region)_" + Self.randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 9) }
    static func newClientId() -> String { randomString("abcdefghijklmnopqrstuvwxyz0123456789", 26) }
    static func newClientSecret() -> String { randomString("abcdefghijklmnopqrstuvwxyz0123456789", 51) }
    static func newSub() -> String {
        var rng = SystemRandomNumberGenerator()
        return randomUUIDString(using: &rng)
    }

    static func temporaryPassword(policy: PasswordPolicy) -> String {
        let body = randomString("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", max(8, policy.minimumLength))
        return body + "aA1!"
    }
}
