import AuthCrypto
import CognitoModel
import Foundation
import UserPool

/// The Cognito operations Cognate serves: each a typed handler that asks the domain for the
/// rules and the store for reads and writes, and holds no rule of its own. `routes` maps
/// every implemented operation to its handler; the model's other operations answer
/// UnsupportedOperationException by name (`FrontServer`).
public struct API: Sendable {
    let store: PoolStore
    let auth: AuthContext
    let region: String
    /// Seconds of the first lockout (Cognito: 1); doubles with each further failure.
    let lockoutBase: Int64
    /// Unix seconds; injected so tests can move time.
    let clock: @Sendable () -> Double
    /// Import-file uploads this front streams at once.
    let uploads = UploadSlots(ImportJobRules.uploadsPerFront)

    public init(
        store: PoolStore, region: String, auth: AuthContext, lockoutBase: Int64 = 1,
        clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.store = store
        self.region = region
        self.auth = auth
        self.lockoutBase = lockoutBase
        self.clock = clock
    }

    func now() -> Int64 { Int64(clock()) }
    func nowMilliseconds() -> Int64 { Int64(clock() * 1000) }

    static let routes: APIRegistry = {
        var r = APIRegistry()
        // Pools and clients (API+Pools, API+Clients).
        r.on(CreateUserPoolOperation.self) { $0.createUserPool }
        r.on(DescribeUserPoolOperation.self) { $0.describeUserPool }
        r.on(UpdateUserPoolOperation.self) { $0.updateUserPool }
        r.on(DeleteUserPoolOperation.self) { $0.deleteUserPool }
        r.on(ListUserPoolsOperation.self) { $0.listUserPools }
        r.on(AddCustomAttributesOperation.self) { $0.addCustomAttributes }
        r.on(GetCSVHeaderOperation.self) { $0.getCSVHeader }
        // Tags, the signing certificate and log delivery (API+Resources).
        r.on(TagResourceOperation.self) { $0.tagResource }
        r.on(UntagResourceOperation.self) { $0.untagResource }
        r.on(ListTagsForResourceOperation.self) { $0.listTagsForResource }
        r.on(GetSigningCertificateOperation.self) { $0.getSigningCertificate }
        r.on(SetLogDeliveryConfigurationOperation.self) { $0.setLogDeliveryConfiguration }
        r.on(GetLogDeliveryConfigurationOperation.self) { $0.getLogDeliveryConfiguration }
        // CSV user import jobs (API+ImportJobs).
        r.on(CreateUserImportJobOperation.self) { $0.createUserImportJob }
        r.on(DescribeUserImportJobOperation.self) { $0.describeUserImportJob }
        r.on(ListUserImportJobsOperation.self) { $0.listUserImportJobs }
        r.on(StartUserImportJobOperation.self) { $0.startUserImportJob }
        r.on(StopUserImportJobOperation.self) { $0.stopUserImportJob }
        r.on(CreateUserPoolClientOperation.self) { $0.createUserPoolClient }
        r.on(DescribeUserPoolClientOperation.self) { $0.describeUserPoolClient }
        r.on(UpdateUserPoolClientOperation.self) { $0.updateUserPoolClient }
        r.on(DeleteUserPoolClientOperation.self) { $0.deleteUserPoolClient }
        r.on(ListUserPoolClientsOperation.self) { $0.listUserPoolClients }
        // Users (API+Users, API+ListUsers).
        r.on(SignUpOperation.self) { $0.signUp }
        r.on(AdminCreateUserOperation.self) { $0.adminCreateUser }
        r.on(AdminGetUserOperation.self) { $0.adminGetUser }
        r.on(AdminConfirmSignUpOperation.self) { $0.adminConfirmSignUp }
        r.on(AdminDeleteUserOperation.self) { $0.adminDeleteUser }
        r.on(AdminSetUserPasswordOperation.self) { $0.adminSetUserPassword }
        r.on(AdminEnableUserOperation.self) { $0.adminEnableUser }
        r.on(AdminDisableUserOperation.self) { $0.adminDisableUser }
        r.on(AdminUpdateUserAttributesOperation.self) { $0.adminUpdateUserAttributes }
        r.on(AdminDeleteUserAttributesOperation.self) { $0.adminDeleteUserAttributes }
        r.on(AdminResetUserPasswordOperation.self) { $0.adminResetUserPassword }
        r.on(AdminUserGlobalSignOutOperation.self) { $0.adminUserGlobalSignOut }
        r.on(ListUsersOperation.self) { $0.listUsers }
        // Codes and messages (API+Codes).
        r.on(ConfirmSignUpOperation.self) { $0.confirmSignUp }
        r.on(ResendConfirmationCodeOperation.self) { $0.resendConfirmationCode }
        r.on(ForgotPasswordOperation.self) { $0.forgotPassword }
        r.on(ConfirmForgotPasswordOperation.self) { $0.confirmForgotPassword }
        r.on(GetUserAttributeVerificationCodeOperation.self) { $0.getUserAttributeVerificationCode }
        r.on(VerifyUserAttributeOperation.self) { $0.verifyUserAttribute }
        // Groups (API+Groups).
        r.on(CreateGroupOperation.self) { $0.createGroup }
        r.on(GetGroupOperation.self) { $0.getGroup }
        r.on(UpdateGroupOperation.self) { $0.updateGroup }
        r.on(ListGroupsOperation.self) { $0.listGroups }
        r.on(DeleteGroupOperation.self) { $0.deleteGroup }
        r.on(AdminAddUserToGroupOperation.self) { $0.adminAddUserToGroup }
        r.on(AdminRemoveUserFromGroupOperation.self) { $0.adminRemoveUserFromGroup }
        r.on(AdminListGroupsForUserOperation.self) { $0.adminListGroupsForUser }
        r.on(ListUsersInGroupOperation.self) { $0.listUsersInGroup }
        // Sign-in and tokens (API+SignIn, API+Tokens).
        r.on(InitiateAuthOperation.self) { $0.initiateAuth }
        r.on(AdminInitiateAuthOperation.self) { $0.adminInitiateAuth }
        r.on(RespondToAuthChallengeOperation.self) { $0.respondToAuthChallenge }
        r.on(AdminRespondToAuthChallengeOperation.self) { $0.adminRespondToAuthChallenge }
        r.on(GetTokensFromRefreshTokenOperation.self) { $0.getTokensFromRefreshToken }
        r.on(RevokeTokenOperation.self) { $0.revokeToken }
        // A signed-in user's own operations (API+Self).
        r.on(GetUserOperation.self) { $0.getUser }
        r.on(UpdateUserAttributesOperation.self) { $0.updateUserAttributes }
        r.on(DeleteUserAttributesOperation.self) { $0.deleteUserAttributes }
        r.on(DeleteUserOperation.self) { $0.deleteUser }
        r.on(ChangePasswordOperation.self) { $0.changePassword }
        r.on(GlobalSignOutOperation.self) { $0.globalSignOut }
        // Multi-factor authentication (API+Mfa).
        r.on(SetUserPoolMfaConfigOperation.self) { $0.setUserPoolMfaConfig }
        r.on(GetUserPoolMfaConfigOperation.self) { $0.getUserPoolMfaConfig }
        r.on(AssociateSoftwareTokenOperation.self) { $0.associateSoftwareToken }
        r.on(VerifySoftwareTokenOperation.self) { $0.verifySoftwareToken }
        r.on(SetUserMFAPreferenceOperation.self) { $0.setUserMFAPreference }
        r.on(AdminSetUserMFAPreferenceOperation.self) { $0.adminSetUserMFAPreference }
        r.on(AdminDeleteSoftwareTokenOperation.self) { $0.adminDeleteSoftwareToken }
        r.on(SetUserSettingsOperation.self) { $0.setUserSettings }
        r.on(AdminSetUserSettingsOperation.self) { $0.adminSetUserSettings }
        r.on(GetUserAuthFactorsOperation.self) { $0.getUserAuthFactors }
        r.on(AdminGetUserAuthFactorsOperation.self) { $0.adminGetUserAuthFactors }
        r.on(StartWebAuthnRegistrationOperation.self) { $0.startWebAuthnRegistration }
        r.on(CreateResourceServerOperation.self) { $0.createResourceServer }
        r.on(GetClientTokenOperation.self) { $0.getClientToken }
        r.on(AddUserPoolClientSecretOperation.self) { $0.addUserPoolClientSecret }
        r.on(DeleteUserPoolClientSecretOperation.self) { $0.deleteUserPoolClientSecret }
        r.on(ListUserPoolClientSecretsOperation.self) { $0.listUserPoolClientSecrets }
        r.on(DescribeResourceServerOperation.self) { $0.describeResourceServer }
        r.on(UpdateResourceServerOperation.self) { $0.updateResourceServer }
        r.on(DeleteResourceServerOperation.self) { $0.deleteResourceServer }
        r.on(ListResourceServersOperation.self) { $0.listResourceServers }
        // The model gives Domain the prefix pattern; Cognito takes custom domains there too.
        let customDomain: @Sendable (ValidationFailure) -> Bool = {
            $0.path == "domain" && $0.constraint.hasPrefix("Member must satisfy regular expression pattern")
                && ($0.value ?? "").contains(".")
        }
        r.on(CreateUserPoolDomainOperation.self, exempt: customDomain) { $0.createUserPoolDomain }
        r.on(DescribeUserPoolDomainOperation.self, exempt: customDomain) { $0.describeUserPoolDomain }
        r.on(UpdateUserPoolDomainOperation.self, exempt: customDomain) { $0.updateUserPoolDomain }
        r.on(DeleteUserPoolDomainOperation.self, exempt: customDomain) { $0.deleteUserPoolDomain }
        r.on(CompleteWebAuthnRegistrationOperation.self) { $0.completeWebAuthnRegistration }
        r.on(ListWebAuthnCredentialsOperation.self) { $0.listWebAuthnCredentials }
        r.on(DeleteWebAuthnCredentialOperation.self) { $0.deleteWebAuthnCredential }
        // The managed login's look and legal links (API+ManagedLogin).
        r.on(SetUICustomizationOperation.self) { $0.setUICustomization }
        r.on(GetUICustomizationOperation.self) { $0.getUICustomization }
        r.on(CreateTermsOperation.self) { $0.createTerms }
        r.on(DescribeTermsOperation.self) { $0.describeTerms }
        r.on(UpdateTermsOperation.self) { $0.updateTerms }
        r.on(DeleteTermsOperation.self) { $0.deleteTerms }
        r.on(ListTermsOperation.self) { $0.listTerms }
        r.on(CreateManagedLoginBrandingOperation.self) { $0.createManagedLoginBranding }
        r.on(DescribeManagedLoginBrandingOperation.self) { $0.describeManagedLoginBranding }
        r.on(DescribeManagedLoginBrandingByClientOperation.self) { $0.describeManagedLoginBrandingByClient }
        r.on(UpdateManagedLoginBrandingOperation.self) { $0.updateManagedLoginBranding }
        r.on(DeleteManagedLoginBrandingOperation.self) { $0.deleteManagedLoginBranding }
        return r
    }()

    // MARK: Ids, drawn from the system generator

    static func randomString(_ alphabet: String, _ count: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        let chars = Array(alphabet)
        return String((0..<count).map { _ in chars[Int(rng.next() % UInt64(chars.count))] })
    }

    func newPoolId() -> String {
        "\(region)_" + Self.randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 9)
    }

    static func newClientId() -> String { randomString("abcdefghijklmnopqrstuvwxyz0123456789", 26) }
    static func newClientSecret() -> String { randomString("abcdefghijklmnopqrstuvwxyz0123456789", 51) }

    static func newSub() -> String {
        var rng = SystemRandomNumberGenerator()
        return randomUUIDString(using: &rng)
    }

    static func temporaryPassword(policy: PasswordPolicy) -> String {
        let body = randomString(
            "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", max(8, policy.minimumLength))
        return body + "aA1!"
    }
}
