import Crypto

/// SECRET_HASH for app clients with a secret: base64(HMAC-SHA256(clientSecret, username ‖ clientId)).
public enum SecretHash {
    public static func compute(clientSecret: String, username: String, clientId: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array((username + clientId).utf8), using: SymmetricKey(data: Array(clientSecret.utf8)))
        return Base64.encode(Array(mac))
    }

    /// Whether `given` is the right SECRET_HASH, compared in constant time.
    public static func verify(_ given: String, clientSecret: String, username: String, clientId: String) -> Bool {
        let expected = compute(clientSecret: clientSecret, username: username, clientId: clientId)
        return constantTimeEqual(Array(given.utf8), Array(expected.utf8))
    }
}
