import CognitoModel
import Foundation
import UserPool

/// The domain's records as the API's shapes.
extension Pool {
    func arn(region: String) -> String { "arn:aws:cognito-idp:\(region):000000000000:userpool/\(id)" }

    func userPoolType(region: String, estimatedUsers: Int) -> UserPoolType {
        var out = UserPoolType()
        out.id = id
        out.name = name
        out.arn = arn(region: region)
        out.creationDate = date(createdAt)
        out.lastModifiedDate = date(modifiedAt)
        out.policies = UserPoolPolicyType(
            passwordPolicy: PasswordPolicyType(
                minimumLength: policy.minimumLength, requireUppercase: policy.requireUppercase,
                requireLowercase: policy.requireLowercase, requireNumbers: policy.requireNumbers,
                requireSymbols: policy.requireSymbols, passwordHistorySize: policy.historySize,
                temporaryPasswordValidityDays: policy.temporaryPasswordValidityDays),
            signInPolicy: SignInPolicyType(allowedFirstAuthFactors: FirstFactorRules.allowed(self)))
        out.schemaAttributes = schema.map(\.schemaAttributeType)
        out.autoVerifiedAttributes = autoVerifiedAttributes
        if !usernameAttributes.isEmpty { out.usernameAttributes = usernameAttributes }
        if !aliasAttributes.isEmpty { out.aliasAttributes = aliasAttributes }
        out.mfaConfiguration = mfaConfiguration
        out.domain = settings.domains?.first { !$0.isCustom }?.domain
        out.customDomain = settings.domains?.first { $0.isCustom }?.domain
        out.estimatedNumberOfUsers = estimatedUsers
        out.usernameConfiguration = UsernameConfigurationType(caseSensitive: caseSensitive)
        var adminCreate = settings.adminCreateUserConfig ?? AdminCreateUserConfigType()
        adminCreate.allowAdminCreateUserOnly = allowAdminCreateUserOnly
        out.adminCreateUserConfig = adminCreate
        out.userPoolTags = tags
        out.deletionProtection = deletionProtection
        out.lambdaConfig = settings.lambdaConfig ?? LambdaConfigType()
        out.verificationMessageTemplate = settings.verificationMessageTemplate
        out.emailVerificationMessage =
            settings.emailVerificationMessage ?? settings.verificationMessageTemplate?.emailMessage
        out.emailVerificationSubject =
            settings.emailVerificationSubject ?? settings.verificationMessageTemplate?.emailSubject
        out.smsVerificationMessage = settings.smsVerificationMessage ?? settings.verificationMessageTemplate?.smsMessage
        out.smsAuthenticationMessage = settings.smsAuthenticationMessage
        out.accountRecoverySetting = settings.accountRecoverySetting
        out.emailConfiguration = settings.emailConfiguration
        out.smsConfiguration = settings.smsConfiguration
        out.userAttributeUpdateSettings = settings.userAttributeUpdateSettings
        out.deviceConfiguration = settings.deviceConfiguration
        out.userPoolAddOns = settings.userPoolAddOns
        out.userPoolTier = settings.userPoolTier
        return out
    }

    var descriptionType: UserPoolDescriptionType {
        UserPoolDescriptionType(
            id: id, name: name, lambdaConfig: settings.lambdaConfig ?? LambdaConfigType(),
            lastModifiedDate: date(modifiedAt), creationDate: date(createdAt))
    }
}

extension SchemaAttribute {
    var schemaAttributeType: SchemaAttributeType {
        var out = SchemaAttributeType(
            name: name, attributeDataType: type, developerOnlyAttribute: developerOnly, mutable: mutable,
            required: required)
        if type == .string {
            out.stringAttributeConstraints = StringAttributeConstraintsType(
                minLength: minLength.map(String.init), maxLength: maxLength.map(String.init))
        }
        if type == .number && (minValue != nil || maxValue != nil) {
            out.numberAttributeConstraints = NumberAttributeConstraintsType(
                minValue: minValue.map(String.init), maxValue: maxValue.map(String.init))
        }
        return out
    }
}

extension AppClient {
    var userPoolClientType: UserPoolClientType {
        var out = UserPoolClientType()
        out.userPoolId = poolId
        out.clientName = name
        out.clientId = id
        out.clientSecret = secret
        out.creationDate = date(createdAt)
        out.lastModifiedDate = date(modifiedAt)
        out.explicitAuthFlows = explicitAuthFlows
        out.preventUserExistenceErrors = preventUserExistenceErrors
        out.refreshTokenValidity = refreshTokenValidity
        out.accessTokenValidity = accessTokenValidity
        out.idTokenValidity = idTokenValidity
        out.tokenValidityUnits = tokenValidityUnits
        out.readAttributes = readAttributes
        out.writeAttributes = writeAttributes
        out.supportedIdentityProviders = oauth.supportedIdentityProviders
        out.callbackURLs = oauth.callbackURLs
        out.logoutURLs = oauth.logoutURLs
        out.defaultRedirectURI = oauth.defaultRedirectURI
        out.allowedOAuthFlows = oauth.allowedOAuthFlows
        out.allowedOAuthScopes = oauth.allowedOAuthScopes
        out.allowedOAuthFlowsUserPoolClient = oauth.allowedOAuthFlowsUserPoolClient ?? false
        out.enableTokenRevocation = oauth.enableTokenRevocation ?? true
        out.enablePropagateAdditionalUserContextData = oauth.enablePropagateAdditionalUserContextData ?? false
        out.authSessionValidity = oauth.authSessionValidity ?? 3
        out.refreshTokenRotation = oauth.refreshTokenRotation
        out.analyticsConfiguration = oauth.analyticsConfiguration
        return out
    }

    var descriptionType: UserPoolClientDescription {
        UserPoolClientDescription(clientId: id, userPoolId: poolId, clientName: name)
    }
}

extension User {
    /// As ListUsers and AdminCreateUser show a user (`attributes`: what to list).
    func userType(attributes: [String: String]? = nil) -> UserType {
        UserType(
            username: username, attributes: AttributeList.make(attributes ?? allAttributes),
            userCreateDate: date(createdAt), userLastModifiedDate: date(modifiedAt), enabled: enabled,
            userStatus: status)
    }
}

extension Group {
    var groupType: GroupType {
        GroupType(
            groupName: name, userPoolId: poolId, description: description, roleArn: roleArn, precedence: precedence,
            lastModifiedDate: date(modifiedAt), creationDate: date(createdAt))
    }
}

/// Cognito's `[{"Name": …, "Value": …}]` attribute lists.
enum AttributeList {
    static func make(_ map: [String: String]) -> [AttributeType] {
        map.sorted { $0.key < $1.key }.map { AttributeType(name: $0.key, value: $0.value) }
    }

    /// A list as a map (later names win).
    static func map(_ list: [AttributeType]?) -> [String: String] {
        var out: [String: String] = [:]
        for a in list ?? [] { out[a.name] = a.value ?? "" }
        return out
    }
}

func date(_ seconds: Int64) -> Date { Date(timeIntervalSince1970: Double(seconds)) }
