/// A refusal in the domain, named after the Cognito exception a client expects.
public struct PoolError: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Codable, Hashable, Sendable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

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
        /// A concurrent change won; the front retries the read-modify-write.
        public static let conflict = Code(rawValue: "ConcurrentModificationException")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
