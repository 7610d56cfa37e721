import UserPool

/// An error as Cognito puts it on the wire: `{"__type": name, "message": …}` with the
/// `x-amzn-ErrorType` header and Cognito's status code. Every failure the front returns
/// goes through here.
public struct CognitoError: Error, Sendable, CustomStringConvertible {
    public var type: String
    public var message: String
    public var status: Int

    public init(_ type: String, _ message: String, status: Int = 400) {
        self.type = type
        self.message = message
        self.status = status
    }

    public var description: String { "\(type): \(message)" }

    public static func invalidParameter(_ m: String) -> CognitoError { CognitoError("InvalidParameterException", m) }
    public static func resourceNotFound(_ m: String) -> CognitoError { CognitoError("ResourceNotFoundException", m) }
    public static func userNotFound() -> CognitoError { CognitoError("UserNotFoundException", "User does not exist.") }
    public static func serialization(_ m: String) -> CognitoError { CognitoError("SerializationException", m) }
    public static func notSupported(_ what: String) -> CognitoError {
        CognitoError("UnsupportedOperationException", "\(what) is not supported by Cognate yet")
    }
    public static func internalError(_ m: String) -> CognitoError { CognitoError("InternalErrorException", m, status: 500) }
    public static func unavailable(_ m: String) -> CognitoError { CognitoError("InternalErrorException", m, status: 503) }

    /// The one mapping from domain errors to wire errors.
    public init(_ error: PoolError) {
        switch error.code {
        case .internalError: self.init(error.code.rawValue, error.message, status: 500)
        case .conflict: self.init("InternalErrorException", "a concurrent change to the same user won; retry", status: 500)
        default: self.init(error.code.rawValue, error.message)
        }
    }
}
