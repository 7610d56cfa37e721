import CognitoModel

/// A refusal in the domain or the front, named after the Cognito exception a client gets
/// (`Code.rawValue` is the wire's `__type`); matched by code, never by its words. The one
/// mapping to the wire is `Front`'s `WireError`.
public struct PoolError: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Codable, Hashable, Sendable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(_ exception: CognitoException) { rawValue = exception.rawValue }

        public static let invalidParameter = Code(rawValue: "InvalidParameterException")
        public static let invalidPassword = Code(rawValue: "InvalidPasswordException")
        public static let usernameExists = Code(rawValue: "UsernameExistsException")
        public static let userNotFound = Code(rawValue: "UserNotFoundException")
        public static let resourceNotFound = Code(rawValue: "ResourceNotFoundException")
        public static let aliasExists = Code(rawValue: "AliasExistsException")
        public static let groupExists = Code(rawValue: "GroupExistsException")
        public static let notAuthorized = Code(rawValue: "NotAuthorizedException")
        public static let limitExceeded = Code(rawValue: "LimitExceededException")
        public static let unsupportedUserState = Code(rawValue: "UnsupportedUserStateException")
        public static let userNotConfirmed = Code(rawValue: "UserNotConfirmedException")
        public static let passwordResetRequired = Code(rawValue: "PasswordResetRequiredException")
        public static let internalError = Code(rawValue: "InternalErrorException")
        public static let codeMismatch = Code(rawValue: "CodeMismatchException")
        public static let expiredCode = Code(rawValue: "ExpiredCodeException")
        public static let unsupportedTokenType = Code(rawValue: "UnsupportedTokenTypeException")
        public static let unauthorized = Code(rawValue: "UnauthorizedException")
        public static let unsupportedOperation = Code(rawValue: "UnsupportedOperationException")
        public static let tooManyRequests = Code(rawValue: "TooManyRequestsException")
        public static let preconditionNotMet = Code(rawValue: "PreconditionNotMetException")
        public static let passwordHistoryPolicyViolation = Code(rawValue: "PasswordHistoryPolicyViolationException")
        public static let featureUnavailableInTier = Code(rawValue: "FeatureUnavailableInTierException")
        public static let enableSoftwareTokenMFA = Code(rawValue: "EnableSoftwareTokenMFAException")
        public static let softwareTokenMFANotFound = Code(rawValue: "SoftwareTokenMFANotFoundException")
        public static let refreshTokenReuse = Code(rawValue: "RefreshTokenReuseException")
        public static let managedLoginBrandingExists = Code(rawValue: "ManagedLoginBrandingExistsException")
        public static let termsExists = Code(rawValue: "TermsExistsException")
        /// A body that is not the operation's JSON shape.
        public static let serialization = Code(rawValue: "SerializationException")
        /// A concurrent change won; the front retries the read-modify-write.
        public static let conflict = Code(rawValue: "ConcurrentModificationException")
        /// A shard could not answer in time (no leader, partitioned): a 5xx.
        public static let unavailable = Code(rawValue: "ServiceUnavailable")
        /// The record is being copied to its new shard by a reshard; the front retries.
        public static let moving = Code(rawValue: "ShardMoving")
    }

    public var code: Code
    /// Cognito's words for a sign-in refused because the user is locked out.
    public static let lockedOutMessage = "Password attempts exceeded"
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// The refusal for a feature not built yet, naming it.
    public static func notSupported(_ what: String) -> PoolError {
        PoolError(.unsupportedOperation, "\(what) is not supported by Cognate yet")
    }
}
