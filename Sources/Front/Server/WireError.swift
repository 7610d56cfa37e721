import CognitoModel
import UserPool

/// An error as Cognito puts it on the wire: `{"__type": name, "message": …}`, the
/// `x-amzn-ErrorType` header and Cognito's status code. The one mapping from `PoolError`.
struct WireError: Error, Sendable, Encodable {
    var type: String
    var message: String
    var status: Int

    enum CodingKeys: String, CodingKey {
        case type = "__type"
        case message
    }

    init(_ type: String, _ message: String, status: Int = 400) {
        self.type = type
        self.message = message
        self.status = status
    }

    init(_ error: PoolError) {
        switch error.code {
        case .internalError: self.init(error.code.rawValue, error.message, status: 500)
        case .conflict:
            self.init("InternalErrorException", "a concurrent change to the same user won; retry", status: 500)
        // No leader in time, a partition: Cognito's 5xx for a service that cannot answer now.
        case .unavailable, .moving: self.init("InternalErrorException", error.message, status: 503)
        default: self.init(error.code.rawValue, error.message)
        }
    }

    /// A signature refusal: 403, with the code SigV4 named.
    init(_ failure: SigV4Verifier.Failure) {
        self.init(failure.code, failure.message, status: 403)
    }

    static func unknownOperation(_ target: String) -> WireError {
        WireError("UnknownOperationException", "Unknown operation \(target)")
    }

    static func unsupported(_ operation: CognitoOperation) -> WireError {
        WireError(PoolError.notSupported("The operation \(operation.rawValue)"))
    }
}
