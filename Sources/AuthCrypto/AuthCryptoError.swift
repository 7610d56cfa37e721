/// A refusal or failure in the crypto layer. Input-driven problems (bad hex, A ≡ 0) are
/// errors, never crashes, because they come straight from the network.
public struct AuthCryptoError: Error, CustomStringConvertible, Sendable, Equatable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        /// A value was not hex, or was empty.
        public static let malformedHex = Code(name: "malformedHex")
        /// A value was larger than the group allows.
        public static let valueTooLarge = Code(name: "valueTooLarge")
        /// The client's A is 0 mod N, which would let it skip knowing the password.
        public static let illegalA = Code(name: "illegalA")
        /// u = H(A, B) came out 0.
        public static let zeroU = Code(name: "zeroU")
        /// A TIMESTAMP not in Cognito's `EEE MMM d HH:mm:ss UTC yyyy` form.
        public static let malformedTimestamp = Code(name: "malformedTimestamp")
        /// A sealed box that is truncated or of an unknown version.
        public static let malformedBox = Code(name: "malformedBox")
        /// A sealed box whose key id is not in the key ring.
        public static let unknownKey = Code(name: "unknownKey")
        /// A sealed box past its expiry.
        public static let expired = Code(name: "expired")
        /// A sealed box that fails authentication (tampered, or another key).
        public static let authenticationFailed = Code(name: "authenticationFailed")
        /// A master key file that is empty or not `id:hex` lines of 32-byte keys.
        public static let malformedKeys = Code(name: "malformedKeys")
        /// libcrypto itself failed (out of memory, an internal error).
        public static let libcrypto = Code(name: "libcrypto")
        public var description: String { name }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "AuthCryptoError(\(code)): \(message)" }
}
